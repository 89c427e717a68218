/**
 * Number formatting and parsing exactly as Redis does it.
 */

/** C's printf("%.17g", d), as Redis uses for double replies (inf, -inf, 17 significant digits, no trailing zeros). */
export function formatDouble(d: number): string {
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (Number.isNaN(d)) return 'nan';
  return formatG(d, 17);
}

/** printf("%.<p>g") */
export function formatG(d: number, p: number): string {
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(d)));
  // toExponential gives the exact exponent after rounding to p digits.
  const e = d.toExponential(p - 1);
  const ePos = e.indexOf('e');
  const x = Number(e.slice(ePos + 1));
  void exp;
  if (x < -4 || x >= p) {
    let mant = e.slice(0, ePos);
    if (mant.includes('.')) mant = mant.replace(/0+$/, '').replace(/\.$/, '');
    const sign = x < 0 ? '-' : '+';
    const ax = Math.abs(x);
    return mant + 'e' + sign + (ax < 10 ? '0' + ax : String(ax));
  }
  let s = d.toFixed(Math.max(0, p - 1 - x));
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/**
 * Redis' string2ll(): a strict signed 64-bit decimal integer (no spaces, no '+', no leading zeros
 * except "0"). Returns a bigint, or null when the text is not one.
 */
export function parseI64(b: Buffer | string): bigint | null {
  const s = typeof b === 'string' ? b : b.toString('latin1');
  if (s.length === 0 || s.length > 20) return null;
  if (!/^-?(0|[1-9][0-9]*)$/.test(s) || s === '-0') return null;
  const v = BigInt(s);
  if (v > 9223372036854775807n || v < -9223372036854775808n) return null;
  return v;
}

/**
 * Fast path of parseI64 for the common case: the canonical decimal text of an integer of at most
 * 15 digits (always exact as a JS number), read from the bytes without a string, a regex or a
 * BigInt. undefined for anything else (longer, "-0", leading zeros, not a number): the caller
 * then decides with parseI64.
 */
export function smallInt(b: Buffer): number | undefined {
  const n = b.length;
  let i = 0;
  let neg = false;
  if (n > 0 && b[0] === 45) {
    neg = true;
    i = 1;
  }
  const digits = n - i;
  if (digits === 0 || digits > 15) return undefined;
  if (b[i] === 48) return digits === 1 && !neg ? 0 : undefined;
  let v = 0;
  for (; i < n; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

/** Like parseI64 but as a JS number when it is safe, for counts and indexes. */
export function parseInteger(b: Buffer | string): number | null {
  if (typeof b !== 'string') {
    const small = smallInt(b);
    if (small !== undefined) return small;
  }
  const v = parseI64(b);
  if (v === null) return null;
  // Values outside the safe range are clamped; callers use them as counts/indexes only.
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (v < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(v);
}

/**
 * Redis' string2ld()/strtold for float arguments: accepts decimal and exponent forms and
 * "inf"/"-inf"/"+inf"; rejects empty, spaces, hex, and NaN.
 */
export function parseFloatArg(b: Buffer | string): number | null {
  const s = typeof b === 'string' ? b : b.toString('latin1');
  if (s.length === 0 || s.length > 5120) return null;
  if (/^\s|\s$/.test(s)) return null;
  const low = s.toLowerCase();
  if (low === 'inf' || low === '+inf' || low === 'infinity' || low === '+infinity') return Infinity;
  if (low === '-inf' || low === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return null;
  const v = Number(s);
  if (Number.isNaN(v)) return null;
  return v;
}

/**
 * C's atoi as glibc has it, (int) strtol(s, NULL, 10): leading white space, an optional sign,
 * digits up to the first other byte (none: 0); out of long's range it clamps to LONG_MIN/LONG_MAX,
 * and the int cast keeps the low 32 bits. Redis' key-position functions read numkeys with it
 * (COMMAND GETKEYS ZUNIONSTORE d " 1" k gives [k, d]; the command itself then rejects " 1").
 */
export function cAtoi(b: Buffer): number {
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || (b[i]! >= 0x09 && b[i]! <= 0x0d))) i++;
  let neg = false;
  if (i < b.length && (b[i] === 0x2b || b[i] === 0x2d)) neg = b[i++] === 0x2d;
  let n = 0n;
  const LONG_MAX = (1n << 63n) - 1n;
  for (; i < b.length && b[i]! >= 0x30 && b[i]! <= 0x39; i++) {
    n = n * 10n + BigInt(b[i]! - 0x30);
    if (n > LONG_MAX + 1n) break; // clamped below either way
  }
  let v = neg ? -n : n;
  if (v > LONG_MAX) v = LONG_MAX;
  if (v < -LONG_MAX - 1n) v = -LONG_MAX - 1n;
  return Number(BigInt.asIntN(32, v));
}

/**
 * What TTL (seconds) / PTTL (`ms`) and EXPIRETIME / PEXPIRETIME (`absolute`) answer for a live key
 * whose expiry is `expire` (Unix ms; 0: none): -1 without one, a time already past as 0, seconds
 * rounded as Redis' ttlGenericCommand does. The shard's handler and the front thread's read share it.
 */
export function ttlFigure(expire: number, now: number, ms: boolean, absolute: boolean): number {
  if (expire === 0) return -1;
  const ttl = Math.max(0, absolute ? expire : expire - now);
  return ms ? ttl : Math.floor((ttl + 500) / 1000);
}
