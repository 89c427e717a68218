/**
 * Hash commands through a real client (ioredis) against the compiled server with 1 and 4 shards:
 * exact Redis 7.0 replies and errors, checked against hard-coded expectations and, when
 * /usr/bin/redis-server exists, reply for reply against a real redis-server.
 *
 * Redis returns small hashes in insertion order and Cairn in field byte order, so replies whose
 * order Redis leaves unspecified (HGETALL, HKEYS, HVALS, HSCAN pages) are compared sorted.
 *
 * HELLO is not on this branch yet, so RESP3 replies are checked by running the shard handlers
 * directly on a real Store with a RESP3 ReplyWriter (and compared with redis-server's bytes).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Redis } from 'ioredis';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, tempDir, type TestServer } from './helpers/server.js';
import { RawClient } from './helpers/raw.js';
import { startOracle, REDIS_SERVER, type OracleServer as Oracle } from './helpers/oracle.js';
import { run, type Reply, scriptMismatches } from './helpers/script.js';
import { Store } from '../src/storage/store.js';
import { ReplyWriter } from '../src/server/resp/writer.js';
import { lookupCommand } from '../src/commands/table.js';
import { CommandError } from '../src/commands/errors.js';
import { MAX_RANDOM_REPLY } from '../src/commands/hash.js';

// ------------------------------------------------------------------ helpers

const STORE_OPTIONS = { rowCacheSize: 0, cacheSize: 1 << 20, writeBufferSize: 64 * 1024, maxOpenFiles: 64, compression: false };

const err = (text: string): { error: string } => ({ error: text });

/** A client speaking RESP2 (ioredis defaults to HELLO 3 where the server has it), or RESP3 when asked. */
function newClient(port: number, protocol: 2 | 3 = 2): Redis {
  return new Redis(port, { lazyConnect: false, maxRetriesPerRequest: 0, enableReadyCheck: false, protocol });
}

