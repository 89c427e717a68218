/**
 * Set commands through a real client (ioredis) against the compiled server with 1 and 4 shards:
 * exact Redis 7.0 replies and errors, checked against hard-coded expectations and, when
 * /usr/bin/redis-server exists, reply for reply against a real redis-server.
 *
 * Keys: plain names ('a', 'b', 'c', 'd' sit on four different shards when there are 4) exercise
 * the cross-shard paths; names with the hash tag {t} stay on one shard and exercise the shard
 * handlers. The test asserts which is which.
 *
 * Redis returns set members in hash-table order and Cairn in byte order, so replies of unspecified
 * order are compared sorted. RESP3 bytes are compared with redis-server on small integer sets, whose
 * order (intset order) is byte order too.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Redis } from 'ioredis';
import fs from 'node:fs';
import { startServer, type TestServer } from './helpers/server.js';
import { startOracle, type OracleServer } from './helpers/oracle.js';
import { RawClient } from './helpers/raw.js';
import { exchange } from './helpers/reply.js';
import { run, type Reply, scriptMismatches } from './helpers/script.js';
import { keyShard } from '../src/server/slot.js';
import { MAX_RANDOM_REPLY } from '../src/commands/hash.js';

// ------------------------------------------------------------------ helpers

const err = (text: string): { error: string } => ({ error: text });

/** A RESP2 client (ioredis would otherwise say HELLO 3). */
function newClient(port: number): Redis {
  return new Redis(port, { lazyConnect: false, maxRetriesPerRequest: 0, enableReadyCheck: false, protocol: 2 });
}

function sortItems(r: Reply): Reply {
  return Array.isArray(r) ? [...r].map(String).sort() : r;
}

/** An SSCAN reply with its page sorted (only for pages that end the iteration). */
function sortScan(r: Reply): Reply {
  return Array.isArray(r) && r.length === 2 ? [r[0]!, sortItems(r[1]!)] : r;
}

type Normalize = (r: Reply) => Reply;
const ITEMS: Normalize = sortItems;
const SCAN: Normalize = sortScan;
/** Only the reply's length (random picks). */
const LENGTH: Normalize = (r) => (Array.isArray(r) ? r.length : r);

