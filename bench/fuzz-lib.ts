/**
 * Fuzzing Cairn (issue 4): random and truncated RESP, and random argument lists for every command
 * in the command table. Shared by the bounded run in `npm test` (test/fuzz.test.ts) and the long
 * one (bench/fuzz.ts).
 *
 * Everything is drawn from a seeded PRNG; each batch and each protocol case has its own seed
 * derived from the run's seed and its number, so a finding is replayed by its seed and batch.
 *
 * What counts as a failure (always):
 *  - crash: the server process died;
 *  - hang: a command batch did not get all its replies, or the watchdog connection (another
 *    client, PINGing throughout) did not get a PONG, within the deadline;
 *  - bad reply: bytes that are not RESP, more replies than commands, or an "ERR internal error"
 *    (a handler threw something that is not a CommandError: a bug).
 * What is reported, not failed (where a redis-server oracle runs): a divergence, i.e. Redis replies
 * with an error and Cairn does not (or the reverse), or both error with different texts; for
 * protocol cases, different reply bytes or a different open/closed state of the connection.
 */
import net from 'node:net';
import { COMMAND_LIST } from '../src/commands/table.js';
import type { CommandSpec } from '../src/commands/types.js';
import { argumentTokens } from '../src/commands/command-docs.js';
import { keyShard } from '../src/server/slot.js';
import { encodeCommand, replyEnd } from '../test/helpers/reply.js';
import { seededRandom } from '../test/helpers/redis-oracle.js';

// ---------------------------------------------------------------- PRNG

export class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = seededRandom(seed);
  }
  float(): number {
    return this.next();
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
}

