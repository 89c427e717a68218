/**
 * Argument parsing and number formatting for the sorted set commands, as Redis 7.0 does them.
 *
 * Redis reads scores with C's strtod() in two ways, and the difference shows:
 *  - getDoubleFromObject (ZADD/ZINCRBY scores, WEIGHTS): the whole argument must be a number, no
 *    leading space, not NaN, and no overflow or underflow to zero ("1e400", "1e-400" are errors);
 *  - zslParseRange (score ranges): an optional "(", then strtod of the rest up to the first NUL,
 *    which skips leading spaces, takes "" as 0 and "1e400" as inf; only NaN or trailing text fail.
 * Both accept what strtod accepts: decimal, hex floats ("0x1p-2"), inf/infinity, any case.
 */
import { CommandError, E } from './errors.js';
import { formatDouble } from '../util/number.js';
import type { ReplyWriter } from '../server/resp/writer.js';
import type { LexBound, LexRange, ScoreRange } from '../storage/zset-store.js';

/** Exact Redis texts used only by this family. */
export const ZE = {
  RANGE_NOT_FLOAT: 'ERR min or max is not a float',
  RANGE_NOT_LEX: 'ERR min or max not valid string range item',
  WEIGHT_NOT_FLOAT: 'ERR weight value is not a float',
  NAN_SCORE: 'ERR resulting score is not a number (NaN)',
  XX_NX: 'ERR XX and NX options at the same time are not compatible',
  GT_LT_NX: 'ERR GT, LT, and/or NX options at the same time are not compatible',
  INCR_PAIRS: 'ERR INCR option supports a single increment-element pair',
  LIMIT_NEEDS_BY: 'ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX',
  WITHSCORES_BYLEX: 'ERR syntax error, WITHSCORES not supported in combination with BYLEX',
  LIMIT_NEGATIVE: "ERR LIMIT can't be negative",
  NUMKEYS: 'ERR numkeys should be greater than 0',
  COUNT: 'ERR count should be greater than 0',
  POSITIVE: 'ERR value is out of range, must be positive',
  NO_INPUT_KEY: (cmd: string) => `ERR at least 1 input key is needed for '${cmd}' command`,
} as const;

// ---------------------------------------------------------------- strtod

interface Strtod {
  value: number;
  /** Offset after the text converted (0 when nothing was). */
  end: number;
  /** errno == ERANGE with a result of +-HUGE_VAL or zero (what getDoubleFromObject refuses). */
  range: boolean;
}

const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const hexValue = (c: number): number => (isDigit(c) ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1);

function startsWithWord(s: string, at: number, word: string): boolean {
  return s.slice(at, at + word.length).toLowerCase() === word;
}

/** C's strtod() over a latin1 string (glibc behaviour; correctly rounded). */
export function strtod(s: string): Strtod {
  let i = 0;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  let sign = 1;
  if (s[i] === '+' || s[i] === '-') {
    if (s[i] === '-') sign = -1;
    i++;
  }
  if (startsWithWord(s, i, 'inf')) {
    const end = startsWithWord(s, i, 'infinity') ? i + 8 : i + 3;
    return { value: sign * Infinity, end, range: false };
  }
  if (startsWithWord(s, i, 'nan')) {
    let end = i + 3;
    const m = /^\([0-9A-Za-z_]*\)/.exec(s.slice(end));
    if (m) end += m[0].length;
    return { value: NaN, end, range: false };
  }
  if (s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X')) {
    const hex = parseHexFloat(s, i + 2, sign);
    if (hex !== null) return hex;
  }
  const m = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/.exec(s.slice(i));
  if (m === null) return { value: 0, end: 0, range: false };
  const v = sign * Number(m[0]);
  const overflow = !Number.isFinite(v);
  const underflow = v === 0 && /[1-9]/.test(m[0].replace(/[eE].*$/, ''));
  return { value: v, end: i + m[0].length, range: overflow || underflow };
}

/** The hex float after "0x" at `at` (null when no hex digit follows: strtod then reads just the "0"). */
function parseHexFloat(s: string, at: number, sign: number): Strtod | null {
  let i = at;
  let mant = 0n;
  let digits = 0;
  let fracDigits = 0;
  while (i < s.length && hexValue(s.charCodeAt(i)) >= 0) {
    mant = mant * 16n + BigInt(hexValue(s.charCodeAt(i++)));
    digits++;
  }
  if (s[i] === '.') {
    let j = i + 1;
    while (j < s.length && hexValue(s.charCodeAt(j)) >= 0) {
      mant = mant * 16n + BigInt(hexValue(s.charCodeAt(j++)));
      digits++;
      fracDigits++;
    }
    if (digits > 0) i = j;
  }
  if (digits === 0) return null;
  let exp = 0;
  const e = /^[pP]([+-]?[0-9]+)/.exec(s.slice(i));
  if (e) {
    exp = Math.max(-100000, Math.min(100000, Number(e[1])));
    i += e[0].length;
  }
  const v = sign * binaryToDouble(mant, exp - 4 * fracDigits);
  const range = !Number.isFinite(v) || (v === 0 && mant !== 0n);
  return { value: v, end: i, range };
}

