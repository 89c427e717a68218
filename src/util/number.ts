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

/**
 * printf("%.<p>g"). One toExponential() gives the p significant digits, rounded, and the exponent;
 * the fixed form is assembled from them (toFixed() and regular expressions, as before, cost a
 * sorted set's WITHSCORES reply most of its time). Integers of at most p digits that doubles hold
 * exactly print as themselves. toExponential() rounds an exact tie up where C (and so Redis)
 * rounds it to even: see halfEven().
 */
export function formatG(d: number, p: number): string {
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  if (p >= 16 && Number.isSafeInteger(d)) return String(d);
  const e = d.toExponential(p - 1);
  const ePos = e.indexOf('e');
  let x = Number(e.slice(ePos + 1));
  const neg = e.charCodeAt(0) === 45;
  // The p digits, without sign and point.
  let digits = neg ? e.slice(1, ePos) : e.slice(0, ePos);
  if (p > 1) digits = digits[0]! + digits.slice(2);
  const even = halfEven(d, p);
  if (even !== null) [digits, x] = even;
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 48) end--;
  digits = digits.slice(0, end);
  const sign = neg ? '-' : '';
  if (x < -4 || x >= p) {
    const mant = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const ax = Math.abs(x);
    return sign + mant + 'e' + (x < 0 ? '-' : '+') + (ax < 10 ? '0' + ax : String(ax));
  }
  if (x < 0) return sign + '0.' + '0'.repeat(-x - 1) + digits;
  if (digits.length <= x + 1) return sign + digits + '0'.repeat(x + 1 - digits.length);
  return sign + digits.slice(0, x + 1) + '.' + digits.slice(x + 1);
}

/** log(10) / log(5): 5^k <= 10^n for k up to n times this. */
const FIVES_PER_DIGIT = Math.LN10 / Math.log(5);

/**
 * When |d| lies exactly halfway between two numbers of p significant digits, the p digits and
 * exponent of the one with an even last digit if toExponential() took the other (it rounds ties
 * up, C's printf to even); else null. A double is N / 2^k (N an odd integer), whose decimal
 * digits are those of N * 5^k: a tie needs exactly p + 1 of them, the last a 5, so 5^k <= 10^(p+1)
 * and k is small (an integer's are its own digits, which tie only with fewer than 17 digits
 * asked for: the integers printed as themselves never get here). E.g. 2^-25 = 2.98023223876953125e-08 prints 2.9802322387695312e-08 with
 * "%.17g", not ...313.
 */
function halfEven(d: number, p: number): [string, number] | null {
  let k = 0;
  let all: string; // |d| = all * 10^-k, exactly
  if (Number.isInteger(d)) {
    all = BigInt(Math.abs(d)).toString();
  } else {
    k = Math.floor((p + 1) * FIVES_PER_DIGIT);
    const scaled = Math.abs(d) * 2 ** k;
    if (!Number.isInteger(scaled)) return null;
    all = (BigInt(scaled) * 5n ** BigInt(k)).toString();
  }
  let end = all.length;
  while (all.charCodeAt(end - 1) === 48) end--;
  if (end !== p + 1 || all.charCodeAt(end - 1) !== 53) return null; // not a tie
  if (((all.charCodeAt(p - 1) - 48) & 1) === 1) return null; // odd: rounding up makes it even
  return [all.slice(0, p), all.length - 1 - k];
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
