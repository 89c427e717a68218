import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import Redis from 'ioredis';
import { stringMatchLen, globMatch, literalPrefix } from '../src/util/glob.js';
import { hasRedis, startRedis, seededRandom, type Oracle } from './helpers/redis-oracle.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

// [pattern, string, expected]: every case was checked against redis-server 7.0 (KEYS), and the
// oracle suite below re-checks them on every run where redis-server is installed.
const CASES: [string, string, boolean][] = [
  ['', '', true],
  ['', 'a', false],
  ['a', '', false],
  ['*', 'anything', true],
  ['*', '', false], // stringmatchlen itself; KEYS/SCAN "*" skip matching and do list ""
  ['**', '', false],
  ['a*', 'a', true],
  ['a**', 'a', true],
  ['a*', '', false],
  ['*a', 'ba', true],
  ['*a', 'ab', false],
  ['h?llo', 'hello', true],
  ['h?llo', 'hllo', false],
  ['?', '\xc3\xa9', false], // one pattern byte, two string bytes (UTF-8 é)
  ['??', '\xc3\xa9', true],
  ['h*llo', 'hllo', true],
  ['h*llo', 'heeeello', true],
  ['h*llo', 'hellox', false],
  ['h[ae]llo', 'hello', true],
  ['h[ae]llo', 'hillo', false],
  ['h[^e]llo', 'hallo', true],
  ['h[^e]llo', 'hello', false],
  ['h[a-b]llo', 'hbllo', true],
  ['h[b-a]llo', 'hallo', true], // reversed range
  ['h[a-b]llo', 'hcllo', false],
  ['h\\*llo', 'h*llo', true],
  ['h\\*llo', 'hello', false],
  ['\\?', '?', true],
  ['\\?', 'a', false],
  ['[abc', 'a', true], // unclosed class
  ['[abc', 'd', false],
  ['[', '[', false], // a lone [ matches nothing
  ['[]', ']', false],
  ['[]]', ']', false],
  ['[\\]]', ']', true],
  ['[a\\-z]', '-', true],
  ['[a\\-z]', 'b', false],
  ['[a-]', ']', true], // a range a..] that is never closed
  ['[a-]', '_', true],
  ['[a-]', '-', false],
  ['[^', 'x', true],
  ['[^]', 'x', true],
  ['a\\', 'a\\', true], // a trailing backslash is literal
  ['\\', '\\', true],
  ['*\\', 'x\\', true],
  ['[\\', '\\', true],
  ['a[bc]*d?', 'abxxde', true],
  ['a[bc]*d?', 'adxxde', false],
  // C char is signed: \xff is -1, \x80 is -128
  ['[a-\xff]', '\x10', true],
  ['[a-\xff]', '\xff', true],
  ['[a-\xff]', 'a', true],
  ['[a-\xff]', 'b', false],
  ['[a-\xff]', '\xf0', false],
  ['[\x80-\xff]', '\xf0', true],
  ['[\x80-\xff]', 'a', false],
  ['[\x01-\xf0]', '\xff', true],
  ['[\x01-\xf0]', '\x10', false],
];

// [pattern, string, expected] with nocase
const NOCASE_CASES: [string, string, boolean][] = [
  ['HELLO', 'hello', true],
  ['h?LLo', 'HeLlO', true],
  ['[A-Z]', 'q', true],
  ['[a-z]', 'Q', true],
  ['[^a-z]', 'Q', false],
  ['[AB]', 'b', true],
  ['[\\A]', 'a', false], // an escaped byte in a class compares case-sensitively
  ['\\A', 'a', true], // outside a class it does not
  ['\xc9', '\xe9', false], // only ASCII folds
];

describe('stringMatchLen (port of Redis stringmatchlen)', () => {
  it.each(CASES)('%j matches %j: %s', (p, s, expected) => {
    expect(stringMatchLen(b(p), b(s))).toBe(expected);
  });

  it.each(NOCASE_CASES)('nocase %j matches %j: %s', (p, s, expected) => {
    expect(stringMatchLen(b(p), b(s), true)).toBe(expected);
  });

  it('is case-sensitive without nocase', () => {
    expect(stringMatchLen(b('HELLO'), b('hello'))).toBe(false);
    expect(stringMatchLen(b('[A-Z]'), b('q'))).toBe(false);
  });

  it('gives up beyond 1000 nested stars, as Redis does', () => {
    expect(stringMatchLen(b('*a'.repeat(1000)), b('a'.repeat(1000)))).toBe(true);
    expect(stringMatchLen(b('*a'.repeat(1001)), b('a'.repeat(1001)))).toBe(false);
    // a trailing star does not nest
    expect(stringMatchLen(b('a*'.repeat(1001)), b('a'.repeat(1001)))).toBe(true);
  });

  it('stays polynomial on patterns that used to be exponential', () => {
    const pattern = b('a*'.repeat(40) + 'b');
    const subject = b('a'.repeat(200));
    expect(stringMatchLen(pattern, subject)).toBe(false);
  });

  it('globMatch takes strings as UTF-8', () => {
    expect(globMatch('caf?', 'café')).toBe(false); // é is two bytes
    expect(globMatch('caf??', 'café')).toBe(true);
    expect(globMatch('CAF*', 'café', true)).toBe(true);
  });

  it('literalPrefix stops at the first special byte', () => {
    const lp = (p: string): string => Buffer.from(literalPrefix(b(p))).toString('latin1');
    expect(lp('user:*')).toBe('user:');
    expect(lp('abc')).toBe('abc');
    expect(lp('a?c')).toBe('a');
    expect(lp('a[b]')).toBe('a');
    expect(lp('a\\*')).toBe('a');
    expect(lp('*')).toBe('');
  });
});