const WRONGTYPE = err('WRONGTYPE Operation against a key holding the wrong kind of value');
const SYNTAX = err('ERR syntax error');
const NOT_INT = err('ERR value is not an integer or out of range');
const POSITIVE = err('ERR value is out of range, must be positive');
const COUNT_RANGE = err('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
const OUT_OF_RANGE = err('ERR value is out of range');
const NUMKEYS = err('ERR numkeys should be greater than 0');
const TOO_MANY_KEYS = err("ERR Number of keys can't be greater than number of args");
const LIMIT_NEGATIVE = err("ERR LIMIT can't be negative");
const INVALID_CURSOR = err('ERR invalid cursor');
const wrongArgs = (cmd: string): { error: string } => err(`ERR wrong number of arguments for '${cmd}' command`);

/**
 * The reference script: [command, expected reply, normalizer]. `undefined` means "only compared
 * with redis-server". Runs top to bottom on one database. Sets used: a = {1 2 3 x y},
 * b = {2 3 y z}, c = {3 y w}, and the same under {t}a, {t}b, {t}c.
 */
const SCRIPT: [(string | Buffer)[], Reply | undefined, Normalize?][] = [
  [['set', 's', 'string'], 'OK'],
  [['set', '{t}s', 'string'], 'OK'],
  // SADD
  [['sadd', 'a', '1', '2', '3', 'x'], 4],
  [['sadd', 'a', 'x', 'y', '1', 'y'], 1],
  [['sadd', 'b', '2', '3', 'y', 'z'], 4],
  [['sadd', 'c', '3', 'y', 'w'], 3],
  [['sadd', '{t}a', '1', '2', '3', 'x', 'y'], 5],
  [['sadd', '{t}b', '2', '3', 'y', 'z'], 4],
  [['sadd', '{t}c', '3', 'y', 'w'], 3],
  [['sadd', 's', 'm'], WRONGTYPE],
  [['sadd', 'a'], wrongArgs('sadd')],
  [['sadd', 'e', ''], 1],
  [['sismember', 'e', ''], 1],
  [['smembers', 'e'], ['']],
  // SCARD / SISMEMBER / SMISMEMBER
  [['scard', 'a'], 5],
  [['scard', 'nokey'], 0],
  [['scard', 's'], WRONGTYPE],
  [['scard', 'a', 'b'], wrongArgs('scard')],
  [['sismember', 'a', 'x'], 1],
  [['sismember', 'a', 'nope'], 0],
  [['sismember', 'nokey', 'x'], 0],
  [['sismember', 's', 'x'], WRONGTYPE],
  [['sismember', 'a'], wrongArgs('sismember')],
  [['smismember', 'a', '1', 'nope', 'x', '1'], [1, 0, 1, 1]],
  [['smismember', 'nokey', '1', '2'], [0, 0]],
  [['smismember', 's', '1'], WRONGTYPE],
  [['smismember', 'a'], wrongArgs('smismember')],
  // SMEMBERS
  [['smembers', 'a'], ['1', '2', '3', 'x', 'y'], ITEMS],
  [['smembers', 'nokey'], []],
  [['smembers', 's'], WRONGTYPE],
  [['smembers', 'a', 'b'], wrongArgs('smembers')],
  // SINTER: across shards and on one
  [['sinter', 'a', 'b'], ['2', '3', 'y'], ITEMS],
  [['sinter', 'a', 'b', 'c'], ['3', 'y'], ITEMS],
  [['sinter', 'c', 'a', 'b'], ['3', 'y'], ITEMS],
  [['sinter', '{t}a', '{t}b', '{t}c'], ['3', 'y'], ITEMS],
  [['sinter', '{t}c', '{t}a'], ['3', 'y'], ITEMS],
  [['sinter', 'a'], ['1', '2', '3', 'x', 'y'], ITEMS],
  [['sinter', 'a', 'a'], ['1', '2', '3', 'x', 'y'], ITEMS],
  [['sinter', '{t}a', '{t}a', '{t}b'], ['2', '3', 'y'], ITEMS],
  [['sinter', 'a', 'nokey'], []],
  [['sinter', 'nokey', 'a'], []],
  [['sinter', '{t}a', '{t}nokey'], []],
  [['sinter', 'a', 's'], WRONGTYPE],
  [['sinter', 'nokey', 's'], WRONGTYPE],
  [['sinter', 's', 'nokey'], WRONGTYPE],
  [['sinter', '{t}nokey', '{t}s'], WRONGTYPE],
  [['sinter', '{t}a', '{t}s'], WRONGTYPE],
  [['sinter'], wrongArgs('sinter')],
  // SINTERCARD
  [['sintercard', '2', 'a', 'b'], 3],
  [['sintercard', '3', 'a', 'b', 'c'], 2],
  [['sintercard', '3', '{t}a', '{t}b', '{t}c'], 2],
  [['sintercard', '2', 'a', 'b', 'limit', '2'], 2],
  [['sintercard', '2', 'a', 'b', 'LIMIT', '0'], 3],
  [['sintercard', '2', 'a', 'b', 'limit', '10'], 3],
  [['sintercard', '2', '{t}a', '{t}b', 'limit', '1'], 1],
  [['sintercard', '2', '{t}a', '{t}b', 'limit', '0'], 3],
  [['sintercard', '1', 'a', 'limit', '1', 'limit', '3'], 3],
  [['sintercard', '1', 'a', 'limit', '9223372036854775807'], 5],
  [['sintercard', '2', 'a', 'nokey'], 0],
  [['sintercard', '1', 'nokey'], 0],
  [['sintercard', '2', 'nokey', 's'], WRONGTYPE],
  [['sintercard', '2', '{t}nokey', '{t}s'], WRONGTYPE],
  [['sintercard', '1', 's'], WRONGTYPE],
  [['sintercard', '0', 'a'], NUMKEYS],
  [['sintercard', '-1', 'a'], NUMKEYS],
  [['sintercard', 'x', 'a'], NUMKEYS],
  [['sintercard', '9223372036854775808', 'a'], NUMKEYS],
  [['sintercard', '3', 'a', 'b'], TOO_MANY_KEYS],
  [['sintercard', '2', 'a'], TOO_MANY_KEYS],
  [['sintercard', '2', 'a', 'b', 'limit', '-1'], LIMIT_NEGATIVE],
  [['sintercard', '2', 'a', 'b', 'limit', 'x'], LIMIT_NEGATIVE],
  [['sintercard', '1', 'a', 'limit', '9223372036854775808'], LIMIT_NEGATIVE],
  [['sintercard', '1', 's', 'limit', '-1'], LIMIT_NEGATIVE],
  [['sintercard', '1', 'nokey', 'limit', 'x'], LIMIT_NEGATIVE],
  [['sintercard', '2', 'a', 'b', 'limit'], SYNTAX],
  [['sintercard', '2', 'a', 'b', 'foo'], SYNTAX],
  [['sintercard', '1', 'a', 'b'], SYNTAX],
  [['sintercard', '1'], wrongArgs('sintercard')],
  // SUNION
  [['sunion', 'a', 'b'], ['1', '2', '3', 'x', 'y', 'z'], ITEMS],
  [['sunion', 'a', 'b', 'c', 'nokey'], ['1', '2', '3', 'w', 'x', 'y', 'z'], ITEMS],
  [['sunion', '{t}a', '{t}b', '{t}c', '{t}nokey'], ['1', '2', '3', 'w', 'x', 'y', 'z'], ITEMS],
  [['sunion', 'b', 'b'], ['2', '3', 'y', 'z'], ITEMS],
  [['sunion', 'nokey'], []],
  [['sunion', 'nokey', 'nokey2'], []],
  [['sunion', 'nokey', 's'], WRONGTYPE],
  [['sunion', '{t}a', '{t}s'], WRONGTYPE],
  [['sunion'], wrongArgs('sunion')],
  // SDIFF
  [['sdiff', 'a', 'b'], ['1', 'x'], ITEMS],
  [['sdiff', 'a', 'b', 'c'], ['1', 'x'], ITEMS],
  [['sdiff', 'b', 'a', 'c'], ['z'], ITEMS],
  [['sdiff', 'b', 'c'], ['2', 'z'], ITEMS],
  [['sdiff', '{t}a', '{t}b'], ['1', 'x'], ITEMS],
  [['sdiff', '{t}b', '{t}c', '{t}nokey'], ['2', 'z'], ITEMS],
  [['sdiff', 'a', 'a'], []],
  // A big first set against small ones: the merge algorithm (Redis' algorithm 2) instead of probes
  [['sadd', '{t}m', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10'], 10],
  [['sadd', '{t}m1', '3'], 1],
  [['sadd', '{t}m2', '7', '11'], 2],
  [['sdiff', '{t}m', '{t}m1', '{t}m2'], ['1', '10', '2', '4', '5', '6', '8', '9'], ITEMS],
  [['sdiff', '{t}m', '{t}m1', '{t}m'], []],
  [['sdiffstore', '{t}md', '{t}m', '{t}m1', '{t}m2', '{t}nokey'], 8],
  [['sdiffstore', '{t}md', '{t}md', '{t}m1', '{t}m2'], 8],
  [['scard', '{t}md'], 8],
  [['sdiff', '{t}a', '{t}b', '{t}a'], []],
  [['sdiff', 'a', 'nokey'], ['1', '2', '3', 'x', 'y'], ITEMS],
  [['sdiff', 'a'], ['1', '2', '3', 'x', 'y'], ITEMS],
  [['sdiff', 'nokey', 'a'], []],
  [['sdiff', 's', 'nokey'], WRONGTYPE],
  [['sdiff', 'nokey', 's'], WRONGTYPE],
  [['sdiff', '{t}a', '{t}s'], WRONGTYPE],
  [['sdiff'], wrongArgs('sdiff')],
  // STORE forms: the destination is replaced (type, TTL and all) or deleted by an empty result
  [['sinterstore', 'd', 'a', 'b'], 3],
  [['smembers', 'd'], ['2', '3', 'y'], ITEMS],
  [['sinterstore', 'd', 'a', 'nokey'], 0],
  [['exists', 'd'], 0],
  [['sunionstore', 'd', 'a', 'b', 'c'], 7],
  [['smembers', 'd'], ['1', '2', '3', 'w', 'x', 'y', 'z'], ITEMS],
  [['sdiffstore', 'd', 'a', 'b'], 2],
  [['smembers', 'd'], ['1', 'x'], ITEMS],
  [['sdiffstore', 'd', 'nokey', 'a'], 0],
  [['exists', 'd'], 0],
  [['sunionstore', 'd', 'nokey'], 0],
  [['set', 'd', 'str'], 'OK'],
  [['sunionstore', 'd', 'a'], 5],
  [['type', 'd'], 'set'],
  [['set', 'd', 'str'], 'OK'],
  [['sinterstore', 'd', 'nokey'], 0],
  [['get', 'd'], null],
  [['sadd', 'd', 'keep'], 1],
  [['sinterstore', 'd', 'a', 's'], WRONGTYPE],
  [['sunionstore', 'd', 's', 'a'], WRONGTYPE],
  [['sdiffstore', 'd', 'nokey', 's'], WRONGTYPE],
  [['smembers', 'd'], ['keep']],
  [['expire', 'd', '1000'], 1],
  [['sunionstore', 'd', 'b', 'd'], 5],
  [['ttl', 'd'], -1],
  [['smembers', 'd'], ['2', '3', 'keep', 'y', 'z'], ITEMS],
  [['sinterstore', 'd', 'd', 'a'], 3],
  [['smembers', 'd'], ['2', '3', 'y'], ITEMS],
  [['sdiffstore', 'd', 'd', 'c'], 1],
  [['smembers', 'd'], ['2']],
  [['sinterstore', '{t}d', '{t}a', '{t}b'], 3],
  [['sunionstore', '{t}d', '{t}d', '{t}c'], 4],
  [['smembers', '{t}d'], ['2', '3', 'w', 'y'], ITEMS],
  [['sdiffstore', '{t}d', '{t}a', '{t}b'], 2],
  [['smembers', '{t}d'], ['1', 'x'], ITEMS],
  [['sdiffstore', '{t}d', '{t}nokey'], 0],
  [['exists', '{t}d'], 0],
  [['sinterstore', '{t}d', '{t}a', '{t}s'], WRONGTYPE],
  [['sinterstore', 'd'], wrongArgs('sinterstore')],
  [['sunionstore', 'd'], wrongArgs('sunionstore')],
  [['sdiffstore', 'd'], wrongArgs('sdiffstore')],
  // SMOVE: a -> b are on different shards (with 4), {t} keys on one
  [['smove', 'a', 'b', '1'], 1],
  [['sismember', 'a', '1'], 0],
  [['sismember', 'b', '1'], 1],
  [['smove', 'a', 'b', 'nope'], 0],
  [['smove', 'nokey', 'b', '1'], 0],
  [['smove', 'nokey', 's', '1'], 0],
  [['smove', 's', 'b', '1'], WRONGTYPE],
  [['smove', 's', 'nokey', '1'], WRONGTYPE],
  [['smove', 'a', 's', 'x'], WRONGTYPE],
  [['smove', 'a', 's', 'nope'], WRONGTYPE],
  [['sismember', 'a', 'x'], 1],
  [['smove', 'a', 'a', 'x'], 1],
  [['smove', 'a', 'a', 'nope'], 0],
  [['smove', 's', 's', 'x'], WRONGTYPE],
  [['smove', 'b', 'a', '2'], 1],
  [['scard', 'a'], 4],
  [['scard', 'b'], 4],
  [['smove', 'b', 'newset', 'z'], 1],
  [['smembers', 'newset'], ['z']],
  [['smove', 'newset', 'b', 'z'], 1],
  [['exists', 'newset'], 0],
  [['smove', '{t}a', '{t}b', '1'], 1],
  [['smove', '{t}a', '{t}b', '2'], 1],
  [['scard', '{t}b'], 5],
  [['smove', '{t}a', '{t}s', 'x'], WRONGTYPE],
  [['smove', '{t}nokey', '{t}s', 'x'], 0],
  [['smove', '{t}s', '{t}a', 'x'], WRONGTYPE],
  [['smove', '{t}a', '{t}a', 'x'], 1],
  [['smove', '{t}a', '{t}new', 'x'], 1],
  [['smembers', '{t}new'], ['x']],
  [['smove', 'a', 'b'], wrongArgs('smove')],
  // SREM
  [['srem', 'a', 'x', 'nope', 'x'], 1],
  [['srem', 'nokey', 'x'], 0],
  [['srem', 's', 'x'], WRONGTYPE],
  [['srem', 'a'], wrongArgs('srem')],
  [['sadd', 'r', '1', '2'], 2],
  [['srem', 'r', '1', '2', '3'], 2],
  [['exists', 'r'], 0],
  [['sadd', 'r', 'again'], 1],
  [['smembers', 'r'], ['again']],
  // SPOP: the deterministic cases
  [['sadd', 'one', 'm'], 1],
  [['spop', 'one'], 'm'],
  [['exists', 'one'], 0],
  [['spop', 'nokey'], null],
  [['spop', 's'], WRONGTYPE],
  [['sadd', 'p', '1', '2', '3'], 3],
  [['spop', 'p', '0'], []],
  [['spop', 'p', '5'], ['1', '2', '3'], ITEMS],
  [['exists', 'p'], 0],
  [['sadd', 'p', '1', '2', '3'], 3],
  [['spop', 'p', '9223372036854775807'], ['1', '2', '3'], ITEMS],
  [['sadd', 'p', '1', '2', '3'], 3],
  [['spop', 'p', '2'], 2, LENGTH],
  [['scard', 'p'], 1],
  [['spop', 'nokey', '3'], []],
  [['spop', 'nokey', '0'], []],
  [['spop', 's', '0'], WRONGTYPE],
  [['spop', 's', '-1'], POSITIVE],
  [['spop', 'a', '-1'], POSITIVE],
  [['spop', 'a', 'x'], POSITIVE],
  [['spop', 'nokey', '-1'], POSITIVE],
  [['spop', 'a', '9223372036854775808'], POSITIVE],
  [['spop', 'a', '1', '2'], SYNTAX],
  [['spop', 'nokey', '1', '2'], SYNTAX],
  [['spop'], wrongArgs('spop')],
  // SRANDMEMBER: the deterministic cases
  [['sadd', 'one', 'm'], 1],
  [['srandmember', 'one'], 'm'],
  [['srandmember', 'one', '1'], ['m']],
  [['srandmember', 'one', '5'], ['m']],
  [['srandmember', 'one', '9223372036854775807'], ['m']],
  [['srandmember', 'one', '-3'], ['m', 'm', 'm']],
  [['srandmember', 'one', '0'], []],
  [['srandmember', 'b', '100'], ['1', '3', 'y', 'z'], ITEMS],
  [['srandmember', 'b', '3'], 3, LENGTH],
  [['srandmember', 'b', '-7'], 7, LENGTH],
  [['srandmember', 'nokey'], null],
  [['srandmember', 'nokey', '5'], []],
  [['srandmember', 'nokey', '-5'], []],
  [['srandmember', 's'], WRONGTYPE],
  [['srandmember', 's', '0'], WRONGTYPE],
  [['srandmember', 's', 'x'], NOT_INT],
  [['srandmember', 'one', 'x'], NOT_INT],
  [['srandmember', 'one', '1', '2'], SYNTAX],
  [['srandmember', 's', '1', '2'], SYNTAX],
  [['srandmember', 'one', '-9223372036854775808'], COUNT_RANGE],
  [['srandmember'], wrongArgs('srandmember')],
  // SSCAN: small sets come back whole with cursor 0
  [['sscan', 'b', '0'], ['0', ['1', '3', 'y', 'z']], SCAN],
  [['sscan', 'b', '0', 'match', '[13]'], ['0', ['1', '3']], SCAN],
  [['sscan', 'b', '0', 'MATCH', '*', 'COUNT', '100'], ['0', ['1', '3', 'y', 'z']], SCAN],
  [['sscan', 'b', '0', 'match', 'nothing*'], ['0', []]],
  [['sscan', 'nokey', '0'], ['0', []]],
  [['sscan', 'nokey', '0', 'foo'], ['0', []]],
  [['sscan', 's', '0'], WRONGTYPE],
  [['sscan', 's', '0', 'foo'], WRONGTYPE],
  [['sscan', 's', 'x'], INVALID_CURSOR],
  [['sscan', 'nokey', 'x'], INVALID_CURSOR],
  [['sscan', 'b', '0', 'count', '0'], SYNTAX],
  [['sscan', 'b', '0', 'count', 'x'], NOT_INT],
  [['sscan', 'b', '0', 'count'], SYNTAX],
  [['sscan', 'b', '0', 'type', 'set'], SYNTAX],
  [['sscan', 'b', '0', 'foo', 'bar'], SYNTAX],
  [['sscan', 'b'], wrongArgs('sscan')],
  // Generic commands see sets
  [['type', 'a'], 'set'],
  [['del', 'a', 'b', 'c', 'nokey'], 3],
  [['smembers', 'a'], []],
  [['sadd', 'a', 'fresh'], 1],
  [['smembers', 'a'], ['fresh']],
];

/** `count` names `prefix0`, `prefix1`, ... that sit on pairwise different shards (as far as there are shards). */
function namesOnShards(prefix: string, count: number, shards: number): string[] {
  const out: string[] = [];
  const used = new Set<number>();
  for (let i = 0; out.length < count; i++) {
    const k = `${prefix}${i}`;
    const s = keyShard(Buffer.from(k), shards);
    if (used.has(s) && used.size < shards) continue;
    used.add(s);
    out.push(k);
  }
  return out;
}

const shardOf = (k: string, shards: number): number => keyShard(Buffer.from(k), shards);

// ------------------------------------------------------------------ integration

describe.each([1, 4])('set commands with %i shard(s)', (shards) => {
  let server: TestServer;
  let client: Redis;
  let oracle: OracleServer | null = null;
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

  it('places plain names on different shards and {t} names on one', () => {
    const plain = ['a', 'b', 'c', 'd'].map((k) => shardOf(k, shards));
    expect(new Set(plain).size).toBe(shards === 1 ? 1 : 4);
    expect(new Set(['{t}a', '{t}b', '{t}c', '{t}d', '{t}s', '{t}nokey'].map((k) => shardOf(k, shards))).size).toBe(1);
  });

  it('replies as Redis 7.0 to every option and error case', async () => {
    expect(ref !== null).toBe(fs.existsSync('/usr/bin/redis-server'));
    const mismatches = await scriptMismatches(client, ref, SCRIPT, (got, want) => expect(got).toEqual(want));
    expect(mismatches).toEqual([]);
  });

  it('replies in RESP3 byte for byte as redis-server (integer sets: the same order in both)', async () => {
    const ours = await RawClient.connect(server.port);
    const theirs = oracle ? await RawClient.connect(oracle.port) : null;
    try {
      const cases: string[][] = [
        ['hello', '3'],
        ['sadd', 'r3a', '1', '2', '3'], ['sadd', 'r3b', '2', '3', '4'], ['sadd', '{r3}a', '1', '2', '3'], ['sadd', '{r3}b', '3', '4'],
        ['smembers', 'r3a'], ['smembers', 'r3none'], ['sinter', 'r3a', 'r3b'], ['sinter', '{r3}a', '{r3}b'], ['sinter', 'r3a', 'r3none'],
        ['sunion', 'r3a', 'r3b'], ['sunion', '{r3}a', '{r3}b'], ['sunion', 'r3none'], ['sdiff', 'r3a', 'r3b'], ['sdiff', '{r3}a', '{r3}b'],
        ['sdiff', 'r3none', 'r3a'], ['smismember', 'r3a', '1', '9'], ['sismember', 'r3a', '1'], ['scard', 'r3a'],
        ['sintercard', '2', 'r3a', 'r3b'], ['srandmember', 'r3a', '5'], ['srandmember', 'r3a', '0'], ['srandmember', 'r3none', '-2'],
        ['srandmember', 'r3none'], ['sscan', 'r3a', '0'], ['sscan', 'r3none', '0'], ['spop', 'r3none'], ['spop', 'r3none', '2'],
        ['spop', 'r3a', '0'], ['sadd', 'r3one', '7'], ['srandmember', 'r3one', '-2'], ['spop', 'r3one', '1'],
        ['sinterstore', 'r3d', 'r3a', 'r3b'], ['spop', 'r3a', '10'], ['smove', 'r3b', 'r3a', '4'],
      ];
      for (const args of cases) {
        const got = await exchange(ours, ...args);
        if (args[0] === 'hello') {
          expect(got.startsWith('%')).toBe(true);
          if (theirs) await exchange(theirs, ...args);
          continue;
        }
        if (theirs) expect(got, args.join(' ')).toBe(await exchange(theirs, ...args));
      }
      // Fixed expectations too, for machines without redis-server.
      expect(await exchange(ours, 'smembers', 'r3b')).toBe('~2\r\n$1\r\n2\r\n$1\r\n3\r\n');
      expect(await exchange(ours, 'smismember', 'r3b', '2', '9')).toBe('*2\r\n:1\r\n:0\r\n');
      expect(await exchange(ours, 'srandmember', 'r3b', '5')).toBe('*2\r\n$1\r\n2\r\n$1\r\n3\r\n');
      expect(await exchange(ours, 'spop', 'r3b', '5')).toBe('~2\r\n$1\r\n2\r\n$1\r\n3\r\n');
      expect(await exchange(ours, 'spop', 'r3b')).toBe('_\r\n');
      expect(await exchange(ours, 'sinter', 'r3b', 'r3a')).toBe('~0\r\n');
    } finally {
      ours.close();
      theirs?.close();
    }
  });

  it('is binary safe in keys and members', async () => {
    const key = Buffer.from([0xff, 0x00, 0x41]);
    const m1 = Buffer.from([0, 1, 2, 0xff]);
    const m2 = Buffer.from([0xfe, 13, 10]);
    expect(await run(client, ['sadd', key, m1, m2, Buffer.alloc(0)])).toBe(3);
    expect(await client.callBuffer('SMEMBERS', key)).toEqual([Buffer.alloc(0), m1, m2]);
    expect(await client.callBuffer('sscan', key, '0', 'match', Buffer.from([0, 0x2a]))).toEqual([Buffer.from('0'), [m1]]);
    expect(await run(client, ['sismember', key, m2])).toBe(1);
    expect(await client.callBuffer('SINTER', key, key)).toEqual([Buffer.alloc(0), m1, m2]);
    expect(await run(client, ['srem', key, m1, m2, Buffer.alloc(0)])).toBe(3);
    expect(await run(client, ['exists', key])).toBe(0);
  });

  it('counts set keys in DBSIZE; failed and empty writes create nothing', async () => {
    await client.call('select', '3');
    try {
      expect(await client.call('dbsize')).toBe(0);
      await client.call('sadd', 'k1', 'a');
      await client.call('sadd', 'k2', 'a', 'b');
      await client.call('sunionstore', 'k3', 'k1', 'k2');
      await client.call('smove', 'k1', 'k4', 'a');
      expect(await client.call('dbsize')).toBe(3);
      expect(await run(client, ['spop', 'k5', '-1'])).toEqual(POSITIVE);
      expect(await run(client, ['srem', 'k5', 'a'])).toBe(0);
      expect(await run(client, ['sinterstore', 'k5', 'k2', 'nokey'])).toBe(0);
      expect(await run(client, ['smove', 'nokey', 'k5', 'a'])).toBe(0);
      expect(await run(client, ['spop', 'k5', '3'])).toEqual([]);
      expect(await client.call('dbsize')).toBe(3);
      expect(await client.call('spop', 'k2', '10')).toHaveLength(2);
      expect(await client.call('dbsize')).toBe(2);
      expect(await client.call('del', 'k3', 'k4')).toBe(2);
      expect(await client.call('dbsize')).toBe(0);
      await client.call('select', '0');
      expect(await client.call('scard', 'k3')).toBe(0);
    } finally {
      await client.call('select', '0');
    }
  });

  it('expires sets and re-creates them empty', async () => {
    const k = `ttl${shards}`;
    await client.call('sadd', k, 'a', 'b');
    expect(await client.call('pexpire', k, '100000')).toBe(1);
    // Member writes keep the TTL, as in Redis.
    await client.call('sadd', k, 'c');
    await client.call('srem', k, 'a');
    await client.call('spop', k);
    expect(await client.call('pttl', k)).toBeGreaterThan(90_000);
    expect(await client.call('pexpire', k, '30')).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(await client.call('scard', k)).toBe(0);
    expect(await client.call('SMEMBERS', k)).toEqual([]);
    expect(await client.call('sunion', k, 'ttl-none')).toEqual([]);
    expect(await client.call('sadd', k, 'z')).toBe(1);
    expect(await client.call('SMEMBERS', k)).toEqual(['z']);
    expect(await client.call('pttl', k)).toBe(-1);
    await client.call('del', k);
  });

  it('returns random members as Redis specifies', async () => {
    const members = Array.from({ length: 200 }, (_, i) => `m${i}`);
    await client.call('sadd', 'rnd', ...members);
    const one = (await client.call('SRANDMEMBER', 'rnd')) as string;
    expect(members).toContain(one);
    const distinct = (await client.call('SRANDMEMBER', 'rnd', '50')) as string[];
    expect(distinct.length).toBe(50);
    expect(new Set(distinct).size).toBe(50);
    for (const m of distinct) expect(members).toContain(m);
    const all = (await client.call('SRANDMEMBER', 'rnd', '1000')) as string[];
    expect([...all].sort()).toEqual([...members].sort());
    const repeats = (await client.call('SRANDMEMBER', 'rnd', '-500')) as string[];
    expect(repeats.length).toBe(500);
    for (const m of repeats) expect(members).toContain(m);
    // 500 draws out of 200 members: repeats are certain, and more than a few members show up.
    expect(new Set(repeats).size).toBeLessThan(500);
    expect(new Set(repeats).size).toBeGreaterThan(100);
    expect(await run(client, ['srandmember', 'rnd', String(-(MAX_RANDOM_REPLY + 1))])).toEqual(OUT_OF_RANGE);
    // Uniform single picks (from either end of the set): every member shows up over many picks.
    const seen = new Map<string, number>();
    const pipe = client.pipeline();
    for (let i = 0; i < 4000; i++) pipe.call('SRANDMEMBER', 'rnd');
    for (const [e, v] of (await pipe.exec())!) if (!e) seen.set(v as string, (seen.get(v as string) ?? 0) + 1);
    expect(seen.size).toBeGreaterThan(190);
    // Expected 20 per member; a member picked 60 times would mean a strongly skewed choice.
    expect(Math.max(...seen.values())).toBeLessThan(60);
    // SPOP drains the set with every member exactly once, in no fixed order.
    const popped: string[] = [];
    const p2 = client.pipeline();
    for (let i = 0; i < 150; i++) p2.call('SPOP', 'rnd');
    for (const [e, v] of (await p2.exec())!) if (!e) popped.push(v as string);
    popped.push(...((await client.call('SPOP', 'rnd', '30')) as string[]));
    popped.push(...((await client.call('SPOP', 'rnd', '100')) as string[]));
    expect(popped.length).toBe(200);
    expect([...popped].sort()).toEqual([...members].sort());
    expect(popped).not.toEqual(members);
    expect(await client.call('exists', 'rnd')).toBe(0);
  });

  it('holds a large set: pipelined writes, SSCAN, SMEMBERS, algebra, SPOP count, then DEL and re-create', async () => {
    const N = 20_000;
    const member = (i: number): string => `member:${String(i).padStart(6, '0')}`;
    const pipe = client.pipeline();
    for (let start = 0; start < N; start += 250) {
      const args: string[] = [];
      for (let i = start; i < start + 250; i++) args.push(member(i));
      pipe.call('sadd', '{L}big', ...args);
    }
    const added = (await pipe.exec())!.map(([e, v]) => (e ? e.message : v));
    expect(added.every((n) => n === 250)).toBe(true);
    expect(await client.call('scard', '{L}big')).toBe(N);
    expect(await client.call('sismember', '{L}big', member(12345))).toBe(1);
    expect(await client.call('sismember', '{L}big', member(N))).toBe(0);

    // Full SSCAN: every member at least once, nothing else, pages near COUNT.
    const seen = new Set<string>();
    let cursor = '0';
    let calls = 0;
    do {
      const [next, page] = (await client.call('sscan', '{L}big', cursor, 'count', '700')) as [string, string[]];
      expect(page.length).toBeLessThanOrEqual(700);
      for (const m of page) seen.add(m);
      cursor = next;
      calls++;
    } while (cursor !== '0' && calls < 10_000);
    expect(cursor).toBe('0');
    expect(seen.size).toBe(N);
    for (let i = 0; i < N; i++) if (!seen.has(member(i))) throw new Error(`SSCAN missed ${member(i)}`);
    expect(calls).toBeGreaterThanOrEqual(N / 700);
    const matched: string[] = [];
    cursor = '0';
    do {
      const [next, page] = (await client.call('sscan', '{L}big', cursor, 'match', 'member:0001[0-4]?', 'count', '5000')) as [string, string[]];
      matched.push(...page);
      cursor = next;
    } while (cursor !== '0');
    expect(matched.sort()).toEqual(Array.from({ length: 50 }, (_, i) => member(100 + i)));

    const all = (await client.call('SMEMBERS', '{L}big')) as string[];
    expect(all.length).toBe(N);
    for (let i = 0; i < N; i++) if (all[i] !== member(i)) throw new Error(`SMEMBERS entry ${i}: ${all[i]}`);

    // Algebra against the big set, on its shard and across shards.
    await client.call('sadd', '{L}small', member(5), member(19999), 'not-there');
    await client.call('sadd', 'small-elsewhere', member(7), member(8), 'nope');
    expect(((await client.call('sinter', '{L}small', '{L}big')) as string[]).sort()).toEqual([member(19999), member(5)].sort());
    expect(((await client.call('sinter', '{L}big', 'small-elsewhere')) as string[]).sort()).toEqual([member(7), member(8)]);
    expect(await client.call('sintercard', '2', '{L}big', '{L}big', 'limit', '1234')).toBe(1234);
    expect(await client.call('sdiff', '{L}small', '{L}big')).toEqual(['not-there']);
    expect(((await client.call('sdiff', '{L}big', '{L}small')) as string[]).length).toBe(N - 2);
    // Two small sets to subtract: Redis' cost estimate picks the merge over probing.
    const merged = (await client.call('sdiff', '{L}big', '{L}small', '{L}small')) as string[];
    expect(merged.length).toBe(N - 2);
    expect(merged[0]).toBe(member(0));
    expect(merged).not.toContain(member(5));
    expect(await client.call('sunionstore', '{L}copy', '{L}big', '{L}small')).toBe(N + 1);
    expect(await client.call('sdiffstore', '{L}copy', '{L}copy', '{L}big')).toBe(1);
    expect(await client.call('SMEMBERS', '{L}copy')).toEqual(['not-there']);
    expect(await client.call('sinterstore', 'big-elsewhere', '{L}big', 'small-elsewhere')).toBe(2);
    expect(await client.call('sunionstore', 'big-elsewhere', '{L}big', 'small-elsewhere')).toBe(N + 1);
    expect(await client.call('scard', 'big-elsewhere')).toBe(N + 1);

    // SPOP count: distinct members, all gone afterwards.
    const popped = (await client.call('spop', '{L}big', '5000')) as string[];
    expect(popped.length).toBe(5000);
    expect(new Set(popped).size).toBe(5000);
    for (const m of popped) if (!/^member:\d{6}$/.test(m) || Number(m.slice(7)) >= N) throw new Error(`bad pop ${m}`);
    expect(await client.call('scard', '{L}big')).toBe(N - 5000);
    const still = (await client.call('smismember', '{L}big', ...popped)) as number[];
    expect(still.every((x) => x === 0)).toBe(true);
    const one = (await client.call('spop', '{L}big')) as string;
    expect(popped).not.toContain(one);
    expect(await client.call('scard', '{L}big')).toBe(N - 5001);
    const picks = (await client.call('SRANDMEMBER', '{L}big', '100')) as string[];
    expect(new Set(picks).size).toBe(100);
    expect(((await client.call('smismember', '{L}big', ...picks)) as number[]).every((x) => x === 1)).toBe(true);

    // DEL is O(1); a set re-created under the same name sees none of the old members.
    expect(await client.call('del', '{L}big', 'big-elsewhere')).toBe(2);
    expect(await client.call('scard', '{L}big')).toBe(0);
    expect(await client.call('sadd', '{L}big', 'fresh', member(1))).toBe(2);
    expect(await client.call('scard', '{L}big')).toBe(2);
    expect(await client.call('SMEMBERS', '{L}big')).toEqual(['fresh', member(1)]);
    expect(await client.call('sismember', '{L}big', member(2))).toBe(0);
    expect(await client.call('sscan', '{L}big', '0', 'count', '1000')).toEqual(['0', ['fresh', member(1)]]);
    expect(await client.call('sinter', '{L}big', '{L}small')).toEqual([]);
    expect(((await client.call('SRANDMEMBER', '{L}big', '-10')) as string[]).every((m) => m === 'fresh' || m === member(1))).toBe(true);
    expect(await client.call('spop', '{L}big', '10')).toEqual(['fresh', member(1)]);
    await client.call('del', '{L}small', 'small-elsewhere', '{L}copy');
  });

  it('SSCAN returns every member present throughout, while others come and go', async () => {
    const N = 1000;
    const pipe = client.pipeline();
    for (let i = 0; i < N; i++) pipe.call('sadd', 'churn', `m${String(i).padStart(4, '0')}`);
    await pipe.exec();
    const seen = new Set<string>();
    let cursor = '0';
    let calls = 0;
    do {
      const [next, page] = (await client.call('sscan', 'churn', cursor, 'count', '25')) as [string, string[]];
      for (const m of page) seen.add(m);
      cursor = next;
      await client.call('srem', 'churn', `m${900 + calls}`);
      await client.call('sadd', 'churn', `new${calls}`);
      calls++;
    } while (cursor !== '0' && calls < 1000);
    expect(cursor).toBe('0');
    for (let i = 0; i < 900; i++) expect(seen.has(`m${String(i).padStart(4, '0')}`)).toBe(true);
    await client.call('del', 'churn');
  });

  it('agrees with an in-memory model (and redis-server) over random operations', async () => {
    let seed = 4321 + shards;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const plain = namesOnShards('mk', 3, shards);
    if (shards > 1) expect(new Set(plain.map((k) => shardOf(k, shards))).size).toBe(3);
    const keys = [...plain, '{m}a', '{m}b', '{m}c'];
    const pickKey = (): string => keys[rand(keys.length)]!;
    const fromOneGroup = (n: number): string[] => {
      const group = rand(2) === 0 ? plain : keys.slice(3);
      return Array.from({ length: n }, () => group[rand(group.length)]!);
    };
    const memberName = (): string => (rand(3) === 0 ? `v${rand(6)}` : String(rand(8)));
    const model = new Map<string, Set<string>>();
    const setOf = (k: string): Set<string> => model.get(k) ?? new Set();
    const store = (k: string, s: Set<string>): void => {
      if (s.size === 0) model.delete(k);
      else model.set(k, s);
    };
    const inter = (ks: string[]): Set<string> => {
      const [first, ...rest] = ks.map(setOf);
      return new Set([...first!].filter((m) => rest.every((s) => s.has(m))));
    };
    const union = (ks: string[]): Set<string> => new Set(ks.flatMap((k) => [...setOf(k)]));
    const diff = (ks: string[]): Set<string> => {
      const [first, ...rest] = ks.map(setOf);
      return new Set([...first!].filter((m) => !rest.some((s) => s.has(m))));
    };
    const sorted = (s: Set<string>): string[] => [...s].sort();
    const mismatches: string[] = [];

    for (let step = 0; step < 1000; step++) {
      let args: string[];
      let expected: Reply;
      let normalize: Normalize = (r) => r;
      // Random outcomes (SPOP below a set's size): applied from Cairn's reply, then mirrored to redis-server.
      let popped: { key: string } | null = null;
      const key = pickKey();
      const nk = 1 + rand(3);
      const ks = rand(2) === 0 ? fromOneGroup(nk) : Array.from({ length: nk }, pickKey);
      switch (rand(16)) {
        case 0:
        case 1: {
          const ms = Array.from({ length: 1 + rand(4) }, memberName);
          args = ['sadd', key, ...ms];
          const s = setOf(key);
          const before = s.size;
          for (const m of ms) s.add(m);
          store(key, s);
          expected = s.size - before;
          break;
        }
        case 2: {
          const ms = Array.from({ length: 1 + rand(3) }, memberName);
          args = ['srem', key, ...ms];
          const s = setOf(key);
          let n = 0;
          for (const m of ms) if (s.delete(m)) n++;
          store(key, s);
          expected = n;
          break;
        }
        case 3: {
          const m = memberName();
          args = ['sismember', key, m];
          expected = setOf(key).has(m) ? 1 : 0;
          break;
        }
        case 4: {
          const ms = [memberName(), memberName()];
          args = ['smismember', key, ...ms];
          expected = ms.map((m) => (setOf(key).has(m) ? 1 : 0));
          break;
        }
        case 5:
          args = rand(2) === 0 ? ['scard', key] : ['smembers', key];
          expected = args[0] === 'scard' ? setOf(key).size : sorted(setOf(key));
          normalize = ITEMS;
          break;
        case 6:
          args = ['sinter', ...ks];
          expected = sorted(inter(ks));
          normalize = ITEMS;
          break;
        case 7:
          args = ['sunion', ...ks];
          expected = sorted(union(ks));
          normalize = ITEMS;
          break;
        case 8:
          args = ['sdiff', ...ks];
          expected = sorted(diff(ks));
          normalize = ITEMS;
          break;
        case 9: {
          const limit = rand(4);
          args = ['sintercard', String(ks.length), ...ks, 'limit', String(limit)];
          const n = inter(ks).size;
          expected = limit === 0 ? n : Math.min(n, limit);
          break;
        }
        case 10:
        case 11: {
          const op = (['sinterstore', 'sunionstore', 'sdiffstore'] as const)[rand(3)]!;
          const dst = rand(3) === 0 ? ks[0]! : pickKey();
          args = [op, dst, ...ks];
          const result = op === 'sinterstore' ? inter(ks) : op === 'sunionstore' ? union(ks) : diff(ks);
          store(dst, result);
          expected = result.size;
          break;
        }
        case 12:
        case 13: {
          const src = pickKey();
          const dst = rand(4) === 0 ? src : pickKey();
          const m = memberName();
          args = ['smove', src, dst, m];
          const s = setOf(src);
          if (src === dst) expected = s.has(m) ? 1 : 0;
          else if (!s.delete(m)) expected = 0;
          else {
            store(src, s);
            const d = setOf(dst);
            d.add(m);
            store(dst, d);
            expected = 1;
          }
          break;
        }
        case 14: {
          const count = rand(4);
          args = ['spop', key, String(count)];
          const s = setOf(key);
          if (count >= s.size) {
            expected = sorted(s);
            model.delete(key);
            normalize = ITEMS;
          } else {
            expected = null;
            popped = { key };
          }
          break;
        }
        default:
          args = ['del', key];
          expected = model.has(key) ? 1 : 0;
          model.delete(key);
      }
      const got = normalize(await run(client, args));
      if (popped) {
        // Random members: they must have been members, and now they are not.
        const s = setOf(popped.key);
        const count = Number(args[2]);
        const list = got as string[];
        if (!Array.isArray(list) || list.length !== count || new Set(list).size !== count || !list.every((m) => s.has(m))) {
          mismatches.push(`step ${step} ${args.join(' ')}: popped ${JSON.stringify(got)} from ${JSON.stringify(sorted(s))}`);
        }
        if (Array.isArray(list)) {
          for (const m of list) s.delete(m as string);
          store(popped.key, s);
          if (ref && list.length > 0) await ref.call('srem', popped.key, ...(list as string[]));
        }
      } else {
        if (JSON.stringify(got) !== JSON.stringify(normalize(expected))) {
          mismatches.push(`step ${step} ${args.join(' ')}: model ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
        }
        if (ref) {
          const want = normalize(await run(ref, args));
          if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`step ${step} ${args.join(' ')}: redis-server ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
        }
      }
      if (mismatches.length > 5) break;
    }
    expect(mismatches).toEqual([]);
    // The end state agrees too.
    for (const k of keys) {
      expect(sortItems((await client.call('SMEMBERS', k)) as Reply)).toEqual(sorted(setOf(k)));
      if (ref) expect(sortItems((await ref.call('SMEMBERS', k)) as Reply)).toEqual(sorted(setOf(k)));
    }
    await client.call('del', ...keys);
  });

  it.runIf(shards > 1)('cross-shard SMOVE and STORE forms are atomic to concurrent clients', async () => {
    const [s1, s2, dst, dst2] = namesOnShards('atom', 4, shards) as [string, string, string, string];
    expect(new Set([s1, s2, dst, dst2].map((k) => shardOf(k, shards))).size).toBe(4);
    const N = 40;
    const members = Array.from({ length: N }, (_, i) => `m${i}`);
    await client.call('del', s1, s2, dst, dst2);
    await client.call('sadd', s1, ...members);
    const mover = newClient(server.port);
    const storer = newClient(server.port);
    const reader = newClient(server.port);
    const problems: string[] = [];
    let moves = 0;
    let attempts = 0;
    let done = false;
    // Run until enough members really moved under contention (bounded in time).
    const deadline = Date.now() + 4000;
    try {
      const move = async (): Promise<void> => {
        let seed = 7;
        while (moves < 150 && Date.now() < deadline) {
          const p = mover.pipeline();
          for (let j = 0; j < 20; j++) {
            seed = (seed * 48271) % 2147483647;
            const m = members[seed % N]!;
            seed = (seed * 48271) % 2147483647;
            if (seed % 2 === 0) p.call('smove', s1, s2, m);
            else p.call('smove', s2, s1, m);
          }
          for (const [e, v] of (await p.exec())!) {
            if (e) problems.push(`smove: ${e.message}`);
            else moves += v as number;
            attempts++;
          }
        }
        done = true;
      };
      const storeLoop = async (): Promise<void> => {
        while (!done) {
          const p = storer.pipeline();
          for (let j = 0; j < 10; j++) {
            p.call('sunionstore', dst, s1, s2);
            p.call('sinterstore', dst2, s1, s2);
          }
          const rs = (await p.exec())!;
          for (let j = 0; j < rs.length; j += 2) {
            const [e1, union] = rs[j]!;
            const [e2, both] = rs[j + 1]!;
            if (e1 || e2) problems.push(`store: ${(e1 ?? e2)!.message}`);
            if (union !== N) problems.push(`SUNIONSTORE saw ${String(union)} members`);
            if (both !== 0) problems.push(`SINTERSTORE saw ${String(both)} members in both sets`);
          }
          const stored = (await storer.call('smembers', dst)) as string[];
          if (stored.length !== N) problems.push(`stored union has ${stored.length} members`);
        }
      };
      const read = async (): Promise<void> => {
        while (!done) {
          const p = reader.pipeline();
          for (let j = 0; j < 10; j++) {
            p.call('sunion', s1, s2);
            p.call('sintercard', '2', s1, s2);
            p.call('sdiff', s1, s2);
          }
          const rs = (await p.exec())!;
          for (let j = 0; j < rs.length; j += 3) {
            const union = rs[j]![1] as string[];
            const both = rs[j + 1]![1] as number;
            const only1 = rs[j + 2]![1] as string[];
            if (union.length !== N) problems.push(`SUNION saw ${union.length} members`);
            if (both !== 0) problems.push(`SINTERCARD saw ${both}`);
            if (only1.length > N) problems.push(`SDIFF saw ${only1.length}`);
          }
        }
      };
      await Promise.all([move(), storeLoop(), read()]);
    } finally {
      mover.disconnect();
      storer.disconnect();
      reader.disconnect();
    }
    expect(problems.slice(0, 10)).toEqual([]);
    expect(moves).toBeGreaterThan(20);
    expect(moves).toBeLessThan(attempts);
    const final1 = (await client.call('smembers', s1)) as string[];
    const final2 = (await client.call('smembers', s2)) as string[];
    expect([...final1, ...final2].sort()).toEqual([...members].sort());
    await client.call('del', s1, s2, dst, dst2);
  });
});