/** mant * 2^exp2 rounded to the nearest double (ties to even), subnormals and overflow included. */
function binaryToDouble(mant: bigint, exp2: number): number {
  if (mant === 0n) return 0;
  const bits = mant.toString(2).length;
  const top = bits - 1 + exp2; // exponent of the leading bit
  if (top > 1023) return Infinity;
  const precision = top >= -1022 ? 53 : 53 - (-1022 - top);
  if (precision <= 0) {
    // Below half the smallest subnormal rounds to 0; above it, to the smallest subnormal.
    const half = precision === 0 && mant > 1n << BigInt(bits - 1) ? 1 : 0;
    return half * 2 ** -1074;
  }
  let shift = bits - precision;
  let m = mant;
  if (shift > 0) {
    const rest = m & ((1n << BigInt(shift)) - 1n);
    m >>= BigInt(shift);
    const halfway = 1n << BigInt(shift - 1);
    if (rest > halfway || (rest === halfway && (m & 1n) === 1n)) m += 1n;
  } else shift = 0;
  return ldexp(Number(m), exp2 + shift);
}

/** x * 2^k in exact steps (x has few enough bits that every step is exact). */
function ldexp(x: number, k: number): number {
  while (k > 1000) {
    x *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    x *= 2 ** -1000;
    k += 1000;
  }
  return x * 2 ** k;
}

// ---------------------------------------------------------------- scores and ranges

/** Redis' getDoubleFromObject(): a score or weight argument, or null. */
export function parseScore(b: Buffer): number | null {
  if (b.length === 0 || isSpace(b[0]!)) return null;
  const s = b.toString('latin1');
  const r = strtod(s);
  if (r.end !== s.length || r.range || Number.isNaN(r.value)) return null;
  return r.value;
}

export function scoreArg(b: Buffer, err: string = E.NOT_FLOAT): number {
  const v = parseScore(b);
  if (v === null) throw new CommandError(err);
  return v;
}

/** The argument as a C string: up to its first NUL byte. */
function cString(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

/** One end of a score range ("(1.5" exclusive, "-inf", ...), or null when it is not a float. */
function parseRangeScore(arg: Buffer): { value: number; ex: boolean } | null {
  let b = cString(arg);
  const ex = b[0] === 0x28; // '('
  if (ex) b = b.subarray(1);
  const s = b.toString('latin1');
  const r = strtod(s);
  if (r.end !== s.length || Number.isNaN(r.value)) return null;
  return { value: r.value, ex };
}

/** Redis' zslParseRange(). */
export function parseScoreRange(minArg: Buffer, maxArg: Buffer): ScoreRange {
  const min = parseRangeScore(minArg);
  const max = parseRangeScore(maxArg);
  if (min === null || max === null) throw new CommandError(ZE.RANGE_NOT_FLOAT);
  return { min: min.value, minex: min.ex, max: max.value, maxex: max.ex };
}

/** One end of a lex range: "-", "+", "[member" or "(member" (Redis' zslParseLexRangeItem). */
function parseLexItem(b: Buffer): { bound: LexBound; ex: boolean } | null {
  const c = b[0];
  // "+" and "-" must stand alone; the C code stops at a NUL, so "+\0..." passes too.
  if (c === 0x2b || c === 0x2d) {
    if (b.length > 1 && b[1] !== 0) return null;
    return { bound: { kind: c === 0x2b ? 'max' : 'min' }, ex: true };
  }
  if (c === 0x28 || c === 0x5b) return { bound: { kind: 'value', value: b.subarray(1) }, ex: c === 0x28 };
  return null;
}

export function parseLexRange(minArg: Buffer, maxArg: Buffer): LexRange {
  const min = parseLexItem(minArg);
  const max = parseLexItem(maxArg);
  if (min === null || max === null) throw new CommandError(ZE.RANGE_NOT_LEX);
  return { min: min.bound, minex: min.ex, max: max.bound, maxex: max.ex };
}

// ---------------------------------------------------------------- formatting

/** Scores in ZSCAN replies of a listpack-sized set: integers up to 2^62 print as integers (the listpack stores them so). */
const LISTPACK_INT_LIMIT = 2 ** 62;

/**
 * A score as ZSCAN prints it: Redis returns the stored representation. A small sorted set
 * (listpack) stores integral scores within +-2^62 as integers ("100000000000000000" for 1e17);
 * a large one (skiplist) prints d2string(), which is %.17g for such values ("1e+17").
 */
export function scanScore(score: number, listpack: boolean): string {
  if (listpack && Number.isInteger(score) && Math.abs(score) <= LISTPACK_INT_LIMIT) return BigInt(score).toString();
  return formatDouble(score === 0 ? 0 : score);
}

/** Header of a reply of n members: with scores RESP2 flattens (member, score) pairs, RESP3 nests them. */
export function scoredHeader(w: ReplyWriter, n: number, withScores: boolean): void {
  w.array(withScores && w.resp === 2 ? n * 2 : n);
}

/** One member of such a reply: [member, double] in RESP3, member then score in RESP2. */
export function scoredEntry(w: ReplyWriter, member: Buffer, score: number, withScores: boolean): void {
  if (withScores && w.resp === 3) w.array(2);
  w.bulk(member);
  if (withScores) w.double(score);
}