/** The seed of part `n` of a run (a batch, a protocol case): replayable on its own. */
export function subSeed(seed: number, kind: number, n: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(kind + 1, 0xc2b2ae35) ^ Math.imul(n + 1, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

// ---------------------------------------------------------------- connections

const EMPTY = Buffer.alloc(0);

/** A raw connection that counts and checks whole RESP replies (RESP2 or RESP3). */
export class Conn {
  private buf: Buffer = EMPTY;
  private pos = 0;
  private wake: (() => void) | null = null;
  closed = false;
  /** Bytes received in total. */
  received = 0;

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.received += d.length;
      this.buf = this.pos >= this.buf.length ? d : Buffer.concat([this.buf.subarray(this.pos), d]);
      this.pos = 0;
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number, timeoutMs = 5000): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => {
        clearTimeout(t);
        resolve(new Conn(s));
      });
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`could not connect to port ${port} in ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Waits for data or close, at most `ms`. */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, Math.max(0, ms));
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  write(b: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  close(): void {
    this.socket.destroy();
  }

  /** Bytes received and not yet taken as replies. */
  get pending(): Buffer {
    return this.buf.subarray(this.pos);
  }

  /** Takes one whole reply if there is one; throws (bad reply) on bytes that are not RESP. */
  private take(): Buffer | null {
    if (this.pos >= this.buf.length) return null;
    const end = replyEnd(this.buf, this.pos);
    if (end < 0) return null;
    const r = this.buf.subarray(this.pos, end);
    this.pos = end;
    return r;
  }

  /**
   * Reads `n` replies. Stops early when the connection closes or `timeoutMs` passes; `invalid`
   * says why the bytes were not RESP.
   */
  async replies(n: number, timeoutMs: number): Promise<{ replies: Buffer[]; invalid?: string }> {
    const out: Buffer[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        for (let r = this.take(); r && out.length < n; r = out.length < n ? this.take() : null) out.push(r);
      } catch (e) {
        return { replies: out, invalid: (e as Error).message };
      }
      if (out.length >= n || this.closed || Date.now() >= deadline) return { replies: out };
      await this.wait(deadline - Date.now());
    }
  }

  /**
   * Waits until `done()` holds or the connection closes (at most `timeoutMs`), then until nothing
   * more arrives for `quietMs`. Without `done`, only the quiet period (still at most `timeoutMs`).
   */
  async settle(timeoutMs: number, quietMs: number, done?: () => boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (done) while (!this.closed && !done() && Date.now() < deadline) await this.wait(deadline - Date.now());
    for (let before = -1; !this.closed && before !== this.received && Date.now() < deadline + quietMs;) {
      before = this.received;
      await this.wait(quietMs);
    }
  }
}

/** Sends one command and waits for its reply (for set-up steps). */
async function call(c: Conn, args: (string | Buffer)[], timeoutMs = 10_000): Promise<Buffer> {
  c.write(encodeCommand(...args));
  const { replies, invalid } = await c.replies(1, timeoutMs);
  if (replies.length !== 1) throw new Error(`no reply to ${args.join(' ')} (${invalid ?? (c.closed ? 'closed' : 'timeout')})`);
  return replies[0]!;
}

// ---------------------------------------------------------------- what to fuzz

/** One fuzz target: a command or a subcommand, with the words that name it. */
export interface FuzzTarget {
  spec: CommandSpec;
  words: string[];
  /** Kills or closes a connection: run alone on a connection of its own. */
  throwaway: boolean;
  keywords: string[];
}

/**
 * Left out, each for a reason:
 *  - SHUTDOWN stops the server (its argument parsing has its own tests);
 *  - commands flagged 'blocking' legitimately wait for data (none is served yet).
 */
const EXCLUDED = new Set(['shutdown']);
/** QUIT and CLIENT KILL close connections: each runs on a connection opened for it. */
const THROWAWAY = new Set(['quit', 'client|kill']);

/**
 * Words some commands take that their docs do not list as tokens. CONFIG SET gets only parameters
 * that cannot cut the fuzzer off (not port, dir, timeout, maxclients, loglevel, the size limits).
 */
const EXTRA_WORDS: Record<string, string[]> = {
  'config|set': ['hz', 'active-expire-effort', 'appendfsync', 'always', 'everysec', 'no', 'maxmemory-policy',
    'allkeys-lfu', 'set-max-intset-entries', 'zset-max-listpack-entries', 'list-max-listpack-size', 'save'],
  'config|get': ['*', 'hz', 'maxmemory*', '*max*'],
  'info': ['server', 'clients', 'memory', 'stats', 'keyspace', 'all', 'everything', 'default', 'commandstats', 'errorstats'],
};

/** Option words of Redis commands, offered to every command besides its own (a wrong option is a case too). */
const COMMON_WORDS = [
  'EX', 'PX', 'EXAT', 'PXAT', 'NX', 'XX', 'GT', 'LT', 'KEEPTTL', 'GET', 'CH', 'INCR', 'WITHSCORES', 'WITHSCORE',
  'LIMIT', 'COUNT', 'MATCH', 'TYPE', 'REV', 'BYSCORE', 'BYLEX', 'WEIGHTS', 'AGGREGATE', 'SUM', 'MIN', 'MAX',
  'BEFORE', 'AFTER', 'LEFT', 'RIGHT', 'RANK', 'MAXLEN', 'LEN', 'IDX', 'MINMATCHLEN', 'WITHMATCHLEN', 'REPLACE',
  'DB', 'WITHVALUES', 'ASYNC', 'SYNC', 'AUTH', 'SETNAME', 'ID', 'SKIPME', 'FILTERBY', 'MODULE', 'ACLCAT', 'PATTERN',
];

/**
 * Every command and subcommand of the table (so new commands are fuzzed without a change here),
 * with its keywords: the tokens of its arguments in Redis' COMMAND DOCS (src/commands/redis-meta.ts),
 * its subcommands' names, for COMMAND's subcommands every command name, and the extra words above.
 */
export function fuzzTargets(list = COMMAND_LIST): FuzzTarget[] {
  const out: FuzzTarget[] = [];
  const names = list.filter((s) => !s.internal).map((s) => s.name);
  const add = (spec: CommandSpec, words: string[]): void => {
    if (EXCLUDED.has(spec.name) || spec.flags.includes('blocking')) return;
    const kw = new Set(argumentTokens(spec));
    for (const t of EXTRA_WORDS[spec.name] ?? []) kw.add(t);
    for (const sub of spec.subcommands ?? []) kw.add(sub.name.split('|')[1]!);
    if (spec.name.startsWith('command|')) for (const n of names) kw.add(n);
    out.push({ spec, words, throwaway: THROWAWAY.has(spec.name), keywords: [...kw] });
  };
  for (const spec of list) {
    if (spec.internal) continue;
    add(spec, [spec.name]);
    for (const sub of spec.subcommands ?? []) add(sub, sub.name.split('|'));
  }
  return out;
}

// ---------------------------------------------------------------- keys and values

const TYPES = ['str', 'int', 'float', 'hash', 'list', 'set', 'iset', 'zset', 'zlex', 'ttl', 'none'] as const;

/** Key names: every type twice untagged (spread over shards) and once under a hash tag (one shard). */
export function fuzzKeys(): string[] {
  const keys: string[] = [];
  for (const t of TYPES) keys.push(`fz:${t}`, `fz:${t}:2`, `{fz}${t}`);
  return keys;
}

/** LCS is quadratic in memory and time (in Redis too): it reads only these keys, which hold short values. */
const LCS_KEYS = ['lcs:a', '{lcs}b', 'lcs:hash', 'lcs:none'];

function populateKey(key: string, type: (typeof TYPES)[number]): string[] | null {
  switch (type) {
    case 'str': return ['SET', key, 'hello world'];
    case 'int': return ['SET', key, '42'];
    case 'float': return ['SET', key, '3.25'];
    case 'hash': return ['HSET', key, 'f1', 'v1', 'f2', '2', 'f3', '3.5', 'a', 'b'];
    case 'list': return ['RPUSH', key, 'a', 'b', 'c', '1', '2', 'a', ''];
    case 'set': return ['SADD', key, 'a', 'b', 'c', '1', '2', ''];
    case 'iset': return ['SADD', key, '1', '2', '3', '-7'];
    case 'zset': return ['ZADD', key, '1', 'a', '2', 'b', '3', 'c', '4.5', 'd', '-inf', 'e', '+inf', 'f'];
    case 'zlex': return ['ZADD', key, '0', 'a', '0', 'b', '0', 'c', '0', 'd', '0', ''];
    case 'ttl': return ['SET', key, 'v', 'PX', '600000'];
    case 'none': return null;
  }
}

/** The commands that reset a server to the state every batch starts from. */
export function populateCommands(): string[][] {
  const out: string[][] = [['RESET'], ['FLUSHALL'], ['CONFIG', 'SET', 'hz', '10', 'appendfsync', 'everysec', 'maxmemory-policy', 'noeviction']];
  for (const t of TYPES) {
    for (const key of [`fz:${t}`, `fz:${t}:2`, `{fz}${t}`]) {
      const c = populateKey(key, t);
      if (c) out.push(c);
    }
  }
  out.push(['SET', 'lcs:a', 'ohmytext'], ['SET', '{lcs}b', 'mynewtext'], ['HSET', 'lcs:hash', 'f', 'v']);
  return out;
}

/** The shards the fuzz keys land on, for `shards` shards (a test checks that it is all of them). */
export function keyShards(shards: number): Set<number> {
  return new Set(fuzzKeys().map((k) => keyShard(Buffer.from(k), shards)));
}

const LONG = 'x'.repeat(1000);
const HUGE = 'y'.repeat(70_000); // over the 64 KB inline limit and a socket read

/** Values that break parsers: numbers at and past every limit, empty, long, odd bytes. */
const NASTY = [
  '', '0', '1', '-1', '2', '3', '5', '10', '-10', '100', '-0', '+1', '01', ' 1', '1 ', '0x10', '1.5', '-0.5', '.5',
  '5.', '1e3', '1e-3', '1e400', '-1e400', '4.9e-324', '1.7976931348623157e308', 'inf', '-inf', '+inf', 'Inf', 'nan',
  'NaN', '-nan', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '-9223372036854775809',
  '18446744073709551616', '2147483647', '-2147483648', '2147483648', '4294967296', '9007199254740993',
  '(1', '(1.5', '[a', '(a', '-', '+', '[', '(', '*', '?', '[a-', '\\', 'a*', '*a*b*c*d*e*f*g*h*i*j*k*l*m*n*o*p*',
  'é', '\u0000', '\r\n', 'a b', '"', "'", LONG,
];

const MEMBERS = ['a', 'b', 'c', 'd', 'e', 'f', '1', '2', 'f1', 'f2', 'f3', 'nosuch'];

/** Commands whose negative count means "this many replies, repeats allowed": kept small (Redis, too, would build them). */
const REPEAT_COUNTS = new Set(['srandmember', 'zrandmember', 'hrandfield']);

function isKeyPos(spec: CommandSpec, pos: number, argc: number): boolean {
  const k = spec.keys;
  if (!k) return false;
  const last = k.last < 0 ? argc + k.last : k.last;
  return pos >= k.first && pos <= last && (pos - k.first) % k.step === 0;
}

/** A random number, at random magnitude. */
function randomNumber(r: Rng): string {
  const mag = r.pick([1, 10, 1000, 1e6]);
  const n = r.int(-mag, mag);
  return r.chance(0.2) ? (n + r.float()).toFixed(r.int(1, 6)) : String(n);
}

function value(r: Rng, t: FuzzTarget, keys: readonly string[]): string | Buffer {
  const p = r.float();
  if (p < 0.18) return r.pick(keys);
  if (p < 0.42 && t.keywords.length > 0) return caseMix(r, r.pick(t.keywords));
  if (p < 0.48) return caseMix(r, r.pick(COMMON_WORDS));
  if (p < 0.6) return r.pick(MEMBERS);
  if (p < 0.7) return randomNumber(r);
  if (p < 0.75) return r.bytes(r.int(1, 24));
  if (p < 0.752) return HUGE;
  return r.pick(NASTY);
}

function caseMix(r: Rng, w: string): string {
  const p = r.float();
  return p < 0.4 ? w.toUpperCase() : p < 0.8 ? w.toLowerCase() : [...w].map((ch) => (r.chance(0.5) ? ch.toUpperCase() : ch)).join('');
}

/** One random call of `t`: its arity most of the time, any length sometimes. */
export function randomCommand(r: Rng, t: FuzzTarget): Buffer[] {
  const lcs = t.spec.name === 'lcs';
  const keys = lcs ? LCS_KEYS : fuzzKeys();
  const base = t.words.length;
  const arity = t.spec.arity;
  let n = arity > 0 ? arity - base : -arity - base + (r.chance(0.5) ? r.int(0, 3) : r.int(0, 8));
  if (r.chance(0.12)) n = r.int(0, 8);
  n = Math.max(0, n);
  const argc = base + n;
  const args: Buffer[] = t.words.map((w) => Buffer.from(caseMix(r, w)));
  for (let pos = base; pos < argc; pos++) {
    let v: string | Buffer = isKeyPos(t.spec, pos, argc) && r.chance(0.8) ? r.pick(keys) : value(r, t, keys);
    if (lcs && v.length > 64) v = 'short';
    if (REPEAT_COUNTS.has(t.spec.name) && typeof v === 'string' && /^-\d+$/.test(v) && Number(v) < -1000
      && v !== '-9223372036854775808') v = '-7';
    args.push(Buffer.isBuffer(v) ? v : Buffer.from(v, 'latin1'));
  }
  return args;
}

// ---------------------------------------------------------------- protocol inputs

function cmdBytes(args: (string | Buffer)[]): Buffer {
  return encodeCommand(...args);
}

/** Harmless whole commands on the case's own key (cases run side by side), for valid RESP to cut or bend. */
function saneCommand(r: Rng, key: string): Buffer[] {
  const v = r.pick(['v', '', '12', 'a b', 'x'.repeat(r.int(0, 300))]);
  const c = r.pick([['PING'], ['PING', v], ['ECHO', v], ['SET', key, v], ['GET', key], ['INCR', key], ['DEL', key],
    ['APPEND', key, v], ['STRLEN', key], ['RPUSH', key + ':l', v], ['LRANGE', key + ':l', '0', '-1'], ['NOSUCHCMD', v], ['EXISTS', key]]);
  return c.map((s) => Buffer.from(s));
}

const PROTO_ALPHABET = Buffer.from('*$+-:_,#(=!%~>|\r\n \t0123456789-abcPING"\'\\x');

/** Fragments of requests that are wrong in one way each. */
const ODD_PIECES = [
  '*2147483647\r\n', '*2147483648\r\n', '*1048577\r\n$4\r\nPING\r\n', '*99999999999999999999\r\n', '*-5\r\n', '*-1\r\n',
  '*0\r\n', '*\r\n', '*1\r\n$536870912\r\n', '*1\r\n$536870913\r\n', '*1\r\n$2147483648\r\n', '*1\r\n$-1\r\n',
  '*1\r\n$\r\n', '*1\r\n$0\r\n\r\n', '*2\r\n$4\r\nECHO\r\n$3\r\nab\r\n', '*1\r\n$4\r\nPING\n', '*1\n$4\nPING\n',
  '%1\r\n+a\r\n+b\r\n', '~2\r\n$1\r\na\r\n$1\r\nb\r\n', '#t\r\n', ',3.14\r\n', '_\r\n', '(12345678901234567890\r\n',
  '=7\r\ntxt:abc\r\n', '!3\r\nerr\r\n', '>2\r\n+a\r\n+b\r\n', '|1\r\n+a\r\n+b\r\n', ':1\r\n', '+PING\r\n', '-ERR x\r\n',
  '*2\r\n*1\r\n$1\r\na\r\n$1\r\nb\r\n', '*1\r\n%1\r\n', '*1\r\n+PING\r\n', '*1\r\n:5\r\n',
  'PING\r\n', 'PING\n', '\r\n', '\n', 'ECHO "a b"\r\n', "ECHO 'a b'\r\n", 'ECHO "\\x41\\x4\\n"\r\n', 'ECHO "a"b\r\n',
  'ECHO "unclosed\r\n', "ECHO 'unclosed\r\n", 'ECHO "\\"\r\n', 'ECHO \'\\\'\'\r\n', 'SET fz:inline "" \r\n',
  'ECHO """"\r\n', 'PING \t x \r\n', '\u0000\r\n',
];

function inlineLine(r: Rng): Buffer {
  const parts = ['"', "'", '\\x4', '\\x41', '\\xzz', '\\', '\\"', 'a', ' ', '\t', 'PING', 'ECHO', '""', "''", '\\n', 'é', 'GET'];
  const n = r.int(1, 10);
  let s = r.chance(0.7) ? r.pick(['ECHO ', 'PING ', 'SET fz:q ', 'GET ']) : '';
  for (let i = 0; i < n; i++) s += r.pick(parts);
  return Buffer.from(s + r.pick(['\r\n', '\n']), 'latin1');
}

function mutate(r: Rng, b: Buffer): Buffer {
  if (b.length === 0) return b;
  const i = r.int(0, b.length - 1);
  switch (r.int(0, 3)) {
    case 0: return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]); // drop a byte
    case 1: return Buffer.concat([b.subarray(0, i), r.bytes(1), b.subarray(i)]); // insert one
    case 2: { // a length off by a little
      const s = b.toString('latin1').replace(/([*$])(\d+)/, (_, t: string, d: string) => t + String(Math.max(0, Number(d) + r.int(-2, 2))));
      return Buffer.from(s, 'latin1');
    }
    default: { const c = Buffer.from(b); c[i] = PROTO_ALPHABET[r.int(0, PROTO_ALPHABET.length - 1)]!; return c; }
  }
}

/** One protocol case: the bytes to send and the chunks to send them in. */
export interface ProtocolCase {
  bytes: Buffer;
  chunks: number[];
  /** The input ends at a command boundary: a PING sent after it must be answered. */
  thenPing: boolean;
}

export function protocolCase(r: Rng, key: string): ProtocolCase {
  const pieces: Buffer[] = [];
  const n = r.int(1, 3);
  let clean = true;
  for (let i = 0; i < n; i++) {
    const kind = r.int(0, 6);
    if (kind === 0) {
      const len = r.int(1, 200);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = r.chance(0.6) ? PROTO_ALPHABET[r.int(0, PROTO_ALPHABET.length - 1)]! : r.int(0, 255);
      pieces.push(b);
      clean = false;
    } else if (kind === 1) {
      const whole = cmdBytes(saneCommand(r, key));
      pieces.push(whole.subarray(0, r.int(0, whole.length)));
      clean = false;
    } else if (kind === 2) {
      pieces.push(mutate(r, cmdBytes(saneCommand(r, key))));
      clean = false;
    } else if (kind === 3) {
      pieces.push(Buffer.from(r.pick(ODD_PIECES), 'latin1'));
      clean = false;
    } else if (kind === 4) {
      pieces.push(inlineLine(r));
      clean = false;
    } else {
      pieces.push(cmdBytes(saneCommand(r, key)));
    }
  }
  const bytes = Buffer.concat(pieces);
  const chunks: number[] = [];
  for (let left = bytes.length; left > 0;) {
    const c = r.chance(0.3) ? r.int(1, 3) : r.int(1, Math.max(1, left));
    chunks.push(Math.min(c, left));
    left -= c;
  }
  return { bytes, chunks, thenPing: clean };
}

// ---------------------------------------------------------------- findings

export type FindingKind = 'crash' | 'hang' | 'bad-reply' | 'starved' | 'divergence';

export interface Finding {
  kind: FindingKind;
  /** What happened, e.g. the two replies. */
  what: string;
  /** The reproducing input: the command (or protocol bytes) as JSON. */
  input: string;
  seed: number;
  /** The batch or protocol case number within the seed's run. */
  at: string;
}

/** Shows a command or bytes readably: JSON strings, long ones shortened. */
export function show(args: readonly Buffer[] | Buffer): string {
  const one = (b: Buffer): string => (b.length > 80 ? JSON.stringify(b.toString('latin1', 0, 40)) + `...(${b.length} bytes)` : JSON.stringify(b.toString('latin1')));
  return Buffer.isBuffer(args) ? one(args) : '[' + args.map(one).join(', ') + ']';
}

function errorText(reply: Buffer): string | null {
  return reply[0] === 45 /* - */ || reply[0] === 33 /* ! (RESP3 blob error) */ ? reply.toString('latin1').replace(/\r\n$/, '') : null;
}

// ---------------------------------------------------------------- the run

export interface FuzzServer {
  port: number;
  /** False once the process has exited. */
  alive(): boolean;
}

export interface FuzzOptions {
  seed: number;
  cairn: FuzzServer;
  /** A reference redis-server: divergences are looked for only with one. */
  redis?: FuzzServer | null;
  /** Run this many batches (each: set-up, then `batchSize` commands, then `protocolCases` cases)... */
  batches?: number;
  /** ...or until this time (ms since the epoch). */
  until?: number;
  /** Start at this batch number (replay one batch: firstBatch = B, batches = 1). */
  firstBatch?: number;
  batchSize?: number;
  protocolCases?: number;
  /** Protocol cases run side by side, this many at a time. */
  parallel?: number;
  /** A batch (or a watchdog PING) not answered in this time is a hang. */
  deadlineMs?: number;
  targets: FuzzTarget[];
  /** Called after each batch (progress). */
  onBatch?(r: FuzzReport): void;
}

export interface FuzzReport {
  seed: number;
  batches: number;
  commands: number;
  protocolCases: number;
  /** How many times each target was called. */
  calls: Map<string, number>;
  findings: Finding[];
  /** Slowest watchdog PING round trip, ms. */
  maxPingMs: number;
  /** Set when the run stopped at a crash or hang (the server can no longer be trusted). */
  stoppedBy?: Finding;
}

/** Divergences are grouped: the first input per (command, Cairn error, Redis error) is kept. */
function divergenceKey(name: string, mine: string | null, ref: string | null): string {
  const norm = (s: string | null): string => (s === null ? 'ok' : s.replace(/'[^']*'/g, "'…'").slice(0, 80));
  return `${name}|${norm(mine)}|${norm(ref)}`;
}

/**
 * Keys that may have expired by now: a key given a time to live in this batch (milliseconds are
 * common inputs) expires at a moment that differs between the two servers, so what commands on it
 * answer is not compared. Commands that name such a key taint the other keys they name (RENAME,
 * COPY, SMOVE, ... carry the time to live or the data along).
 */
class VolatileKeys {
  private readonly keys = new Set<string>();

  /** True if `args` names a key that may have expired; notes what it sets a time to live on. */
  touches(args: Buffer[]): boolean {
    const name = args[0]!.toString('latin1').toLowerCase();
    const words = args.map((a) => a.toString('latin1'));
    const sets = /expire|setex|getex/.test(name) || (name === 'set' && words.some((w) => /^(ex|px|exat|pxat)$/i.test(w)));
    const hit = words.some((w) => this.keys.has(w));
    if (sets || hit) for (const w of words.slice(1)) this.keys.add(w);
    return hit;
  }
}

/** A client that PINGs all along, and the slowest answer it got. */
class Watchdog {
  maxMs = 0;
  failed: string | null = null;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  /** PINGs go one at a time (the loop's and checkServer's share the connection). */
  private last: Promise<boolean> = Promise.resolve(true);
  constructor(private readonly conn: Conn, private readonly deadlineMs: number) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped && !this.failed) {
        await this.ping();
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }

  ping(): Promise<boolean> {
    this.last = this.last.then(() => this.pingOnce());
    return this.last;
  }

  private async pingOnce(): Promise<boolean> {
    if (this.failed) return false;
    const t0 = performance.now();
    this.conn.write('*1\r\n$4\r\nPING\r\n');
    const { replies } = await this.conn.replies(1, this.deadlineMs);
    const ms = performance.now() - t0;
    this.maxMs = Math.max(this.maxMs, ms);
    if (replies[0]?.toString() !== '+PONG\r\n') {
      this.failed = replies.length === 0
        ? `no PONG in ${this.deadlineMs} ms${this.conn.closed ? ' (connection closed)' : ''}`
        : `PING got ${show(replies[0]!)}`;
    }
    return !this.failed;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.conn.close();
  }
}

export async function fuzz(o: FuzzOptions): Promise<FuzzReport> {
  const batchSize = o.batchSize ?? 100;
  const protoCases = o.protocolCases ?? 20;
  const parallel = o.parallel ?? 8;
  const deadline = o.deadlineMs ?? 10_000;
  const report: FuzzReport = {
    seed: o.seed, batches: 0, commands: 0, protocolCases: 0, calls: new Map(), findings: [], maxPingMs: 0,
  };
  const seen = new Set<string>();
  const record = (f: Finding, key = `${f.kind}|${f.what}`): void => {
    if (seen.has(key)) return;
    seen.add(key);
    report.findings.push(f);
  };
  const watchdog = new Watchdog(await Conn.open(o.cairn.port), deadline);
  watchdog.start();
  const main = await Conn.open(o.cairn.port);
  const ref = o.redis ? await Conn.open(o.redis.port) : null;
  const setup = populateCommands();
  let next = o.firstBatch ?? 0;
  const last = o.batches === undefined ? Infinity : next + o.batches;
  // A crash or hang stops the run: the server is not trustworthy after either.
  const fatal = (f: Finding): void => {
    record(f);
    report.stoppedBy ??= f;
  };
  const checkServer = async (at: string, input: string): Promise<boolean> => {
    if (!o.cairn.alive()) {
      fatal({ kind: 'crash', what: 'the server process exited', input, seed: o.seed, at });
      return false;
    }
    if (!(await watchdog.ping())) {
      fatal({ kind: 'starved', what: `another client: ${watchdog.failed}`, input, seed: o.seed, at });
      return false;
    }
    return true;
  };
  try {
    for (; next < last && (o.until === undefined || Date.now() < o.until) && !report.stoppedBy; next++) {
      const at = `batch ${next}`;
      const r = new Rng(subSeed(o.seed, 0, next));
      const cmds: Buffer[][] = [];
      const aside: Buffer[][] = [];
      const names: string[] = [];
      for (let i = 0; i < batchSize; i++) {
        // The first batches walk the whole table in order, so every command runs in every run.
        const t = next * batchSize + i < o.targets.length ? o.targets[next * batchSize + i]! : r.pick(o.targets);
        const args = randomCommand(r, t);
        report.calls.set(t.spec.name, (report.calls.get(t.spec.name) ?? 0) + 1);
        if (t.throwaway) aside.push(args);
        else {
          cmds.push(args);
          names.push(t.spec.name);
        }
      }
      const mine = await runBatch(main, setup, cmds, deadline);
      const theirs = ref ? await runBatch(ref, setup, cmds, deadline) : null;
      report.commands += cmds.length;
      if (mine.replies.length < cmds.length) {
        // The reply stream is lost: a crash, a hang, or bytes that are not RESP.
        const input = show(cmds[mine.replies.length] ?? []);
        if (!o.cairn.alive()) fatal({ kind: 'crash', what: 'the server process exited', input, seed: o.seed, at });
        else if (mine.invalid !== undefined) fatal({ kind: 'bad-reply', what: mine.invalid, input, seed: o.seed, at });
        else fatal({ kind: 'hang', what: `${cmds.length - mine.replies.length} of ${cmds.length} commands unanswered after ${deadline} ms (the first is the input)`, input, seed: o.seed, at });
        break;
      }
      if (mine.extra) record({ kind: 'bad-reply', what: `more replies than commands: ${show(mine.extra)}`, input: show(cmds.at(-1)!), seed: o.seed, at });
      const volatile = new VolatileKeys();
      for (let i = 0; i < cmds.length; i++) {
        const a = mine.replies[i]!;
        const mineErr = errorText(a);
        if (mineErr?.includes('internal error')) {
          record({ kind: 'bad-reply', what: mineErr, input: show(cmds[i]!), seed: o.seed, at }, `internal|${names[i]}|${mineErr}`);
        }
        if (!theirs || i >= theirs.replies.length || volatile.touches(cmds[i]!)) continue;
        const refErr = errorText(theirs.replies[i]!);
        if (mineErr === refErr || (mineErr === null && refErr === null)) continue;
        const key = divergenceKey(names[i]!, mineErr, refErr);
        record({
          kind: 'divergence', seed: o.seed, at, input: show(cmds[i]!),
          what: `Cairn: ${mineErr ?? show(a)}  Redis: ${refErr ?? show(theirs.replies[i]!)}`,
        }, key);
      }
      for (const args of aside) {
        const f = await runAside(o, args, deadline);
        if (f?.kind === 'divergence') record({ ...f, seed: o.seed, at, input: show(args) }, `aside|${f.what}`);
        else if (f) fatal({ ...f, seed: o.seed, at, input: show(args) });
      }
      if (report.stoppedBy || !(await checkServer(at, show(cmds.at(-1) ?? [])))) break;
      // Protocol cases, `parallel` at a time, each on its own connections.
      for (let c = 0; c < protoCases && !report.stoppedBy; c += parallel) {
        const group: Promise<void>[] = [];
        for (let k = c; k < Math.min(protoCases, c + parallel); k++) {
          const caseNo = next * protoCases + k;
          group.push(runProtocolCase(o, caseNo, deadline).then((f) => {
            report.protocolCases++;
            if (f) record({ ...f, seed: o.seed, at: `batch ${next}, protocol case ${caseNo}` }, f.kind === 'divergence' ? `proto|${f.what.slice(0, 120)}` : undefined);
          }));
        }
        await Promise.all(group);
        if (!(await checkServer(`batch ${next}, protocol cases`, ''))) break;
      }
      report.batches++;
      o.onBatch?.(report);
    }
  } finally {
    report.maxPingMs = Math.round(watchdog.maxMs);
    await watchdog.stop();
    main.close();
    ref?.close();
  }
  return report;
}

interface BatchResult {
  replies: Buffer[];
  invalid?: string;
  /** Bytes after the last expected reply. */
  extra?: Buffer;
}

/** Sends the set-up and the batch as one pipeline; returns the batch's replies. */
async function runBatch(c: Conn, setup: string[][], cmds: Buffer[][], deadline: number): Promise<BatchResult> {
  c.write(Buffer.concat([...setup.map((s) => encodeCommand(...s)), ...cmds.map((a) => encodeCommand(...a))]));
  const pre = await c.replies(setup.length, deadline);
  if (pre.replies.length < setup.length) return { replies: [], invalid: pre.invalid ?? 'no reply to the set-up commands' };
  const got = await c.replies(cmds.length, deadline);
  // Anything more within a moment is a reply no command asked for.
  if (got.replies.length === cmds.length) await c.settle(0, 10);
  const extra = c.pending.length > 0 ? Buffer.from(c.pending) : undefined;
  return { ...got, extra };
}

/**
 * A command that closes connections, on connections of its own. CLIENT KILL's filters get
 * `ID <its own id>` added, so it can only ever kill the connection it runs on.
 */
async function runAside(o: FuzzOptions, args: Buffer[], deadline: number): Promise<Omit<Finding, 'seed' | 'at' | 'input'> | null> {
  const once = async (s: FuzzServer): Promise<{ reply: string; closed: boolean }> => {
    const c = await Conn.open(s.port);
    try {
      const a = [...args];
      if (a.length > 3 && a[0]!.toString().toLowerCase() === 'client') {
        const id = (await call(c, ['CLIENT', 'ID'])).toString().slice(1).trim();
        a.push(Buffer.from('ID'), Buffer.from(id));
      }
      c.write(encodeCommand(...a));
      const { replies, invalid } = await c.replies(1, deadline);
      if (invalid) return { reply: 'invalid: ' + invalid, closed: c.closed };
      // Open or closing? A PING tells: a connection that stays open answers it.
      c.write('*1\r\n$4\r\nPING\r\n');
      await c.settle(deadline, 0, () => c.pending.length > 0);
      return { reply: replies[0] ? show(replies[0]) : '(none)', closed: c.closed };
    } finally {
      c.close();
    }
  };
  const mine = await once(o.cairn);
  if (mine.reply === '(none)' && !mine.closed) return { kind: 'hang', what: `no reply in ${deadline} ms` };
  if (mine.reply.startsWith('invalid')) return { kind: 'bad-reply', what: mine.reply };
  if (!o.redis) return null;
  const theirs = await once(o.redis);
  const sameKind = mine.reply.startsWith('"-') === theirs.reply.startsWith('"-');
  if (mine.closed !== theirs.closed || !sameKind || (mine.reply.startsWith('"-') && mine.reply !== theirs.reply)) {
    return { kind: 'divergence', what: `Cairn: ${mine.reply} closed=${mine.closed}  Redis: ${theirs.reply} closed=${theirs.closed}` };
  }
  return null;
}

/** Sends one protocol case in chunks; the replies must be RESP, and match Redis' where one runs. */
async function runProtocolCase(o: FuzzOptions, caseNo: number, deadline: number): Promise<Omit<Finding, 'seed' | 'at'> | null> {
  const pc = protocolCase(new Rng(subSeed(o.seed, 1, caseNo)), `fz:p${caseNo}`);
  const input = show(pc.bytes) + ` in chunks ${JSON.stringify(pc.chunks)}`;
  // Redis gets the bytes in one write: one that closes a connection with input still unread sends
  // a TCP reset, which can discard its own last replies before the client reads them.
  const send = async (s: FuzzServer, chunks: number[]): Promise<Conn> => {
    const c = await Conn.open(s.port);
    let off = 0;
    for (const n of chunks) {
      c.write(pc.bytes.subarray(off, off + n));
      off += n;
      if (n < 4) await new Promise((r) => setImmediate(r)); // separate reads for the smallest pieces
    }
    // After an input that ends at a command boundary, the connection must still serve commands.
    if (pc.thenPing) c.write('*1\r\n$4\r\nPING\r\n');
    return c;
  };
  const theirs = o.redis ? await send(o.redis, [pc.bytes.length]) : null;
  const mine = await send(o.cairn, pc.chunks);
  try {
    // Cairn answers through its shards: wait until it has said as much as Redis (or closed alike),
    // or, without Redis, until the PING after whole commands is answered. Where the two differ,
    // look again twice (a busy machine may have delayed either).
    const pong = (): boolean => mine.pending.subarray(-7).toString() === '+PONG\r\n';
    const same = (): boolean => theirs !== null && mine.received === theirs.received && mine.closed === theirs.closed;
    for (let round = 0; round < 3 && (round === 0 || !same()); round++) {
      if (theirs) await theirs.settle(round === 0 ? deadline : 500, 50);
      if (theirs) await mine.settle(2000, 30, () => mine.received >= theirs.received && mine.closed === theirs.closed);
      else await mine.settle(pc.thenPing ? deadline : 100, 50, pc.thenPing ? pong : undefined);
    }
    const got = await mine.replies(Infinity, 0);
    if (got.invalid) return { kind: 'bad-reply', what: got.invalid, input };
    if (pc.thenPing && !mine.closed && got.replies.at(-1)?.toString() !== '+PONG\r\n') {
      return { kind: 'hang', what: `a PING after whole commands was not answered (got ${got.replies.length} replies)`, input };
    }
    if (!theirs) return null;
    const a = Buffer.concat(got.replies).toString('latin1');
    const b = theirs.pending.toString('latin1');
    if (a !== b || mine.closed !== theirs.closed) {
      return { kind: 'divergence', what: `Cairn: ${JSON.stringify(a.slice(0, 300))} closed=${mine.closed}  Redis: ${JSON.stringify(b.slice(0, 300))} closed=${theirs.closed}`, input };
    }
    return null;
  } finally {
    mine.close();
    theirs?.close();
  }
}

/** Prints a report (both runs use it). */
export function formatReport(r: FuzzReport, seconds: number): string {
  const by = (k: FindingKind): Finding[] => r.findings.filter((f) => f.kind === k);
  const lines = [
    `seed ${r.seed}: ${r.batches} batches, ${r.commands} commands over ${r.calls.size} commands and subcommands, ` +
      `${r.protocolCases} protocol cases in ${seconds.toFixed(1)} s; slowest watchdog PING ${r.maxPingMs} ms`,
    `crashes ${by('crash').length}, hangs ${by('hang').length + by('starved').length}, bad replies ${by('bad-reply').length}, divergences from Redis ${by('divergence').length}`,
  ];
  for (const f of r.findings) lines.push(`  [${f.kind}] seed ${f.seed}, ${f.at}: ${f.what}\n      input: ${f.input}`);
  return lines.join('\n');
}

/** Crashes, hangs, starved clients and bad replies: what fails a run. */
export function failures(r: FuzzReport): Finding[] {
  return r.findings.filter((f) => f.kind !== 'divergence');
}
