/**
 * Redis' glob-style matcher: a port of stringmatchlen() from util.c (Redis 7.0), for the MATCH
 * option of the SCAN family. Byte for byte, quirks included:
 *
 *  - `*` any run of bytes, `?` one byte, `\x` the byte x, `[...]` a class with `^` negation,
 *    `a-z` ranges (bounds in either order) and `\x` escapes inside;
 *  - an unclosed class `[abc` works as if it were closed; a lone `[` matches nothing;
 *  - range bounds and the tested byte compare as C `char`, signed on x86-64 (0x80..0xff are
 *    -128..-1);
 *  - nocase folds ASCII A-Z only (tolower in the C locale);
 *  - when the rest of a pattern failed after a `*` from every position, earlier stars give up
 *    too (skipLongerMatches), which keeps matching polynomial; more than 1000 nested stars
 *    never match.
 *
 * The C code reads pattern[patternLen] (the sds terminator) in two places; `at()` returns 0 there.
 *
 * NOTE(merge): a fuller port may exist on another branch as src/util/glob.ts; this file only
 * promises `stringMatch(pattern, subject, nocase)`.
 */

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const BACKSLASH = 0x5c;
const DASH = 0x2d;
const MAX_NESTING = 1000;

function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** A byte as C's signed char. */
function signed(c: number): number {
  return c > 127 ? c - 256 : c;
}

interface State {
  skipLongerMatches: boolean;
}

function matchImpl(p: Uint8Array, pi: number, plen: number, s: Uint8Array, si: number, slen: number, nocase: boolean, st: State, nesting: number): boolean {
  if (nesting > MAX_NESTING) return false;
  const at = (i: number): number => (i < p.length ? p[i]! : 0);
  while (plen > 0 && slen > 0) {
    switch (p[pi]) {
      case STAR: {
        while (plen > 0 && at(pi + 1) === STAR) {
          pi++;
          plen--;
        }
        if (plen === 1) return true;
        while (slen > 0) {
          if (matchImpl(p, pi + 1, plen - 1, s, si, slen, nocase, st, nesting + 1)) return true;
          if (st.skipLongerMatches) return false;
          si++;
          slen--;
        }
        st.skipLongerMatches = true;
        return false;
      }
      case QUESTION:
        si++;
        slen--;
        break;
      case OPEN: {
        pi++;
        plen--;
        const not = at(pi) === CARET;
        if (not) {
          pi++;
          plen--;
        }
        let match = false;
        for (;;) {
          if (at(pi) === BACKSLASH && plen >= 2) {
            pi++;
            plen--;
            if (p[pi] === s[si]) match = true;
          } else if (at(pi) === CLOSE) {
            break;
          } else if (plen === 0) {
            pi--;
            plen++;
            break;
          } else if (plen >= 3 && p[pi + 1] === DASH) {
            let start = signed(p[pi]!);
            let end = signed(p[pi + 2]!);
            let c = signed(s[si]!);
            if (start > end) [start, end] = [end, start];
            if (nocase) {
              start = lowerAscii(start);
              end = lowerAscii(end);
              c = lowerAscii(c);
            }
            pi += 2;
            plen -= 2;
            if (c >= start && c <= end) match = true;
          } else if (nocase ? lowerAscii(p[pi]!) === lowerAscii(s[si]!) : p[pi] === s[si]) {
            match = true;
          }
          pi++;
          plen--;
        }
        if (not) match = !match;
        if (!match) return false;
        si++;
        slen--;
        break;
      }
      default:
        // A backslash escapes the next byte (a trailing one is itself).
        if (p[pi] === BACKSLASH && plen >= 2) {
          pi++;
          plen--;
        }
        if (nocase ? lowerAscii(p[pi]!) !== lowerAscii(s[si]!) : p[pi] !== s[si]) return false;
        si++;
        slen--;
        break;
    }
    pi++;
    plen--;
    if (slen === 0) {
      while (at(pi) === STAR) {
        pi++;
        plen--;
      }
      break;
    }
  }
  return plen === 0 && slen === 0;
}

/** Redis' stringmatchlen(pattern, subject, nocase): does the glob pattern match the whole subject? */
export function stringMatch(pattern: Uint8Array, subject: Uint8Array, nocase: boolean): boolean {
  return matchImpl(pattern, 0, pattern.length, subject, 0, subject.length, nocase, { skipLongerMatches: false }, 0);
}
