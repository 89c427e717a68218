/**
 * Redis' glob-style matcher, ported from stringmatchlen() in util.c (Redis 7.0), byte for byte:
 * KEYS, SCAN MATCH and (later) PSUBSCRIBE and CONFIG GET patterns must match exactly what Redis
 * matches, quirks included:
 *
 *  - `*` any run of bytes, `?` one byte, `\x` the byte x, `[...]` a class with `^` negation,
 *    `a-z` ranges (either order) and `\x` escapes inside;
 *  - an unclosed class `[abc` works as if it were closed; a lone `[` matches nothing;
 *  - range bounds compare as C `char`, which is SIGNED on the platforms Redis ships for (x86-64):
 *    bytes 0x80..0xff are -128..-1, so `[a-\xff]` is the range -1..97 (verified against
 *    redis-server 7.0.15);
 *  - nocase folds only ASCII A-Z (the C locale's tolower), and an escaped byte inside a class
 *    is always compared case-sensitively;
 *  - once the rest of a pattern failed after a `*` from every position, earlier stars give up
 *    too (skipLongerMatches), which keeps matching polynomial;
 *  - recursion deeper than 1000 stars never matches (Redis' guard against abusive patterns).
 *
 * The C code reads pattern[patternLen] (the sds NUL terminator) at two places; `at()` below
 * returns 0 there, as C would.
 */

const STAR = 0x2a; // *
const QUESTION = 0x3f; // ?
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const CARET = 0x5e; // ^
const BACKSLASH = 0x5c; // \
const DASH = 0x2d; // -

const MAX_NESTING = 1000;

/** C's tolower() in the C locale. */
function lowerByte(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
}

/** A byte as a signed C char. */
function signed(b: number): number {
  return b >= 0x80 ? b - 0x100 : b;
}

function sameByte(a: number, b: number, nocase: boolean): boolean {
  return nocase ? lowerByte(a) === lowerByte(b) : a === b;
}

interface State {
  skipLongerMatches: boolean;
}

function matchImpl(
  pat: Uint8Array, p: number, pEnd: number,
  str: Uint8Array, s: number, sEnd: number,
  nocase: boolean, st: State, nesting: number,
): boolean {
  if (nesting > MAX_NESTING) return false;
  // pattern[i] for i up to pEnd (the terminator reads as 0).
  const at = (i: number): number => (i < pEnd ? pat[i]! : 0);

  while (p < pEnd && s < sEnd) {
    switch (pat[p]) {
      case STAR: {
        while (p < pEnd && at(p + 1) === STAR) p++;
        if (pEnd - p === 1) return true;
        while (s < sEnd) {
          if (matchImpl(pat, p + 1, pEnd, str, s, sEnd, nocase, st, nesting + 1)) return true;
          if (st.skipLongerMatches) return false;
          s++;
        }
        // The rest of the pattern matched from no position of the rest of the string: a longer
        // match for an earlier star cannot help either.
        st.skipLongerMatches = true;
        return false;
      }
      case QUESTION:
        s++;
        break;
      case OPEN: {
        p++;
        const not = at(p) === CARET;
        if (not) p++;
        let match = false;
        for (;;) {
          if (at(p) === BACKSLASH && pEnd - p >= 2) {
            p++;
            if (pat[p] === str[s]) match = true;
          } else if (at(p) === CLOSE) {
            break;
          } else if (p >= pEnd) {
            // Unclosed class: step back so the shared advance below lands on the end.
            p--;
            break;
          } else if (pEnd - p >= 3 && pat[p + 1] === DASH) {
            let start = signed(pat[p]!);
            let end = signed(pat[p + 2]!);
            let c = signed(str[s]!);
            if (start > end) [start, end] = [end, start];
            if (nocase) {
              start = lowerByte(start);
              end = lowerByte(end);
              c = lowerByte(c);
            }
            p += 2;
            if (c >= start && c <= end) match = true;
          } else if (sameByte(pat[p]!, str[s]!, nocase)) {
            match = true;
          }
          p++;
        }
        if (not) match = !match;
        if (!match) return false;
        s++;
        break;
      }
      case BACKSLASH:
        if (pEnd - p >= 2) p++;
        if (!sameByte(pat[p]!, str[s]!, nocase)) return false;
        s++;
        break;
      default:
        if (!sameByte(pat[p]!, str[s]!, nocase)) return false;
        s++;
        break;
    }
    p++;
    if (s >= sEnd) {
      while (at(p) === STAR) p++;
      break;
    }
  }
  return p >= pEnd && s >= sEnd;
}

/** stringmatchlen(): true when `str` matches the glob `pattern`. */
export function stringMatchLen(pattern: Uint8Array, str: Uint8Array, nocase = false): boolean {
  return matchImpl(pattern, 0, pattern.length, str, 0, str.length, nocase, { skipLongerMatches: false }, 0);
}

/** stringMatchLen() for Buffers or strings (strings are taken as UTF-8, as clients send them). */
export function globMatch(pattern: Uint8Array | string, str: Uint8Array | string, nocase = false): boolean {
  const p = typeof pattern === 'string' ? Buffer.from(pattern) : pattern;
  const s = typeof str === 'string' ? Buffer.from(str) : str;
  return stringMatchLen(p, s, nocase);
}

/**
 * The bytes every match of `pattern` must start with (case-sensitive patterns only): the
 * pattern up to its first special byte. KEYS and SCAN use it to bound their key range.
 */
export function literalPrefix(pattern: Uint8Array): Uint8Array {
  let i = 0;
  while (i < pattern.length) {
    const b = pattern[i]!;
    if (b === STAR || b === QUESTION || b === OPEN || b === BACKSLASH) break;
    i++;
  }
  return pattern.subarray(0, i);
}
