/**
 * Protocol robustness against the real server: inline commands, malformed input (Redis' exact
 * error, then only that connection closes), partial commands, the request-size limits,
 * maxclients, a large pipeline in one write and a large value.
 *
 * The expected bytes are Redis 7.0's; where a redis-server is installed, the last block checks
 * that it really answers them.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { RawClient } from './helpers/raw.js';
import { connect } from './helpers/client.js';
import { startOracle, hasRedis, type OracleServer } from './helpers/oracle.js';
import { PROTO_INLINE_MAX_SIZE } from '../src/server/resp/decoder.js';
import { keyShard } from '../src/server/slot.js';
import { lookupCommand } from '../src/commands/table.js';

const MB = 1024 * 1024;
const OVER_INLINE_MAX = PROTO_INLINE_MAX_SIZE + 6 * 1024;

/** A RESP multibulk request. */
function cmd(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function bulk(s: string): string {
  return `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
}

/** Test inputs are byte strings: one char per byte. */
const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Malformed requests with Redis' reply; after it the server closes the connection. */
const MALFORMED: [name: string, input: string, reply: string][] = [
  ['a non-numeric multibulk count', '*abc\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
  ['a multibulk count with a leading zero', '*01\r\n$4\r\nPING\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
  ['a multibulk count with a plus sign', '*+1\r\n$4\r\nPING\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
  ['a multibulk count of -0', '*-0\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
  ['a multibulk count over INT_MAX', '*2147483648\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
  ['count lines end at CR, not LF', '*1\n$4\nPING\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
  ['the byte after a CR is skipped unchecked', '*1\r$4\r\nPING\r\n', '-ERR Protocol error: expected \'$\', got \'4\'\r\n'],
  ['a simple string inside a multibulk', '*2\r\n+GET\r\n', '-ERR Protocol error: expected \'$\', got \'+\'\r\n'],
  ['a CR where $ belongs (shown as a space)', '*1\r\n\r\n\r\n', '-ERR Protocol error: expected \'$\', got \' \'\r\n'],
  ['a negative bulk length', '*1\r\n$-5\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
  ['a null bulk string in a request', '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-1\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
  ['a non-numeric bulk length', '*1\r\n$x\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
  ['a bulk length with a leading zero', '*1\r\n$04\r\nPING\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
  ['a bulk length that overflows', '*1\r\n$99999999999999999999\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
  ['an unclosed double quote inline', 'SET "a b\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
  ['a closing quote followed by a letter', 'SET "a"b\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
  ['an unclosed single quote inline', 'SET \'a\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
  ['an inline line over 64 KB without a newline', 'x'.repeat(OVER_INLINE_MAX), '-ERR Protocol error: too big inline request\r\n'],
  ['a multibulk count line over 64 KB', '*' + '1'.repeat(OVER_INLINE_MAX), '-ERR Protocol error: too big mbulk count string\r\n'],
  ['a bulk count line over 64 KB', '*1\r\n$' + '1'.repeat(OVER_INLINE_MAX), '-ERR Protocol error: too big bulk count string\r\n'],
  ['an error after good commands (they are answered, later ones are not run)',
    'PING\r\n*1\r\n$4\r\nPING\r\n*z\r\nPING\r\n', '+PONG\r\n+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n'],
];

/** Well-formed (if unusual) requests with Redis' replies; the connection stays open. */
const ACCEPTED: [name: string, input: string, reply: string][] = [
  ['inline PING', 'PING\r\n', '+PONG\r\n'],
  ['inline PING ended by LF only', 'PING\n', '+PONG\r\n'],
  ['empty and blank inline lines are skipped', '\r\n\n   \r\nPING\r\n', '+PONG\r\n'],
  ['inline double quotes with escapes', 'ECHO "a b\\x41\\n"\r\n', '$5\r\na bA\n\r\n'],
  ['inline single quotes', 'ECHO \'it\\\'s\'\r\n', '$4\r\nit\'s\r\n'],
  ['\\v and \\f inside an inline argument belong to it', '\x0bECHO a\x0cb\r\n', '$3\r\na\x0cb\r\n'],
  ['inline then multibulk in one write', 'PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n', '+PONG\r\n$2\r\nhi\r\n'],
  ['multibulk counts of -1 and 0 are skipped', '*-1\r\n*0\r\n*1\r\n$4\r\nPING\r\n', '+PONG\r\n'],
  ['the two bytes after bulk data are not checked', '*1\r\n$4\r\nPINGxx', '+PONG\r\n'],
  ['an empty command name', '*1\r\n$0\r\n\r\n', '-ERR unknown command \'\', with args beginning with: \r\n'],
  ['CR and LF in an error text become spaces', '*1\r\n$4\r\na\r\nb\r\n', '-ERR unknown command \'a  b\', with args beginning with: \r\n'],
  ['an error text echoes raw bytes, not decoded UTF-8', '*2\r\n$2\r\n\xc3\xa9\r\n$2\r\n\xff\x80\r\n',
    '-ERR unknown command \'\xc3\xa9\', with args beginning with: \'\xff\x80\' \r\n'],
  ['an error text ends each argument at a NUL byte', '*3\r\n$3\r\nf\0o\r\n$3\r\na\0b\r\n$1\r\nc\r\n',
    '-ERR unknown command \'f\', with args beginning with: \'a\' \'c\' \r\n'],
  ['an error text cuts the name at 128 bytes', `*1\r\n$200\r\n${'\xc3\xa9'.repeat(100)}\r\n`,
    `-ERR unknown command '${'\xc3\xa9'.repeat(64)}', with args beginning with: \r\n`],
  // Found by the fuzzer (bench/fuzz.ts):
  ['an error text drops CR and LF at its end', 'PEXPIRE k 1 "x\\r\\n"\r\n', '-ERR Unsupported option x\r\n'],
  ['an option in an error text ends at a NUL byte', 'PEXPIRE k 1 "\\x00y"\r\n', '-ERR Unsupported option \r\n'],
  ['CONFIG SET echoes an unknown name\'s raw bytes', 'CONFIG SET "\\xe9\\xff" 1\r\n',
    '-ERR Unknown option or number of arguments for CONFIG SET - \'\xe9\xff\'\r\n'],
  ['CONFIG SET ends an unknown name at a NUL byte', 'CONFIG SET "ab\\x00cd" 1\r\n',
    '-ERR Unknown option or number of arguments for CONFIG SET - \'ab\'\r\n'],
  ['SELECT past a C int', 'SELECT 4294967296\r\n', '-ERR value is out of range, value must between -2147483648 and 2147483647\r\n'],
  ['SELECT past a long long', 'SELECT 9223372036854775808\r\n', '-ERR value is not an integer or out of range\r\n'],
  ['SELECT -1', 'SELECT -1\r\n', '-ERR DB index is out of range\r\n'],
  ['HELLO echoes an unknown option\'s raw bytes', 'HELLO 2 "\\xf1"\r\n', '-ERR Syntax error in HELLO option \'\xf1\'\r\n'],
  ['CLIENT LIST TYPE echoes raw bytes', 'CLIENT LIST TYPE "\\xf1"\r\n', '-ERR Unknown client type \'\xf1\'\r\n'],
];

/** Sends `input` on a fresh connection and returns everything received once the server closes it. */
async function replyThenClose(port: number, input: string | Buffer): Promise<{ reply: string; closed: boolean }> {
  const c = await RawClient.connect(port);
  try {
    c.write(typeof input === 'string' ? bytes(input) : input);
    const closed = await c.waitClosed(10_000);
    return { reply: c.pending(), closed };
  } finally {
    c.close();
  }
}

/** Sends each case's input in turn on one connection and reads as many bytes as its reply has. */
async function exchangeAll(port: number, cases: typeof ACCEPTED): Promise<{ replies: string[]; open: boolean }> {
  const c = await RawClient.connect(port);
  try {
    const replies: string[] = [];
    for (const [, input, reply] of cases) {
      c.write(bytes(input));
      replies.push(await c.readLike(reply));
    }
    c.write('PING\r\n');
    const open = (await c.readLike('+PONG\r\n')) === '+PONG\r\n';
    return { replies, open };
  } finally {
    c.close();
  }
}

/** Index of the first byte where a and b differ, or -1. */
function firstDifference(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return i;
  return a.length === b.length ? -1 : n;
}

/** A small seeded PRNG (mulberry32), so a failing pipeline can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Waits until the server has replied to something on the connection (it is registered). */
async function registered(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  c.write('PING\r\n');
  expect(await c.readLike('+PONG\r\n')).toBe('+PONG\r\n');
  return c;
}

describe.each([1, 4])('protocol robustness (%i shards)', (shards) => {
  let srv: TestServer;
  let bystander: Redis;

  beforeAll(async () => {
    srv = await startServer({ shards });
    bystander = connect(srv.port);
    await bystander.set('bystander', 'still here');
  });
  afterAll(async () => {
    bystander?.disconnect();
    expect(await srv?.stop()).toBe(0);
  });

  it('answers inline and unusual but valid requests as Redis does, and keeps the connection', async () => {
    const { replies, open } = await exchangeAll(srv.port, ACCEPTED);
    expect(replies).toEqual(ACCEPTED.map(([, , reply]) => reply));
    expect(open).toBe(true);
  });

  it.each(MALFORMED)('%s: Redis\' error, then that connection (only) is closed', async (_name, input, reply) => {
    expect(await replyThenClose(srv.port, input)).toEqual({ reply, closed: true });
    expect(await bystander.get('bystander')).toBe('still here');
  });

  it('an unterminated multibulk command waits for the rest, and a client that leaves mid-command leaves no trace', async () => {
    const c = await RawClient.connect(srv.port);
    const request = cmd('SET', 'partial', 'complete');
    c.write(request.subarray(0, 20));
    // Give the server every chance to (wrongly) answer or close before the rest comes.
    await new Promise((r) => setTimeout(r, 200));
    expect(c.pending()).toBe('');
    expect(c.closed).toBe(false);
    c.write(request.subarray(20));
    expect(await c.readLike('+OK\r\n')).toBe('+OK\r\n');

    // A huge announced count, then another half command, then the client goes away.
    c.write('*1048576\r\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(c.pending()).toBe('');
    c.close();
    const d = await RawClient.connect(srv.port);
    d.write(cmd('SET', 'partial', 'overwritten').subarray(0, 25));
    d.close();
    expect(await bystander.get('partial')).toBe('complete');
  });

  it('answers a 10,000-command pipeline sent in one write, over keys on every shard, in request order', async () => {
    const hasIncr = lookupCommand('incr') !== undefined;
    const keys = Array.from({ length: 64 }, (_, i) => `pipe:${i}`);
    expect(new Set(keys.map((k) => keyShard(Buffer.from(k), shards))).size).toBe(shards);
    const ops = hasIncr ? ['set', 'get', 'incr', 'del'] : ['set', 'get', 'del'];
    const rnd = prng(20240501 + shards);
    const model = new Map<string, number>();
    const requests: Buffer[] = [];
    let expected = '';
    for (let i = 0; i < 10_000; i++) {
      const key = keys[Math.floor(rnd() * keys.length)]!;
      const op = ops[Math.floor(rnd() * ops.length)]!;
      if (op === 'set') {
        const v = Math.floor(rnd() * 1_000_000);
        model.set(key, v);
        requests.push(cmd('SET', key, String(v)));
        expected += '+OK\r\n';
      } else if (op === 'get') {
        const v = model.get(key);
        requests.push(cmd('GET', key));
        expected += v === undefined ? '$-1\r\n' : bulk(String(v));
      } else if (op === 'incr') {
        const v = (model.get(key) ?? 0) + 1;
        model.set(key, v);
        requests.push(cmd('INCR', key));
        expected += `:${v}\r\n`;
      } else {
        requests.push(cmd('DEL', key));
        expected += `:${model.delete(key) ? 1 : 0}\r\n`;
      }
    }
    const c = await RawClient.connect(srv.port);
    c.write(Buffer.concat(requests));
    const got = await c.readLike(expected, 20_000);
    c.close();
    const at = firstDifference(got, expected);
    expect(at === -1 ? '' : `at byte ${at}: got ${JSON.stringify(got.slice(at, at + 40))}`).toBe('');
  });

  it('round-trips a 5 MB binary value, also between small commands in one write', async () => {
    const value = randomBytes(5 * MB);
    expect(await bystander.set('big', value)).toBe('OK');
    expect((await bystander.getBuffer('big'))!.equals(value)).toBe(true);

    const other = randomBytes(5 * MB);
    const c = await RawClient.connect(srv.port);
    c.write(Buffer.concat([cmd('SET', 'small', 'x'), cmd('SET', 'big2', other), cmd('GET', 'small'), cmd('PING')]));
    const expected = '+OK\r\n+OK\r\n$1\r\nx\r\n+PONG\r\n';
    expect(await c.readLike(expected)).toBe(expected);
    c.close();
    expect((await bystander.getBuffer('big2'))!.equals(other)).toBe(true);
  });
});

describe.each([1, 4])('request limits (%i shards)', (shards) => {
  it('proto-max-bulk-len: a longer bulk string is a protocol error, one of exactly that length is fine', async () => {
    const srv = await startServer({ shards, args: ['--proto-max-bulk-len', '1mb'] });
    try {
      expect(await replyThenClose(srv.port, `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${MB + 1}\r\n`))
        .toEqual({ reply: '-ERR Protocol error: invalid bulk length\r\n', closed: true });
      const r = connect(srv.port);
      const value = randomBytes(MB);
      expect(await r.set('k', value)).toBe('OK');
      expect((await r.getBuffer('k'))!.equals(value)).toBe(true);
      r.disconnect();
    } finally {
      await srv.stop();
    }
  });

  it('client-query-buffer-limit: an argument arriving past it closes the client without a reply; parsed arguments do not count', async () => {
    const srv = await startServer({ shards, args: ['--client-query-buffer-limit', '1mb'] });
    try {
      const r = connect(srv.port);
      const half = Buffer.alloc(900 * 1024, 'a');
      // 1.8 MB in one command, but no single argument near the limit: Redis serves it.
      expect(await r.set(half, half)).toBe('OK');

      const big = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${2 * MB}\r\n`), Buffer.alloc(1.5 * MB, 'b')]);
      expect(await replyThenClose(srv.port, big)).toEqual({ reply: '', closed: true });
      expect(await r.get('k')).toBe(null);
      expect((await r.getBuffer(half))!.equals(half)).toBe(true);
      r.disconnect();
    } finally {
      await srv.stop();
    }
  });

  it('maxclients: the connection past the limit gets Redis\' error and is closed; a freed place is usable', async () => {
    const srv = await startServer({ shards, args: ['--maxclients', '2'] });
    try {
      const a = await registered(srv.port);
      const b = await registered(srv.port);
      expect(await replyThenClose(srv.port, '')).toEqual({ reply: '-ERR max number of clients reached\r\n', closed: true });
      a.close();
      // The server learns of the close asynchronously: retry until the freed place is taken.
      let reply = '';
      for (let i = 0; i < 50 && reply !== '+PONG\r\n'; i++) {
        const c = await RawClient.connect(srv.port);
        c.write('PING\r\n');
        reply = await c.read(7);
        c.close();
      }
      expect(reply).toBe('+PONG\r\n');
      b.close();
    } finally {
      await srv.stop();
    }
  });
});

describe.skipIf(!hasRedis())('the expected bytes are what redis-server answers', () => {
  let oracle: OracleServer;
  beforeAll(async () => {
    oracle = (await startOracle())!;
  });
  afterAll(async () => {
    await oracle?.stop();
  });

  it.each(MALFORMED)('%s', async (_name, input, reply) => {
    expect(await replyThenClose(oracle.port, input)).toEqual({ reply, closed: true });
  });

  it('well-formed requests', async () => {
    const { replies, open } = await exchangeAll(oracle.port, ACCEPTED);
    expect(replies).toEqual(ACCEPTED.map(([, , reply]) => reply));
    expect(open).toBe(true);
  });
});
