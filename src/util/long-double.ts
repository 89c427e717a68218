/**
 * Exact emulation of the x86-64 `long double` (x87 80-bit extended precision) that Redis uses for
 * INCRBYFLOAT: strtold() parsing, one addition, and printf("%.17Lf"). A JS double would print
 * 10.5 + 0.1 as 10.59999999999999964; the 64-bit significand makes it 10.6, as Redis replies.
 *
 * A finite value is sign * mant * 2^exp with mant < 2^64 (normalised to >= 2^63 unless subnormal).
 * All arithmetic is on BigInt and exact until the one rounding to 64 bits (round half to even),
 * which is what the FPU does in its default rounding mode.
 */

export interface LongDouble {
  neg: boolean;
  /** 0n for zero; for Infinity see `inf`. */
  mant: bigint;
  exp: number;
  inf?: boolean;
}

const MANT_BITS = 64;
/** Exponent of the least significant bit of the smallest subnormal: 2^-16445. */
const MIN_LSB_EXP = -16445;
/** Largest exponent of a 64-bit significand before the value is >= 2^16384 (overflow). */
const MAX_LSB_EXP = 16384 - MANT_BITS;
/** Decimal bounds used to refuse absurd exponents before building huge BigInts. */
const MAX_DEC_EXP = 4933;
const MIN_DEC_EXP = -4952;
/** Redis' MAX_LONG_DOUBLE_CHARS: longer inputs are not numbers. */
const MAX_CHARS = 5 * 1024;

export const LD_ZERO: LongDouble = { neg: false, mant: 0n, exp: 0 };

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * Rounds the exact positive value num/den * 2^exp2 to a long double (half to even).
 * Returns null on overflow (strtold would give HUGE_VAL with ERANGE).
 */
function roundRational(neg: boolean, num: bigint, den: bigint, exp2: number): LongDouble | null {
  if (num === 0n) return { neg, mant: 0n, exp: 0 };
  // Pick e so that num/den * 2^(exp2 - e) lies in [2^63, 2^64).
  let e = exp2 + bitLength(num) - bitLength(den) - MANT_BITS;
  const quotient = (shift: number): [bigint, bigint, bigint] => {
    // value / 2^shift relative to num/den * 2^exp2: returns [q, remainder, divisor].
    const s = exp2 - shift;
    const n = s >= 0 ? num << BigInt(s) : num;
    const d = s >= 0 ? den : den << BigInt(-s);
    return [n / d, n % d, d];
  };
  let [q, r, d] = quotient(e);
  if (q >= 1n << 64n) [q, r, d] = quotient(++e);
  else if (q < 1n << 63n) [q, r, d] = quotient(--e);
  if (e < MIN_LSB_EXP) {
    e = MIN_LSB_EXP;
    [q, r, d] = quotient(e);
  }
  const twice = r * 2n;
  if (twice > d || (twice === d && (q & 1n) === 1n)) q += 1n;
  if (q === 1n << 64n) {
    q >>= 1n;
    e++;
  }
  if (e > MAX_LSB_EXP) return null;
  return { neg, mant: q, exp: e };
}

/**
 * Redis' string2ld(): strtold() over the whole argument, refusing leading spaces, trailing
 * garbage, NaN, overflow and underflow to zero. Returns null when the text is not a valid float.
 */
export function parseLongDouble(b: Buffer): LongDouble | null {
  if (b.length === 0 || b.length >= MAX_CHARS) return null;
  // strtold must consume every byte: an embedded NUL ends its input early, so it is refused.
  if (b.includes(0)) return null;
  const s = b.toString('latin1');
  if (/^\s/.test(s)) return null;
  let m = /^([+-]?)(inf|infinity)$/i.exec(s);
  if (m) return { neg: m[1] === '-', mant: 0n, exp: 0, inf: true };
  const neg = s[0] === '-';
  const body = s[0] === '-' || s[0] === '+' ? s.slice(1) : s;
  m = /^0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?$/i.exec(body);
  if (m && (m[1]! + (m[2] ?? '')).length > 0) {
    const frac = m[2] ?? '';
    const mant = BigInt('0x' + m[1]! + frac);
    const exp = clampExp(m[3] ?? '0') - 4 * frac.length;
    if (mant === 0n) return { neg, mant: 0n, exp: 0 };
    if (exp + bitLength(mant) > 16384 + 1) return null;
    if (exp + bitLength(mant) < MIN_LSB_EXP - 1) return null;
    const r = roundRational(neg, mant, 1n, exp);
    return r === null || r.mant === 0n ? null : r;
  }
  m = /^(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(body);
  if (!m || (m[1]! + (m[2] ?? '')).length === 0) return null;
  const digits = (m[1]! + (m[2] ?? '')).replace(/^0+/, '');
  if (digits === '') return { neg, mant: 0n, exp: 0 };
  const exp10 = clampExp(m[3] ?? '0') - (m[2] ?? '').length;
  // The value is about 10^(exp10 + digits.length - 1).
  if (exp10 + digits.length - 1 > MAX_DEC_EXP) return null;
  if (exp10 + digits.length < MIN_DEC_EXP) return null;
  const n = BigInt(digits);
  const r = exp10 >= 0 ? roundRational(neg, n * 10n ** BigInt(exp10), 1n, 0) : roundRational(neg, n, 10n ** BigInt(-exp10), 0);
  return r === null || r.mant === 0n ? null : r;
}

/** An exponent's digits as a number, clamped far outside the range where it still matters. */
function clampExp(text: string): number {
  const v = Number(text);
  return Math.max(-1e6, Math.min(1e6, v));
}

/** a + b rounded once; null when the result is NaN or infinite. */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | null {
  if (a.inf || b.inf) return null;
  if (a.mant === 0n) return b.mant === 0n ? { neg: a.neg && b.neg, mant: 0n, exp: 0 } : b;
  if (b.mant === 0n) return a;
  const base = Math.min(a.exp, b.exp);
  const av = a.mant << BigInt(a.exp - base);
  const bv = b.mant << BigInt(b.exp - base);
  const sum = (a.neg ? -av : av) + (b.neg ? -bv : bv);
  if (sum === 0n) return LD_ZERO;
  return roundRational(sum < 0n, sum < 0n ? -sum : sum, 1n, base);
}

/**
 * Redis' ld2string(..., LD_STR_HUMAN): printf("%.17Lf"), trailing zeros (and the dot) removed,
 * and "-0" written as "0".
 */
export function formatLongDoubleHuman(v: LongDouble): string {
  if (v.inf) return v.neg ? '-inf' : 'inf';
  let text: string;
  if (v.exp >= 0) {
    text = (v.mant << BigInt(v.exp)).toString();
  } else {
    // Exact value times 10^17, rounded half to even as glibc's printf does.
    const k = BigInt(-v.exp);
    const scaled = v.mant * 10n ** 17n;
    let q = scaled >> k;
    const rem = scaled - (q << k);
    const half = 1n << (k - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
    const digits = q.toString().padStart(18, '0');
    const int = digits.slice(0, -17);
    const frac = digits.slice(-17).replace(/0+$/, '');
    text = frac === '' ? int : int + '.' + frac;
  }
  if (text === '0') return '0';
  return v.neg ? '-' + text : text;
}
