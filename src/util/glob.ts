/**
 * Redis' glob-style matcher (util.c stringmatchlen): `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes.
 * Works on bytes, so it serves keys (KEYS, SCAN MATCH) as well as names (CONFIG GET, COMMAND LIST).
 */

function lowerByte(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

interface State {
  /** Set once a `*` failed to match the rest anywhere: longer matches for earlier stars cannot help. */
  skipLonger: boolean;
}

function matchAt(p: Uint8Array, pi: number, s: Uint8Array, si: number, nocase: boolean, st: State, nesting: number): boolean {
  if (nesting > 1000) return false; // protection against abusive patterns, as Redis
  const pEnd = p.length;
  const sEnd = s.length;
  const eq = (a: number, b: number): boolean => (nocase ? lowerByte(a) === lowerByte(b) : a === b);
  while (pi < pEnd && si < sEnd) {
    const c = p[pi]!;
    if (c === 42 /* * */) {
      while (pi + 1 < pEnd && p[pi + 1] === 42) pi++;
      if (pi + 1 === pEnd) return true;
      while (si < sEnd) {
        if (matchAt(p, pi + 1, s, si, nocase, st, nesting + 1)) return true;
        if (st.skipLonger) return false;
        si++;
      }
      st.skipLonger = true;
      return false;
    } else if (c === 63 /* ? */) {
      si++;
    } else if (c === 91 /* [ */) {
      pi++;
      const not = p[pi] === 94; /* ^ */
      if (not) pi++;
      let match = false;
      const sc = s[si]!;
      for (;;) {
        if (pi < pEnd && p[pi] === 92 /* \ */ && pEnd - pi >= 2) {
          pi++;
          if (p[pi] === sc) match = true;
        } else if (pi < pEnd && p[pi] === 93 /* ] */) {
          break;
        } else if (pi >= pEnd) {
          pi--; // unterminated class: the loop end below steps past the last byte
          break;
        } else if (pEnd - pi >= 3 && p[pi + 1] === 45 /* - */) {
          let start = p[pi]!;
          let end = p[pi + 2]!;
          let ch = sc;
          if (start > end) [start, end] = [end, start];
          if (nocase) {
            start = lowerByte(start);
            end = lowerByte(end);
            ch = lowerByte(ch);
          }
          pi += 2;
          if (ch >= start && ch <= end) match = true;
        } else if (eq(p[pi]!, sc)) {
          match = true;
        }
        pi++;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
    } else {
      if (c === 92 /* \ */ && pEnd - pi >= 2) pi++;
      if (!eq(p[pi]!, s[si]!)) return false;
      si++;
    }
    pi++;
    if (si === sEnd) {
      while (pi < pEnd && p[pi] === 42) pi++;
      break;
    }
  }
  return pi >= pEnd && si === sEnd;
}

/** True when `text` matches the glob `pattern`. */
export function globMatch(pattern: Uint8Array | string, text: Uint8Array | string, nocase = false): boolean {
  const p = typeof pattern === 'string' ? Buffer.from(pattern) : pattern;
  const s = typeof text === 'string' ? Buffer.from(text) : text;
  return matchAt(p, 0, s, 0, nocase, { skipLonger: false }, 0);
}