/** Flat [k1, v1, k2, v2, ...] sorted by key (then value): for replies in unspecified order. */
function sortPairs(r: Reply): Reply {
  if (!Array.isArray(r)) return r;
  const pairs: [string, string][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([String(r[i]), String(r[i + 1])]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.flat();
}

function sortItems(r: Reply): Reply {
  return Array.isArray(r) ? [...r].map(String).sort() : r;
}

/** An HSCAN reply with its page sorted (only for pages that end the iteration). */
function sortScan(r: Reply): Reply {
  return Array.isArray(r) && r.length === 2 ? [r[0]!, sortPairs(r[1]!)] : r;
}

type Normalize = (r: Reply) => Reply;
const PAIRS: Normalize = sortPairs;
const ITEMS: Normalize = sortItems;
const SCAN: Normalize = sortScan;

const WRONGTYPE = err('WRONGTYPE Operation against a key holding the wrong kind of value');
const SYNTAX = err('ERR syntax error');
const NOT_INT = err('ERR value is not an integer or out of range');
const NOT_FLOAT = err('ERR value is not a valid float');
const OVERFLOW = err('ERR increment or decrement would overflow');
const HASH_NOT_INT = err('ERR hash value is not an integer');
const HASH_NOT_FLOAT = err('ERR hash value is not a float');
const NAN_INF_ARG = err('ERR value is NaN or Infinity');
const NAN_INF = err('ERR increment would produce NaN or Infinity');
const OUT_OF_RANGE = err('ERR value is out of range');
const COUNT_RANGE = err('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
const INVALID_CURSOR = err('ERR invalid cursor');
const wrongArgs = (cmd: string): { error: string } => err(`ERR wrong number of arguments for '${cmd}' command`);

/**
 * The reference script: [command, expected reply, normalizer]. `undefined` means "only compared
 * with redis-server". Runs top to bottom on one database.
 */
const SCRIPT: [(string | Buffer)[], Reply | undefined, Normalize?][] = [
  [['set', 's', 'string'], 'OK'],
  // HSET / HMSET / HSETNX
  [['hset', 'h1', 'f1', 'v1'], 1],
  [['hset', 'h1', 'f1', 'v2', 'f2', 'v2'], 1],
  [['hset', 'h1', 'f3', 'v3', 'f3', 'v4'], 1],
  [['hget', 'h1', 'f1'], 'v2'],
  [['hget', 'h1', 'f3'], 'v4'],
  [['hset', 'h1'], wrongArgs('hset')],
  [['hset', 'h1', 'f'], wrongArgs('hset')],
  [['hset', 'h1', 'f', 'v', 'x'], wrongArgs('hset')],
  [['hset', 'h1', 'a', '1', 'b', '2', 'c'], wrongArgs('hset')],
  [['hset', 's', 'f', 'v'], WRONGTYPE],
  [['hset', 's', 'f', 'v', 'x'], wrongArgs('hset')],
  [['hmset', 'h1', 'a', '1', 'b', '2'], 'OK'],
  [['hmset', 'h1', 'a'], wrongArgs('hmset')],
  [['hmset', 'h1', 'a', '1', 'b'], wrongArgs('hmset')],
  [['hmset', 's', 'a', '1'], WRONGTYPE],
  [['hsetnx', 'h1', 'a', 'x'], 0],
  [['hget', 'h1', 'a'], '1'],
  [['hsetnx', 'h1', 'new', 'x'], 1],
  [['hsetnx', 'nx1', 'f', 'v'], 1],
  [['hgetall', 'nx1'], ['f', 'v']],
  [['hsetnx', 's', 'f', 'v'], WRONGTYPE],
  [['hsetnx', 'h1', 'f'], wrongArgs('hsetnx')],
  [['hset', 'h1', '', 'empty-field', 'ev', ''], 2],
  [['hget', 'h1', ''], 'empty-field'],
  [['hget', 'h1', 'ev'], ''],
  // HGET / HMGET
  [['hget', 'h1', 'nofield'], null],
  [['hget', 'nokey', 'f'], null],
  [['hget', 's', 'f'], WRONGTYPE],
  [['hget', 'h1'], wrongArgs('hget')],
  [['hmget', 'h1', 'a', 'b', 'nofield', 'a'], ['1', '2', null, '1']],
  [['hmget', 'nokey', 'a', 'b'], [null, null]],
  [['hmget', 's', 'a'], WRONGTYPE],
  [['hmget', 'h1'], wrongArgs('hmget')],
  // HLEN / HSTRLEN / HEXISTS
  [['hlen', 'h1'], 8],
  [['hlen', 'nokey'], 0],
  [['hlen', 's'], WRONGTYPE],
  [['hlen', 'h1', 'x'], wrongArgs('hlen')],
  [['hstrlen', 'h1', 'f1'], 2],
  [['hstrlen', 'h1', ''], 11],
  [['hstrlen', 'h1', 'ev'], 0],
  [['hstrlen', 'h1', 'nofield'], 0],
  [['hstrlen', 'nokey', 'f'], 0],
  [['hstrlen', 's', 'f'], WRONGTYPE],
  [['hexists', 'h1', 'f1'], 1],
  [['hexists', 'h1', 'nofield'], 0],
  [['hexists', 'nokey', 'f'], 0],
  [['hexists', 's', 'f'], WRONGTYPE],
  // HGETALL / HKEYS / HVALS
  [['hgetall', 'h1'], ['', 'empty-field', 'a', '1', 'b', '2', 'ev', '', 'f1', 'v2', 'f2', 'v2', 'f3', 'v4', 'new', 'x'], PAIRS],
  [['hkeys', 'h1'], ['', 'a', 'b', 'ev', 'f1', 'f2', 'f3', 'new'], ITEMS],
  [['hvals', 'h1'], ['', '1', '2', 'empty-field', 'v2', 'v2', 'v4', 'x'], ITEMS],
  [['hgetall', 'nokey'], []],
  [['hkeys', 'nokey'], []],
  [['hvals', 'nokey'], []],
  [['hgetall', 's'], WRONGTYPE],
  [['hkeys', 's'], WRONGTYPE],
  [['hvals', 's'], WRONGTYPE],
  [['hgetall'], wrongArgs('hgetall')],
  // HDEL, and the key goes when its last field does
  [['hdel', 'h1', 'a', 'b', 'nofield', 'a'], 2],
  [['hdel', 'h1', 'a'], 0],
  [['hlen', 'h1'], 6],
  [['hdel', 'nokey', 'f'], 0],
  [['hdel', 's', 'f'], WRONGTYPE],
  [['hdel', 'h1'], wrongArgs('hdel')],
  [['hset', 'hd', 'x', '1', 'y', '2'], 2],
  [['hdel', 'hd', 'x', 'y', 'z'], 2],
  [['hlen', 'hd'], 0],
  [['hgetall', 'hd'], []],
  [['get', 'hd'], null],
  [['set', 'hd', 'now-a-string'], 'OK'],
  [['get', 'hd'], 'now-a-string'],
  // SET replaces a hash; DEL removes one
  [['hset', 'hs', 'f', 'v'], 1],
  [['get', 'hs'], WRONGTYPE],
  [['set', 'hs', 'str'], 'OK'],
  [['hget', 'hs', 'f'], WRONGTYPE],
  [['get', 'hs'], 'str'],
  [['del', 'hs'], 1],
  [['hset', 'hs', 'g', 'w'], 1],
  [['hgetall', 'hs'], ['g', 'w']],
  [['del', 'hs', 'nokey'], 1],
  [['hgetall', 'hs'], []],
  [['hset', 'hs', 'h', 'x'], 1],
  [['hgetall', 'hs'], ['h', 'x']],
  // HINCRBY
  [['hincrby', 'hi', 'n', '5'], 5],
  [['hincrby', 'hi', 'n', '-10'], -5],
  [['hget', 'hi', 'n'], '-5'],
  [['hincrby', 'hi', 'n', 'abc'], NOT_INT],
  [['hincrby', 'hi', 'n', '1.5'], NOT_INT],
  [['hincrby', 'hi', 'n', ' 1'], NOT_INT],
  [['hincrby', 'hi', 'n', '9223372036854775808'], NOT_INT],
  [['hset', 'hi', 'big', '9223372036854775807'], 1],
  [['hincrby', 'hi', 'big', '1'], OVERFLOW],
  [['hincrby', 'hi', 'big', '-1'], 9223372036854775806],
  [['hset', 'hi', 'small', '-9223372036854775808'], 1],
  [['hincrby', 'hi', 'small', '-1'], OVERFLOW],
  [['hincrby', 'hi', 'small', '9223372036854775807'], -1],
  [['hset', 'hi', 'str', 'abc', 'sp', ' 1', 'lz', '01', 'e', '', 'neg0', '-0', 'flt', '1.0'], 6],
  [['hincrby', 'hi', 'str', '1'], HASH_NOT_INT],
  [['hincrby', 'hi', 'sp', '1'], HASH_NOT_INT],
  [['hincrby', 'hi', 'lz', '1'], HASH_NOT_INT],
  [['hincrby', 'hi', 'e', '1'], HASH_NOT_INT],
  [['hincrby', 'hi', 'neg0', '1'], HASH_NOT_INT],
  [['hincrby', 'hi', 'flt', '1'], HASH_NOT_INT],
  [['hincrby', 'hi', 'str', 'x'], NOT_INT],
  [['hincrby', 's', 'f', '1'], WRONGTYPE],
  [['hincrby', 's', 'f', 'x'], NOT_INT],
  [['hincrby', 'hinew', 'f', '3'], 3],
  [['hincrby', 'hinew', 'f', '0'], 3],
  [['hincrby', 'hi', 'n'], wrongArgs('hincrby')],
  // HINCRBYFLOAT (x86-64 long double, as Redis)
  [['hincrbyfloat', 'hf', 'x', '10.5'], '10.5'],
  [['hincrbyfloat', 'hf', 'x', '0.1'], '10.6'],
  [['hincrbyfloat', 'hf', 'x', '-5.0e3'], '-4989.39999999999999991'],
  [['hincrbyfloat', 'hf', 'y', '3.0e3'], '3000'],
  [['hincrbyfloat', 'hf', 'z', '0x10'], '16'],
  [['hincrbyfloat', 'hf', 'z', '-0.0'], '16'],
  [['hincrbyfloat', 'hf', 'x', 'abc'], NOT_FLOAT],
  [['hincrbyfloat', 'hf', 'x', ''], NOT_FLOAT],
  [['hincrbyfloat', 'hf', 'x', 'nan'], NOT_FLOAT],
  [['hincrbyfloat', 'hf', 'x', '1e5000'], NOT_FLOAT],
  [['hincrbyfloat', 'hf', 'x', 'inf'], NAN_INF_ARG],
  [['hincrbyfloat', 'hf', 'x', '-Infinity'], NAN_INF_ARG],
  [['hset', 'hf', 's', 'abc', 'i', '5', 'big', '1e4932', 'inf', 'inf', 'sp', '1 '], 5],
  [['hincrbyfloat', 'hf', 's', '1'], HASH_NOT_FLOAT],
  [['hincrbyfloat', 'hf', 'sp', '1'], HASH_NOT_FLOAT],
  [['hincrbyfloat', 'hf', 'i', '1.5'], '6.5'],
  [['hincrbyfloat', 'hf', 'big', '1e4932'], NAN_INF],
  [['hincrbyfloat', 'hf', 'inf', '1'], NAN_INF],
  [['hget', 'hf', 'big'], '1e4932'],
  [['hincrbyfloat', 's', 'f', '1'], WRONGTYPE],
  [['hincrbyfloat', 's', 'f', 'inf'], NAN_INF_ARG],
  [['hincrbyfloat', 's', 'f', 'abc'], NOT_FLOAT],
  [['hincrby', 'hf', 'i', '1'], HASH_NOT_INT],
  [['hincrbyfloat', 'hi', 'n', '1'], '-4'],
  [['hincrbyfloat', 'hf', 'x'], wrongArgs('hincrbyfloat')],
  // HRANDFIELD: the deterministic cases
  [['hset', 'one', 'f', 'v'], 1],
  [['hrandfield', 'one'], 'f'],
  [['hrandfield', 'one', '1'], ['f']],
  [['hrandfield', 'one', '3', 'withvalues'], ['f', 'v']],
  [['hrandfield', 'one', '-3'], ['f', 'f', 'f']],
  [['hrandfield', 'one', '-2', 'WITHVALUES'], ['f', 'v', 'f', 'v']],
  [['hrandfield', 'one', '0'], []],
  [['hrandfield', 'one', '0', 'withvalues'], []],
  [['hrandfield', 'nokey'], null],
  [['hrandfield', 'nokey', '5'], []],
  [['hrandfield', 'nokey', '-5', 'withvalues'], []],
  [['hrandfield', 'nokey', '0'], []],
  [['hrandfield', 's'], WRONGTYPE],
  [['hrandfield', 's', '1'], WRONGTYPE],
  [['hrandfield', 's', '0'], WRONGTYPE],
  [['hrandfield', 'one', 'x'], NOT_INT],
  [['hrandfield', 'one', '1.5'], NOT_INT],
  [['hrandfield', 'one', '1', 'foo'], SYNTAX],
  [['hrandfield', 'one', '1', 'withvalues', 'x'], SYNTAX],
  [['hrandfield', 'nokey', '1', 'foo'], SYNTAX],
  [['hrandfield', 's', '1', 'foo'], SYNTAX],
  [['hrandfield', 'one', '-9223372036854775808'], COUNT_RANGE],
  [['hrandfield', 'one', '-9223372036854775808', 'foo'], COUNT_RANGE],
  [['hrandfield', 'one', '4611686018427387904', 'withvalues'], OUT_OF_RANGE],
  [['hrandfield', 'one', '-4611686018427387905', 'withvalues'], OUT_OF_RANGE],
  [['hrandfield', 'one', '4611686018427387904', 'foo'], SYNTAX],
  [['hrandfield', 'one', '9223372036854775807'], ['f']],
  [['hrandfield', 'one', '4611686018427387903', 'withvalues'], ['f', 'v']],
  [['hrandfield', 'nokey', '-4611686018427387903', 'withvalues'], []],
  [['hrandfield', 'nokey', '-4611686018427387904', 'withvalues'], OUT_OF_RANGE],
  // HSCAN: small hashes come back whole with cursor 0, whatever the cursor and COUNT
  [['hscan', 'h1', '0'], ['0', ['', 'empty-field', 'ev', '', 'f1', 'v2', 'f2', 'v2', 'f3', 'v4', 'new', 'x']], SCAN],
  [['hscan', 'h1', '0', 'count', '1'], undefined, SCAN],
  [['hscan', 'h1', '0', 'match', 'f*'], ['0', ['f1', 'v2', 'f2', 'v2', 'f3', 'v4']], SCAN],
  [['hscan', 'h1', '0', 'MATCH', 'f[12]', 'COUNT', '100'], ['0', ['f1', 'v2', 'f2', 'v2']], SCAN],
  [['hscan', 'h1', '0', 'match', '*'], undefined, SCAN],
  [['hscan', 'h1', '0', 'match', 'nothing*'], ['0', []]],
  [['hscan', 'h1', '-1'], undefined, SCAN],
  [['hscan', 'h1', ''], undefined, SCAN],
  [['hscan', 'h1', '+0'], undefined, SCAN],
  [['hscan', 'h1', '18446744073709551615'], undefined, SCAN],
  [['hscan', 'h1', 'x'], INVALID_CURSOR],
  [['hscan', 'h1', ' 1'], INVALID_CURSOR],
  [['hscan', 'h1', '1 '], INVALID_CURSOR],
  [['hscan', 'h1', '-'], INVALID_CURSOR],
  [['hscan', 'h1', '18446744073709551616'], INVALID_CURSOR],
  [['hscan', 'h1', '0', 'count', '0'], SYNTAX],
  [['hscan', 'h1', '0', 'count', '-1'], SYNTAX],
  [['hscan', 'h1', '0', 'count', 'x'], NOT_INT],
  [['hscan', 'h1', '0', 'count'], SYNTAX],
  [['hscan', 'h1', '0', 'match'], SYNTAX],
  [['hscan', 'h1', '0', 'type', 'string'], SYNTAX],
  [['hscan', 'h1', '0', 'foo', 'bar'], SYNTAX],
  [['hscan', 'nokey', '0'], ['0', []]],
  [['hscan', 'nokey', '0', 'foo'], ['0', []]],
  [['hscan', 'nokey', 'x'], INVALID_CURSOR],
  [['hscan', 's', '0'], WRONGTYPE],
  [['hscan', 's', 'x'], INVALID_CURSOR],
  [['hscan', 's', '0', 'foo'], WRONGTYPE],
  [['hscan', 'h1'], wrongArgs('hscan')],
];

// ------------------------------------------------------------------ RESP3 (shard handlers on a real Store)

describe('RESP3 replies (shard handlers on a real Store)', () => {
  let store: Store;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir();
    store = await Store.open(path.join(dir, 'shard-0'), 16, 0, 1, STORE_OPTIONS);
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What the executor's sync() does: write the pending writes to LevelDB. */
  const sync = async (): Promise<void> => {
    const batch = store.takeOps();
    if (batch) {
      await store.db.batch(batch.ops as never);
      batch.done();
    }
  };

  /** Runs one command's shard handler (sync or async) with a RESP3 writer; returns the reply bytes. */
  const call = async (...args: string[]): Promise<string> => {
    const w = new ReplyWriter(256);
    w.resp = 3;
    try {
      await lookupCommand(args[0]!)!.shard!({ args: args.map((a) => Buffer.from(a)), db: 0, w, store, sync });
    } catch (e) {
      w.len = 0;
      w.error((e as CommandError).reply);
    }
    return w.take().toString('latin1');
  };

  it('uses RESP3 maps, nulls and nested pairs', async () => {
    expect(await call('hset', 'r3', 'a', '1', 'b', '2')).toBe(':2\r\n');
    expect(await call('hgetall', 'r3')).toBe('%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n');
    expect(await call('hgetall', 'r3:none')).toBe('%0\r\n');
    expect(await call('hkeys', 'r3')).toBe('*2\r\n$1\r\na\r\n$1\r\nb\r\n');
    expect(await call('hget', 'r3', 'zz')).toBe('_\r\n');
    expect(await call('hmget', 'r3', 'a', 'zz')).toBe('*2\r\n$1\r\n1\r\n_\r\n');
    expect(await call('hrandfield', 'r3:none')).toBe('_\r\n');
    expect(await call('hset', 'r3:one', 'f', 'v')).toBe(':1\r\n');
    expect(await call('hrandfield', 'r3:one', '-2', 'withvalues')).toBe('*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n');
    expect(await call('hrandfield', 'r3:one', '2')).toBe('*1\r\n$1\r\nf\r\n');
    expect(await call('hscan', 'r3', '0')).toBe('*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n');
  });

  it('matches redis-server byte for byte (HELLO 3)', async () => {
    const oracle = await startOracle();
    if (!oracle) return;
    const raw = await RawClient.connect(oracle.port);
    try {
      raw.write('HELLO 3\r\n');
      await raw.read(1);
      await new Promise((r) => setTimeout(r, 50));
      await raw.read(raw.pending().length);
      // Fields in byte order, so Redis' insertion order is Cairn's order too.
      const setup = [['hset', 'o3', 'a', '1', 'b', '2', 'c', '3'], ['hset', 'o3:one', 'f', 'v']];
      const cases: string[][] = [
        ['hgetall', 'o3'], ['hgetall', 'o3:none'], ['hkeys', 'o3'], ['hvals', 'o3'], ['hkeys', 'o3:none'],
        ['hget', 'o3', 'zz'], ['hmget', 'o3', 'a', 'zz'], ['hrandfield', 'o3:none'], ['hrandfield', 'o3:none', '3'],
        ['hrandfield', 'o3:one', '1'], ['hrandfield', 'o3:one', '1', 'withvalues'], ['hrandfield', 'o3:one', '-3', 'withvalues'],
        ['hrandfield', 'o3', '5', 'withvalues'], ['hscan', 'o3', '0'], ['hscan', 'o3:none', '0'],
        ['hincrbyfloat', 'o3', 'x', '1.5'], ['hlen', 'o3'], ['hstrlen', 'o3', 'a'],
      ];
      for (const args of setup) {
        const ours = await call(...args);
        raw.write(args.join(' ') + '\r\n');
        expect(await raw.readLike(ours)).toBe(ours);
      }
      for (const args of cases) {
        const ours = await call(...args);
        raw.write(args.join(' ') + '\r\n');
        expect(await raw.readLike(ours), args.join(' ')).toBe(ours);
      }
    } finally {
      raw.close();
      await oracle.stop();
    }
  });
});

// ------------------------------------------------------------------ integration

describe.each([1, 4])('hash commands with %i shard(s)', (shards) => {
  let server: TestServer;
  let client: Redis;
  let oracle: Oracle | null = null;
  let ref: Redis | null = null;

  beforeAll(async () => {
    server = await startServer({ shards });
    client = newClient(server.port);
    oracle = await startOracle();
    if (oracle) ref = newClient(oracle.port);
  });

  afterAll(async () => {
    client?.disconnect();
    ref?.disconnect();
    await oracle?.stop();
    await server?.stop();
    if (server) fs.rmSync(server.dir, { recursive: true, force: true });
  });

  /** Whether this build has a command (generic key commands may live on another branch). */
  const has = async (name: string): Promise<boolean> => {
    const r = await run(client, [name]);
    return !(r && typeof r === 'object' && 'error' in r && r.error.startsWith('ERR unknown command'));
  };

  it('replies as Redis 7.0 to every option and error case', async () => {
    expect(ref !== null).toBe(fs.existsSync(REDIS_SERVER));
    const mismatches = await scriptMismatches(client, ref, SCRIPT, (got, want) => expect(got).toEqual(want));
    expect(mismatches).toEqual([]);
  });

  it('replies in RESP3 through a real client as redis-server does (once HELLO exists)', async () => {
    if (!ref || !(await has('hello'))) return;
    const ours = newClient(server.port, 3);
    const theirs = newClient(oracle!.port, 3);
    try {
      for (const c of [ours, theirs]) await c.call('HSET', 'r3one', 'f', 'v');
      const cases: string[][] = [
        ['HGETALL', 'r3one'], ['HGETALL', 'r3none'], ['HRANDFIELD', 'r3one', '-2', 'WITHVALUES'], ['HRANDFIELD', 'r3one', '1'],
        ['HRANDFIELD', 'r3none'], ['HGET', 'r3one', 'x'], ['HSCAN', 'r3one', '0'], ['HINCRBYFLOAT', 'r3one', 'n', '1.5'],
      ];
      for (const args of cases) expect(await run(ours, args), args.join(' ')).toEqual(await run(theirs, args));
    } finally {
      ours.disconnect();
      theirs.disconnect();
    }
  });

  it('is binary safe in keys, fields and values', async () => {
    const key = Buffer.from([0xff, 0x00, 0x41]);
    const f1 = Buffer.from([0, 1, 2, 0xff]);
    const f2 = Buffer.from([0xfe, 13, 10]);
    const v1 = Buffer.from([0, 0, 0xc3, 0x28]);
    expect(await run(client, ['hset', key, f1, v1, f2, Buffer.alloc(0)])).toBe(2);
    expect(await client.hgetBuffer(key, f1)).toEqual(v1);
    expect(await client.callBuffer('HGETALL', key)).toEqual([f1, v1, f2, Buffer.alloc(0)]);
    expect(await client.callBuffer('hscan', key, '0', 'match', Buffer.from([0, 0x2a]))).toEqual([Buffer.from('0'), [f1, v1]]);
    expect(await run(client, ['hstrlen', key, f1])).toBe(4);
    expect(await run(client, ['hdel', key, f1, f2])).toBe(2);
    expect(await run(client, ['hlen', key])).toBe(0);
  });

  it('counts hash keys in DBSIZE and deletes them with DEL', async () => {
    await client.call('select', '3');
    try {
      expect(await client.call('dbsize')).toBe(0);
      await client.call('hset', 'k1', 'a', '1');
      await client.call('hset', 'k2', 'a', '1', 'b', '2');
      await client.call('hincrby', 'k3', 'a', '1');
      await client.call('hsetnx', 'k4', 'a', '1');
      expect(await client.call('dbsize')).toBe(4);
      // Failed writes create nothing.
      expect(await run(client, ['hincrby', 'k5', 'a', 'x'])).toEqual(NOT_INT);
      expect(await run(client, ['hincrbyfloat', 'k5', 'a', 'inf'])).toEqual(NAN_INF_ARG);
      expect(await run(client, ['hdel', 'k5', 'a'])).toBe(0);
      expect(await client.call('dbsize')).toBe(4);
      expect(await client.call('hdel', 'k2', 'a', 'b')).toBe(2);
      expect(await client.call('dbsize')).toBe(3);
      expect(await client.call('del', 'k1', 'k3', 'k4', 'nokey')).toBe(3);
      expect(await client.call('dbsize')).toBe(0);
      await client.call('select', '0');
      expect(await client.call('hget', 'k1', 'a')).toBeNull();
    } finally {
      await client.call('select', '0');
    }
  });

  it('works with the generic key commands (EXISTS, EXPIRE, TTL, TYPE) when present', async () => {
    const p = `ttl${shards}:`;
    await client.call('hset', p + 'h', 'a', '1');
    if (await has('exists')) expect(await client.call('exists', p + 'h', p + 'none')).toBe(1);
    if (await has('type')) expect(await client.call('type', p + 'h')).toBe('hash');
    if (!(await has('pexpire')) || !(await has('pttl'))) return;
    expect(await client.call('pexpire', p + 'h', '100000')).toBe(1);
    // Field writes keep the TTL, as in Redis.
    await client.call('hset', p + 'h', 'b', '2');
    await client.call('hdel', p + 'h', 'a');
    await client.call('hincrby', p + 'h', 'c', '1');
    expect(await client.call('pttl', p + 'h')).toBeGreaterThan(90_000);
    expect(await client.call('pexpire', p + 'h', '30')).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(await client.call('hlen', p + 'h')).toBe(0);
    expect(await client.call('HGETALL', p + 'h')).toEqual([]);
    // Re-created after expiry: a new hash without the old fields or TTL.
    expect(await client.call('hset', p + 'h', 'z', '9')).toBe(1);
    expect(await client.call('HGETALL', p + 'h')).toEqual(['z', '9']);
    expect(await client.call('pttl', p + 'h')).toBe(-1);
  });

  it('returns random fields as Redis specifies', async () => {
    const fields = Array.from({ length: 200 }, (_, i) => `f${i}`);
    await client.call('hset', 'rnd', ...fields.flatMap((f) => [f, `v:${f}`]));
    const checkPairs = (r: string[]): void => {
      for (let i = 0; i < r.length; i += 2) expect(r[i + 1]).toBe(`v:${r[i]}`);
    };
    const one = (await client.call('HRANDFIELD', 'rnd')) as string;
    expect(fields).toContain(one);
    const distinct = (await client.call('HRANDFIELD', 'rnd', '50')) as string[];
    expect(distinct.length).toBe(50);
    expect(new Set(distinct).size).toBe(50);
    for (const f of distinct) expect(fields).toContain(f);
    const withValues = (await client.call('HRANDFIELD', 'rnd', '30', 'withvalues')) as string[];
    expect(withValues.length).toBe(60);
    expect(new Set(withValues.filter((_, i) => i % 2 === 0)).size).toBe(30);
    checkPairs(withValues);
    const all = (await client.call('HRANDFIELD', 'rnd', '1000')) as string[];
    expect([...all].sort()).toEqual([...fields].sort());
    const repeats = (await client.call('HRANDFIELD', 'rnd', '-500', 'withvalues')) as string[];
    expect(repeats.length).toBe(1000);
    checkPairs(repeats);
    // 500 draws out of 200 fields: repeats are certain, and more than a few fields show up.
    const drawn = repeats.filter((_, i) => i % 2 === 0);
    expect(new Set(drawn).size).toBeLessThan(500);
    expect(new Set(drawn).size).toBeGreaterThan(100);
    const few = (await client.call('HRANDFIELD', 'rnd', '-20')) as string[];
    expect(few.length).toBe(20);
    for (const f of few) expect(fields).toContain(f);
    // Over many single picks, every field shows up (each has a 1/200 chance per pick).
    const seen = new Set<string>();
    const pipe = client.pipeline();
    for (let i = 0; i < 3000; i++) pipe.call('HRANDFIELD', 'rnd');
    for (const [e, v] of (await pipe.exec())!) if (!e) seen.add(v as string);
    expect(seen.size).toBeGreaterThan(190);
    expect(await run(client, ['hrandfield', 'rnd', String(-(MAX_RANDOM_REPLY + 1))])).toEqual(OUT_OF_RANGE);
  });

  it('holds a large hash: pipelined writes, full HSCAN, HGETALL, then DEL and re-create', async () => {
    const N = 20_000;
    const field = (i: number): string => `field:${String(i).padStart(6, '0')}`;
    const value = (i: number): string => `value-${i}-${'x'.repeat(i % 50)}`;
    const pipe = client.pipeline();
    for (let start = 0; start < N; start += 250) {
      const args: string[] = [];
      for (let i = start; i < start + 250; i++) args.push(field(i), value(i));
      pipe.call('hset', 'big', ...args);
    }
    const created = (await pipe.exec())!.map(([e, v]) => (e ? e.message : v));
    expect(created.every((n) => n === 250)).toBe(true);
    expect(await client.call('hlen', 'big')).toBe(N);
    expect(await client.call('hget', 'big', field(12345))).toBe(value(12345));

    // Full HSCAN: every field at least once, nothing else, values right, pages near COUNT.
    const seen = new Map<string, number>();
    let cursor = '0';
    let calls = 0;
    do {
      const [next, page] = (await client.call('hscan', 'big', cursor, 'count', '700')) as [string, string[]];
      expect(page.length).toBeLessThanOrEqual(1400);
      for (let i = 0; i < page.length; i += 2) {
        seen.set(page[i]!, (seen.get(page[i]!) ?? 0) + 1);
        if (page[i + 1] !== value(Number(page[i]!.slice(6)))) throw new Error(`bad value for ${page[i]}`);
      }
      cursor = next;
      calls++;
    } while (cursor !== '0' && calls < 10_000);
    expect(cursor).toBe('0');
    expect(seen.size).toBe(N);
    for (let i = 0; i < N; i++) expect(seen.has(field(i))).toBe(true);
    expect(calls).toBeGreaterThanOrEqual(N / 700);

    // Default COUNT pages hold 10 entries; MATCH filters the examined ones.
    const [c1, p1] = (await client.call('hscan', 'big', '0')) as [string, string[]];
    expect(c1).not.toBe('0');
    expect(p1.length).toBe(20);
    const matched: string[] = [];
    cursor = '0';
    do {
      const [next, page] = (await client.call('hscan', 'big', cursor, 'match', 'field:0001[0-4]?', 'count', '5000')) as [string, string[]];
      for (let i = 0; i < page.length; i += 2) matched.push(page[i]!);
      cursor = next;
    } while (cursor !== '0');
    expect(matched.sort()).toEqual(Array.from({ length: 50 }, (_, i) => field(100 + i)));

    const all = (await client.call('HGETALL', 'big')) as string[];
    expect(all.length).toBe(2 * N);
    for (let i = 0; i < N; i++) {
      if (all[2 * i] !== field(i) || all[2 * i + 1] !== value(i)) throw new Error(`HGETALL entry ${i}: ${all[2 * i]}`);
    }
    const keys = (await client.call('hkeys', 'big')) as string[];
    const vals = (await client.call('hvals', 'big')) as string[];
    expect(keys.length).toBe(N);
    expect(vals.length).toBe(N);
    expect(keys[777]).toBe(field(777));
    expect(vals[777]).toBe(value(777));
    const picks = (await client.call('HRANDFIELD', 'big', '100', 'withvalues')) as string[];
    expect(new Set(picks.filter((_, i) => i % 2 === 0)).size).toBe(100);
    for (let i = 0; i < picks.length; i += 2) expect(picks[i + 1]).toBe(value(Number(picks[i]!.slice(6))));

    // DEL is O(1); a hash re-created under the same name sees none of the old fields.
    expect(await client.call('del', 'big')).toBe(1);
    expect(await client.call('hlen', 'big')).toBe(0);
    expect(await client.call('hset', 'big', 'fresh', '1', field(1), 'new')).toBe(2);
    expect(await client.call('hlen', 'big')).toBe(2);
    expect(await client.call('HGETALL', 'big')).toEqual([field(1), 'new', 'fresh', '1']);
    expect(await client.call('hexists', 'big', field(2))).toBe(0);
    expect(await client.call('hget', 'big', field(3))).toBeNull();
    expect(await client.call('hscan', 'big', '0', 'count', '1000')).toEqual(['0', [field(1), 'new', 'fresh', '1']]);
    expect(await client.call('HRANDFIELD', 'big', '10')).toHaveLength(2);
    await client.call('del', 'big');
  });

  it('HSCAN returns every field present throughout, while others come and go', async () => {
    const N = 1000;
    const pipe = client.pipeline();
    for (let i = 0; i < N; i++) pipe.call('hset', 'churn', `m${i}`, String(i));
    await pipe.exec();
    const seen = new Set<string>();
    let cursor = '0';
    let calls = 0;
    do {
      const [next, page] = (await client.call('hscan', 'churn', cursor, 'count', '25')) as [string, string[]];
      for (let i = 0; i < page.length; i += 2) seen.add(page[i]!);
      cursor = next;
      // Between calls: delete some fields (m900..), add new ones.
      await client.call('hdel', 'churn', `m${900 + calls}`);
      await client.call('hset', 'churn', `new${calls}`, 'x');
      calls++;
    } while (cursor !== '0' && calls < 1000);
    expect(cursor).toBe('0');
    for (let i = 0; i < 900; i++) expect(seen.has(`m${i}`)).toBe(true);
    // A consumed or unknown cursor restarts the iteration rather than skipping anything.
    const [first] = (await client.call('hscan', 'churn', '0', 'count', '10')) as [string, string[]];
    const a = (await client.call('hscan', 'churn', first, 'count', '10')) as [string, string[]];
    const b = (await client.call('hscan', 'churn', first, 'count', '10')) as [string, string[]];
    expect(a[1][0]).not.toBe(b[1][0]);
    expect(b[1][0]).toBe('m0');
    expect(((await client.call('hscan', 'churn', '123456789', 'count', '10')) as [string, string[]])[1][0]).toBe('m0');
    await client.call('del', 'churn');
  });

  it('agrees with an in-memory model (and redis-server) over random operations', async () => {
    let seed = 1234 + shards;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const keys = ['mk0', 'mk1', '{m}k2'];
    const fieldName = (): string => `f${rand(8)}`;
    const valueText = (): string => (rand(4) === 0 ? `v${rand(100)}` : String(rand(200) - 100));
    const model = new Map<string, Map<string, string>>();
    const hashOf = (k: string): Map<string, string> | undefined => model.get(k);
    const notInt = (v: string): boolean => !/^-?(0|[1-9][0-9]*)$/.test(v) || v === '-0';
    const mismatches: string[] = [];

    for (let step = 0; step < 800; step++) {
      const key = keys[rand(keys.length)]!;
      const h = hashOf(key);
      let args: string[];
      let expected: Reply;
      let normalize: Normalize = (r) => r;
      switch (rand(10)) {
        case 0:
        case 1: {
          const pairs: string[] = [];
          const n = 1 + rand(3);
          for (let i = 0; i < n; i++) pairs.push(fieldName(), valueText());
          args = ['hset', key, ...pairs];
          const m = h ?? new Map<string, string>();
          let created = 0;
          for (let i = 0; i < pairs.length; i += 2) {
            if (!m.has(pairs[i]!)) created++;
            m.set(pairs[i]!, pairs[i + 1]!);
          }
          model.set(key, m);
          expected = created;
          break;
        }
        case 2: {
          const fs2 = [fieldName(), fieldName()];
          args = ['hdel', key, ...fs2];
          let n = 0;
          for (const f of fs2) if (h?.delete(f)) n++;
          if (h && h.size === 0) model.delete(key);
          expected = n;
          break;
        }
        case 3: {
          const f = fieldName();
          const by = rand(11) - 5;
          args = ['hincrby', key, f, String(by)];
          const cur = h?.get(f);
          if (cur !== undefined && notInt(cur)) expected = HASH_NOT_INT;
          else {
            const next = String(BigInt(cur ?? '0') + BigInt(by));
            const m = h ?? new Map<string, string>();
            m.set(f, next);
            model.set(key, m);
            expected = Number(next);
          }
          break;
        }
        case 4: {
          const f = fieldName();
          args = ['hget', key, f];
          expected = h?.get(f) ?? null;
          break;
        }
        case 5:
          args = ['hlen', key];
          expected = h?.size ?? 0;
          break;
        case 6: {
          const fs2 = [fieldName(), fieldName(), fieldName()];
          args = ['hmget', key, ...fs2];
          expected = fs2.map((f) => h?.get(f) ?? null);
          break;
        }
        case 7: {
          const f = fieldName();
          args = ['hexists', key, f];
          expected = h?.has(f) ? 1 : 0;
          break;
        }
        case 8: {
          const f = fieldName();
          const v = valueText();
          args = ['hsetnx', key, f, v];
          if (h?.has(f)) expected = 0;
          else {
            const m = h ?? new Map<string, string>();
            m.set(f, v);
            model.set(key, m);
            expected = 1;
          }
          break;
        }
        default:
          if (rand(4) === 0) {
            args = ['del', key];
            expected = h ? 1 : 0;
            model.delete(key);
          } else {
            args = ['hgetall', key];
            expected = h ? [...h].flat() : [];
            normalize = PAIRS;
          }
      }
      const got = normalize(await run(client, args));
      if (JSON.stringify(got) !== JSON.stringify(normalize(expected))) {
        mismatches.push(`step ${step} ${args.join(' ')}: model ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
      }
      if (ref) {
        const want = normalize(await run(ref, args));
        if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`step ${step} ${args.join(' ')}: redis-server ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      }
      if (mismatches.length > 5) break;
    }
    expect(mismatches).toEqual([]);
    // The end state agrees too.
    for (const key of keys) {
      expect(sortPairs((await client.call('HGETALL', key)) as Reply)).toEqual(sortPairs([...(model.get(key) ?? new Map())].flat()));
    }
    await client.call('del', ...keys);
  });
});