describe.skipIf(!hasRedis)('stringMatchLen against redis-server', () => {
  let oracle: Oracle;
  let r: Redis;

  beforeAll(async () => {
    oracle = await startRedis();
    r = new Redis(oracle.port, { lazyConnect: false, maxRetriesPerRequest: 0 });
  });

  afterAll(async () => {
    r?.disconnect();
    await oracle?.stop();
  });

  /** Keys the oracle's KEYS returns for `pattern`, as latin1 strings, sorted. */
  async function oracleKeys(patterns: Buffer[]): Promise<string[][]> {
    const p = r.pipeline();
    for (const pat of patterns) p.keysBuffer(pat);
    const res = (await p.exec())!;
    return res.map(([err, v]) => {
      if (err) throw err;
      return (v as Buffer[]).map((k) => k.toString('latin1')).sort();
    });
  }

  /** What KEYS must return for `pattern` over `keys` ("*" lists everything without matching). */
  function ourKeys(pattern: Buffer, keys: string[]): string[] {
    const all = pattern.length === 1 && pattern[0] === 0x2a;
    return keys.filter((k) => all || stringMatchLen(pattern, b(k))).sort();
  }

  it('agrees on the hand-written cases', async () => {
    await r.flushall();
    const subjects = [...new Set(CASES.map(([, s]) => s))];
    for (const s of subjects) await r.set(b(s), '1');
    const patterns = [...new Set(CASES.map(([p]) => p))].map(b);
    const theirs = await oracleKeys(patterns);
    patterns.forEach((p, i) => expect(ourKeys(p, subjects), `pattern ${JSON.stringify(p.toString('latin1'))}`).toEqual(theirs[i]));
  });

  it('agrees on random patterns and keys (KEYS, case-sensitive)', async () => {
    await r.flushall();
    const rand = seededRandom(7);
    const alphabet = ['a', 'b', 'c', 'A', '-', '[', ']', '^', '*', '?', '\\', '\x00', '\x80', '\xf0', '\xff'];
    const word = (max: number, weights = alphabet): string => {
      let s = '';
      const n = Math.floor(rand() * (max + 1));
      for (let i = 0; i < n; i++) s += weights[Math.floor(rand() * weights.length)];
      return s;
    };
    const keys = new Set<string>();
    while (keys.size < 300) keys.add(word(6));
    const p = r.pipeline();
    for (const k of keys) p.set(b(k), '1');
    await p.exec();
    const specials = [...alphabet, '*', '*', '?', '[', ']', '-'];
    const patterns: Buffer[] = [];
    for (let i = 0; i < 600; i++) patterns.push(b(word(7, specials)));
    const theirs = await oracleKeys(patterns);
    const list = [...keys];
    patterns.forEach((pat, i) => expect(ourKeys(pat, list), `pattern ${pat.toString('hex')}`).toEqual(theirs[i]));
  });

  it('agrees on random patterns with nocase (COMMAND LIST FILTERBY PATTERN)', async () => {
    const names = ((await r.call('command', 'list')) as string[]).sort();
    const rand = seededRandom(11);
    const alphabet = ['c', 'o', 'n', 'f', 'i', 'g', 'e', 's', 't', 'C', 'O', 'N', 'S', 'E', 'T', '|', '*', '*', '?', '[', ']', '-', '^', '\\', 'a', 'z', 'A', 'Z'];
    const p = r.pipeline();
    const patterns: string[] = [];
    for (let i = 0; i < 400; i++) {
      let s = '';
      const n = 1 + Math.floor(rand() * 7);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
      patterns.push(s);
      p.call('command', 'list', 'filterby', 'pattern', s);
    }
    const res = (await p.exec())!;
    patterns.forEach((pat, i) => {
      const theirs = (res[i]![1] as string[]).sort();
      expect(names.filter((n) => globMatch(pat, n, true)), `pattern ${pat}`).toEqual(theirs);
    });
  });
});
