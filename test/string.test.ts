/**
 * String commands: exact Redis 7.0 replies and errors, checked against hard-coded expectations
 * and, when /usr/bin/redis-server exists, reply for reply against a real redis-server.
 *
 * Cairn has no command yet that creates a non-string key, so WRONGTYPE paths use hash keys
 * written into the shards' LevelDB (through the Store, as the server would) before it starts;
 * the reference server gets the same keys with HSET.
 *
 * HELLO is not implemented yet, so RESP3 replies are checked by running the shard handlers
 * directly on a real Store with a RESP3 ReplyWriter (and compared with redis-server's bytes).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Redis } from 'ioredis';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, tempDir, type TestServer } from './helpers/server.js';
import { RawClient } from './helpers/raw.js';
import { startOracle, REDIS_SERVER, type OracleServer as Oracle } from './helpers/oracle.js';
import { Store } from '../src/storage/store.js';
import { Type } from '../src/storage/encoding.js';
import { keyShard } from '../src/server/slot.js';
import { ReplyWriter } from '../src/server/resp/writer.js';
import { lookupCommand } from '../src/commands/table.js';
import { CommandError } from '../src/commands/errors.js';
import { parseLongDouble, addLongDouble, formatLongDoubleHuman, LD_ZERO } from '../src/util/long-double.js';
import { lcsReply } from '../src/commands/string-util.js';

// ------------------------------------------------------------------ helpers

const STORE_OPTIONS = { rowCacheSize: 0, cacheSize: 1 << 20, writeBufferSize: 1 << 20, maxOpenFiles: 64, compression: false };


/** Non-string keys every suite can use for WRONGTYPE paths. */
const HASH_KEYS = ['hash1', 'hash2', 'hash3', 'hash4', '{t}hash'];

/** Writes hash-type keys (meta only) into a fresh data dir's shard stores, before the server opens it. */
async function seedHashes(dir: string, shards: number, keys: string[]): Promise<void> {
  for (let shard = 0; shard < shards; shard++) {
    const store = await Store.open(path.join(dir, `shard-${shard}`), 16, shard, shards, STORE_OPTIONS);
    for (const k of keys) {
      const key = Buffer.from(k);
      if (keyShard(key, shards) !== shard) continue;
      store.putMeta(0, key, { type: Type.HASH, flags: 0, expire: 0, version: store.newVersion(), size: 1 }, null);
    }
    const batch = store.takeOps();
    if (batch) {
      await store.db.batch(batch.ops as never);
      batch.done();
    }
    await store.close();
  }
}

type Reply = null | number | string | Buffer | { error: string } | Reply[];
const err = (text: string): { error: string } => ({ error: text });

async function run(client: Redis, args: (string | Buffer)[]): Promise<Reply> {
  try {
    return (await client.call(args[0] as string, ...args.slice(1))) as Reply;
  } catch (e) {
    return { error: (e as Error).message };
  }
}

async function runBuffer(client: Redis, args: (string | Buffer)[]): Promise<Reply> {
  try {
    return (await client.callBuffer(args[0] as string, ...args.slice(1))) as Reply;
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Deterministic pseudo-random text over a small alphabet (so LCS has structure). */
function pseudoText(seed: number, len: number, alphabet = 'abcd'): string {
  let x = seed >>> 0;
  let s = '';
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    s += alphabet[(x >>> 16) % alphabet.length];
  }
  return s;
}

const WRONGTYPE = err('WRONGTYPE Operation against a key holding the wrong kind of value');
const SYNTAX = err('ERR syntax error');
const NOT_INT = err('ERR value is not an integer or out of range');
const NOT_FLOAT = err('ERR value is not a valid float');
const OVERFLOW = err('ERR increment or decrement would overflow');
const NAN_INF = err('ERR increment would produce NaN or Infinity');
const TOO_BIG = err('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
const LCS_TYPE = err('ERR The specified keys must contain string values');
const invalidExpire = (cmd: string): { error: string } => err(`ERR invalid expire time in '${cmd}' command`);
const wrongArgs = (cmd: string): { error: string } => err(`ERR wrong number of arguments for '${cmd}' command`);

/** 1e400 + 0 as Redis (x86-64 long double) prints it. */
const E400 = '10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880';
const LONG_A = pseudoText(7, 300);
const LONG_B = pseudoText(11, 280);

/**
 * The reference script: [command, expected reply]. `undefined` means "only compared with
 * redis-server" (the reply is too long to write out). Runs top to bottom on one database.
 */
const SCRIPT: [(string | Buffer)[], Reply | undefined][] = [
  // SET and its options
  [['set', 's', 'v'], 'OK'],
  [['get', 's'], 'v'],
  [['get', 'nokey'], null],
  [['set', 's', 'v2', 'nx'], null],
  [['get', 's'], 'v'],
  [['set', 's', 'v3', 'xx'], 'OK'],
  [['set', 's2', 'v', 'xx'], null],
  [['get', 's2'], null],
  [['set', 's2', 'v', 'NX'], 'OK'],
  [['set', 's', 'v', 'nx', 'xx'], SYNTAX],
  [['set', 's', 'v', 'xx', 'nx'], SYNTAX],
  [['set', 's', 'v', 'ex', '10', 'px', '100'], SYNTAX],
  [['set', 's', 'v', 'px', '100', 'ex', '10'], SYNTAX],
  [['set', 's', 'v', 'ex', '10', 'exat', '99999999999'], SYNTAX],
  [['set', 's', 'v', 'pxat', '99999999999999', 'px', '10'], SYNTAX],
  [['set', 's', 'v', 'keepttl', 'ex', '10'], SYNTAX],
  [['set', 's', 'v', 'ex', '10', 'keepttl'], SYNTAX],
  [['set', 's', 'v', 'persist'], SYNTAX],
  [['set', 's', 'v', 'ex'], SYNTAX],
  [['set', 's', 'v', 'px'], SYNTAX],
  [['set', 's', 'v', 'exat'], SYNTAX],
  [['set', 's', 'v', 'bogus'], SYNTAX],
  [['set', 's', 'v', 'ex', 'abc', 'nx', 'xx'], SYNTAX],
  [['set', 's', 'v', 'ex', '0'], invalidExpire('set')],
  [['set', 's', 'v', 'ex', '-5'], invalidExpire('set')],
  [['set', 's', 'v', 'px', '0'], invalidExpire('set')],
  [['set', 's', 'v', 'exat', '0'], invalidExpire('set')],
  [['set', 's', 'v', 'pxat', '-1'], invalidExpire('set')],
  [['set', 's', 'v', 'ex', 'abc'], NOT_INT],
  [['set', 's', 'v', 'ex', '1.5'], NOT_INT],
  [['set', 's', 'v', 'ex', '9223372036854775808'], NOT_INT],
  [['set', 's', 'v', 'ex', '9223372036854775'], invalidExpire('set')],
  [['set', 's', 'v', 'ex', '9223372036854776'], invalidExpire('set')],
  [['set', 's', 'v', 'px', '9223372036854775807'], invalidExpire('set')],
  [['set', 's', 'v', 'exat', '9223372036854775'], 'OK'],
  [['set', 's', 'v', 'pxat', '9223372036854775807'], 'OK'],
  [['set', 's', 'v', 'ex', '10', 'ex', '20'], 'OK'],
  [['set', 's', 'v', 'EX', '100', 'nx'], null],
  [['set', 's', 'v4', 'Keepttl', 'XX'], 'OK'],
  [['set', 's', 'v5', 'pXaT', '99999999999999'], 'OK'],
  [['set', 's', 'w', 'get'], 'v5'],
  [['set', 's', 'x', 'get', 'get'], 'w'],
  [['set', 's', 'y', 'nx', 'get'], 'x'],
  [['get', 's'], 'x'],
  [['set', 'sg', 'y', 'nx', 'get'], null],
  [['get', 'sg'], 'y'],
  [['set', 'sx', 'y', 'xx', 'get'], null],
  [['get', 'sx'], null],
  [['set', 'sg', 'z', 'xx', 'get', 'ex', '100'], 'y'],
  [['get', 'sg'], 'z'],
  [['set', 'hash1', 'v', 'get'], WRONGTYPE],
  [['set', 'hash1', 'v', 'nx', 'get'], WRONGTYPE],
  [['set', 'hash1', 'v', 'ex', '0', 'get'], invalidExpire('set')],
  [['set', 'hash1', 'v', 'nx'], null],
  [['set', 'empty', ''], 'OK'],
  [['get', 'empty'], ''],
  [['set', 's'], wrongArgs('set')],
  // SETNX / SETEX / PSETEX
  [['setnx', 'nx1', 'a'], 1],
  [['setnx', 'nx1', 'b'], 0],
  [['get', 'nx1'], 'a'],
  [['setnx', 'hash1', 'x'], 0],
  [['setex', 'se', '100', 'v'], 'OK'],
  [['get', 'se'], 'v'],
  [['setex', 'se', '0', 'v'], invalidExpire('setex')],
  [['setex', 'se', '-1', 'v'], invalidExpire('setex')],
  [['setex', 'se', 'abc', 'v'], NOT_INT],
  [['setex', 'se', '9223372036854775', 'v'], invalidExpire('setex')],
  [['psetex', 'pse', '100000', 'v'], 'OK'],
  [['get', 'pse'], 'v'],
  [['psetex', 'pse', '0', 'v'], invalidExpire('psetex')],
  [['psetex', 'pse', '9223372036854775807', 'v'], invalidExpire('psetex')],
  [['setex', 'se', '100'], wrongArgs('setex')],
  // GETSET / GETDEL
  [['getset', 'gs', 'a'], null],
  [['getset', 'gs', 'b'], 'a'],
  [['getset', 'hash1', 'x'], WRONGTYPE],
  [['getdel', 'gs'], 'b'],
  [['getdel', 'gs'], null],
  [['get', 'gs'], null],
  [['getdel', 'hash1'], WRONGTYPE],
  // GETEX
  [['set', 'gx', 'v'], 'OK'],
  [['getex', 'gx'], 'v'],
  [['getex', 'gx', 'ex', '100'], 'v'],
  [['getex', 'gx', 'px', '100000'], 'v'],
  [['getex', 'gx', 'exat', '99999999999'], 'v'],
  [['getex', 'gx', 'pxat', '99999999999999'], 'v'],
  [['getex', 'gx', 'persist'], 'v'],
  [['getex', 'gx', 'PERSIST'], 'v'],
  [['getex', 'gx', 'ex', '10', 'ex', '20'], 'v'],
  [['getex', 'gx', 'ex', '0'], invalidExpire('getex')],
  [['getex', 'gx', 'ex', '-1'], invalidExpire('getex')],
  [['getex', 'gx', 'pxat', '0'], invalidExpire('getex')],
  [['getex', 'gx', 'ex', 'abc'], NOT_INT],
  [['getex', 'gx', 'px', '9223372036854775807'], invalidExpire('getex')],
  [['getex', 'nokey', 'ex', '-1'], null],
  [['getex', 'hash1', 'ex', '-1'], WRONGTYPE],
  [['getex', 'hash1'], WRONGTYPE],
  [['getex', 'gx', 'foo'], SYNTAX],
  [['getex', 'gx', 'nx'], SYNTAX],
  [['getex', 'gx', 'xx'], SYNTAX],
  [['getex', 'gx', 'get'], SYNTAX],
  [['getex', 'gx', 'keepttl'], SYNTAX],
  [['getex', 'gx', 'persist', 'ex', '10'], SYNTAX],
  [['getex', 'gx', 'ex', '10', 'persist'], SYNTAX],
  [['getex', 'gx', 'ex', '10', 'px', '10'], SYNTAX],
  [['getex', 'gx', 'ex'], SYNTAX],
  [['getex', 'gx', 'exat', '1'], 'v'],
  [['get', 'gx'], null],
  [['getex', 'gx'], null],
  // MGET / MSET / MSETNX
  [['mset', 'm1', 'a', 'm2', 'b', 'm3', 'c', 'm4', 'd'], 'OK'],
  [['mget', 'm1', 'm2', 'm3', 'm4'], ['a', 'b', 'c', 'd']],
  [['mget', 'm1', 'nokey', 'hash1', 'm4', 'empty', 'm1'], ['a', null, null, 'd', '', 'a']],
  [['mget', 'hash1'], [null]],
  [['mget', 'nokey'], [null]],
  [['mget'], wrongArgs('mget')],
  [['mset', 'm1'], wrongArgs('mset')],
  [['mset', 'm1', 'a', 'm2'], wrongArgs('mset')],
  [['mset', 'm1', 'a', 'm4', 'b', 'm3'], wrongArgs('mset')],
  [['mset', 'm1', 'x', 'm1', 'y'], 'OK'],
  [['get', 'm1'], 'y'],
  [['mset', 'hash2', 'x', 'm2', 'z'], 'OK'],
  [['mget', 'hash2', 'm2'], ['x', 'z']],
  [['msetnx', 'n1', 'a', 'n2', 'b', 'n3', 'c'], 1],
  [['mget', 'n1', 'n2', 'n3'], ['a', 'b', 'c']],
  [['msetnx', 'n3', 'x', 'n4', 'y', 'n5', 'z'], 0],
  [['mget', 'n3', 'n4', 'n5'], ['c', null, null]],
  [['msetnx', 'n4', 'a', 'n4', 'b'], 1],
  [['get', 'n4'], 'b'],
  [['msetnx', 'n5', 'a', 'n6'], wrongArgs('msetnx')],
  [['msetnx', 'n5', 'a', 'n1', 'x', 'n2'], wrongArgs('msetnx')],
  [['msetnx', 'n5', 'a', 'hash3', 'x'], 0],
  [['get', 'n5'], null],
  // APPEND / STRLEN
  [['append', 'ap', 'hello'], 5],
  [['append', 'ap', ' world'], 11],
  [['get', 'ap'], 'hello world'],
  [['append', 'hash1', 'x'], WRONGTYPE],
  [['append', 'ap2', ''], 0],
  [['get', 'ap2'], ''],
  [['strlen', 'ap'], 11],
  [['strlen', 'nokey'], 0],
  [['strlen', 'empty'], 0],
  [['strlen', 'hash1'], WRONGTYPE],
  // GETRANGE / SUBSTR
  [['set', 'gr', 'This is a string'], 'OK'],
  [['getrange', 'gr', '0', '3'], 'This'],
  [['getrange', 'gr', '-3', '-1'], 'ing'],
  [['getrange', 'gr', '0', '-1'], 'This is a string'],
  [['getrange', 'gr', '10', '100'], 'string'],
  [['getrange', 'gr', '5', '3'], ''],
  [['getrange', 'gr', '-1', '-5'], ''],
  [['getrange', 'gr', '-100', '-50'], 'T'],
  [['getrange', 'gr', '-100', '2'], 'Thi'],
  [['getrange', 'gr', '100', '200'], ''],
  [['getrange', 'gr', '0', '0'], 'T'],
  [['getrange', 'gr', '-1', '-1'], 'g'],
  [['getrange', 'gr', '-9223372036854775808', '9223372036854775807'], 'This is a string'],
  [['getrange', 'gr', '-1152921504606846976', '-2305843009213693952'], ''],
  [['getrange', 'gr', '-2305843009213693952', '-1152921504606846976'], 'T'],
  [['getrange', 'gr', 'a', '1'], NOT_INT],
  [['getrange', 'gr', '0', '1.0'], NOT_INT],
  [['getrange', 'gr', '9223372036854775808', '1'], NOT_INT],
  [['getrange', 'nokey', '0', '-1'], ''],
  [['getrange', 'nokey', 'a', '1'], NOT_INT],
  [['getrange', 'empty', '0', '-1'], ''],
  [['getrange', 'hash1', '0', '1'], WRONGTYPE],
  [['substr', 'gr', '0', '3'], 'This'],
  [['substr', 'gr', '-6', '-1'], 'string'],
  [['substr', 'hash1', '0', '1'], WRONGTYPE],
  [['getrange', 'gr', '0'], wrongArgs('getrange')],
  // SETRANGE
  [['setrange', 'sr', '5', 'abc'], 8],
  [['get', 'sr'], '\0\0\0\0\0abc'],
  [['setrange', 'sr', '0', 'XY'], 8],
  [['setrange', 'sr', '10', 'Z'], 11],
  [['get', 'sr'], 'XY\0\0\0abc\0\0Z'],
  [['setrange', 'sr', '-1', 'x'], err('ERR offset is out of range')],
  [['setrange', 'sr', 'a', 'x'], NOT_INT],
  [['setrange', 'sr2', '0', ''], 0],
  [['setrange', 'sr2', '100', ''], 0],
  [['get', 'sr2'], null],
  [['setrange', 'sr', '536870912', 'x'], TOO_BIG],
  [['setrange', 'sr', '536870911', ''], 11],
  [['setrange', 'sr', '9223372036854775807', 'x'], TOO_BIG],
  [['setrange', 'nokey2', '536870912', ''], 0],
  [['setrange', 'nokey2', '536870912', 'x'], TOO_BIG],
  [['setrange', 'hash1', '0', 'x'], WRONGTYPE],
  [['setrange', 'hash1', '0', ''], WRONGTYPE],
  [['setrange', 'hash1', '-1', 'x'], err('ERR offset is out of range')],
  // INCR / DECR / INCRBY / DECRBY
  [['incr', 'c1'], 1],
  [['incr', 'c1'], 2],
  [['incrby', 'c1', '10'], 12],
  [['incrby', 'c1', '-20'], -8],
  [['decr', 'c1'], -9],
  [['decrby', 'c1', '5'], -14],
  [['decrby', 'c1', '-5'], -9],
  [['get', 'c1'], '-9'],
  [['incrby', 'c1', 'abc'], NOT_INT],
  [['incrby', 'c1', '1.5'], NOT_INT],
  [['incrby', 'c1', ' 1'], NOT_INT],
  [['incrby', 'c1', '+1'], NOT_INT],
  [['incrby', 'c1', '9223372036854775808'], NOT_INT],
  [['decrby', 'c1', '-9223372036854775808'], err('ERR decrement would overflow')],
  [['decrby', 'hash1', '-9223372036854775808'], err('ERR decrement would overflow')],
  [['incrby', 'hash1', 'abc'], NOT_INT],
  [['incr', 'hash1'], WRONGTYPE],
  [['decr', 'hash1'], WRONGTYPE],
  [['set', 'c2', '9223372036854775807'], 'OK'],
  [['incr', 'c2'], OVERFLOW],
  [['incrby', 'c2', '-9223372036854775808'], -1],
  [['set', 'c3', '-9223372036854775808'], 'OK'],
  [['decr', 'c3'], OVERFLOW],
  [['incrby', 'c3', '-1'], OVERFLOW],
  [['decrby', 'c3', '1'], OVERFLOW],
  [['decrby', 'c3', '-9223372036854775807'], -1],
  [['incrby', 'c10', '9223372036854775807'], 9223372036854775807],
  [['get', 'c10'], '9223372036854775807'],
  [['incr', 'c10'], OVERFLOW],
  // Either side of the 15-digit fast path (exact as numbers) and the BigInt path.
  [['set', 'c11', '999999999999999'], 'OK'],
  [['incr', 'c11'], 1000000000000000],
  [['incrby', 'c11', '999999999999999'], 1999999999999999],
  [['incrby', 'c11', '7000000000000000'], 8999999999999999],
  [['incr', 'c11'], 9000000000000000],
  [['get', 'c11'], '9000000000000000'],
  [['set', 'c12', '-999999999999999'], 'OK'],
  [['decrby', 'c12', '999999999999999'], -1999999999999998],
  [['set', 'c13', '0'], 'OK'],
  [['incrby', 'c13', '-1000000000000000'], -1000000000000000],
  [['set', 'c14', '-'], 'OK'],
  [['incr', 'c14'], NOT_INT],
  [['set', 'c15', '12a'], 'OK'],
  [['incr', 'c15'], NOT_INT],
  [['set', 'c4', 'abc'], 'OK'],
  [['incr', 'c4'], NOT_INT],
  [['set', 'c5', ' 1'], 'OK'],
  [['incr', 'c5'], NOT_INT],
  [['set', 'c6', '01'], 'OK'],
  [['incr', 'c6'], NOT_INT],
  [['set', 'c7', '-0'], 'OK'],
  [['incr', 'c7'], NOT_INT],
  [['set', 'c8', ''], 'OK'],
  [['incr', 'c8'], NOT_INT],
  [['set', 'c9', '1e3'], 'OK'],
  [['incr', 'c9'], NOT_INT],
  [['set', 'c11', '-42'], 'OK'],
  [['incr', 'c11'], -41],
  // INCRBYFLOAT
  [['incrbyfloat', 'f1', '10.5'], '10.5'],
  [['incrbyfloat', 'f1', '0.1'], '10.6'],
  [['incrbyfloat', 'f1', '-5.0e3'], '-4989.39999999999999991'],
  [['incrbyfloat', 'f2', '3.0e3'], '3000'],
  [['incrbyfloat', 'f3', '1e20'], '100000000000000000000'],
  [['incrbyfloat', 'f4', '-0.0'], '0'],
  [['incrbyfloat', 'f5', '5.0e-5'], '0.00005'],
  [['incrbyfloat', 'f6', '0x10'], '16'],
  [['incrbyfloat', 'f6', '0x1p3'], '24'],
  [['incrbyfloat', 'f6', '0x.8'], '24.5'],
  [['incrbyfloat', 'f6', '0x'], NOT_FLOAT],
  [['incrbyfloat', 'f6', ' 1'], NOT_FLOAT],
  [['incrbyfloat', 'f6', '1 '], NOT_FLOAT],
  [['incrbyfloat', 'f6', ''], NOT_FLOAT],
  [['incrbyfloat', 'f6', '.'], NOT_FLOAT],
  [['incrbyfloat', 'f6', '1e'], NOT_FLOAT],
  [['incrbyfloat', 'f6', '1e 5'], NOT_FLOAT],
  [['incrbyfloat', 'f6', 'nan'], NOT_FLOAT],
  [['incrbyfloat', 'f6', '+nan'], NOT_FLOAT],
  [['incrbyfloat', 'f6', 'abc'], NOT_FLOAT],
  [['incrbyfloat', 'f6', '1e-5000'], NOT_FLOAT],
  [['incrbyfloat', 'f6', '1e-4951'], NOT_FLOAT],
  [['incrbyfloat', 'f6', '1e5000'], NOT_FLOAT],
  [['incrbyfloat', 'f6', 'inf'], NAN_INF],
  [['incrbyfloat', 'f6', '-InFiNiTy'], NAN_INF],
  [['incrbyfloat', 'f6', '1.7976931348623157e308'], undefined],
  [['get', 'f6'], undefined],
  [['incrbyfloat', 'f7', '1.'], '1'],
  [['incrbyfloat', 'f7', '.5'], '1.5'],
  [['incrbyfloat', 'f7', '+.5e-3'], '1.5005'],
  [['incrbyfloat', 'f7', '-1.5E2'], '-148.4995'],
  [['incrbyfloat', 'f8', '-1e-20'], '0'],
  [['incrbyfloat', 'f8', '-1e-17'], '-0.00000000000000001'],
  [['incrbyfloat', 'f9', '0.1'], '0.1'],
  [['incrbyfloat', 'f9', '0.2'], '0.3'],
  [['incrbyfloat', 'f10', '123456789012345678901234567890'], '123456789012345678899921813504'],
  [['incrbyfloat', 'f11', '1.23456789012345678901234567890e-3'], '0.00123456789012346'],
  [['incrbyfloat', 'f12', '0.000003814697265625'], '0.00000381469726562'],
  [['incrbyfloat', 'f13', '0.000011444091796875'], '0.00001144409179688'],
  [['incrbyfloat', 'f14', '3e-4951'], '0'],
  [['incrbyfloat', 'f15', '0e99999999999'], '0'],
  [['incrbyfloat', 'f16', '1e400'], E400],
  [['incrbyfloat', 'f17', '1e4931'], undefined],
  [['incrbyfloat', 'f18', '1.18973149535723176508e+4932'], NOT_FLOAT],
  [['set', 'fi', '5'], 'OK'],
  [['incrbyfloat', 'fi', '1.5'], '6.5'],
  [['set', 'fx', 'abc'], 'OK'],
  [['incrbyfloat', 'fx', '1'], NOT_FLOAT],
  [['set', 'finf', 'inf'], 'OK'],
  [['incrbyfloat', 'finf', '1'], NAN_INF],
  [['incrbyfloat', 'finf', 'abc'], NOT_FLOAT],
  [['incrbyfloat', 'hash1', '1'], WRONGTYPE],
  [['incrbyfloat', 'hash1', 'abc'], WRONGTYPE],
  [['set', 'fs', ' 1'], 'OK'],
  [['incrbyfloat', 'fs', '1'], NOT_FLOAT],
  [['incrbyfloat', 'fs', '1\0abc'], NOT_FLOAT],
  [['set', 'fnul', '2\0'], 'OK'],
  [['incrbyfloat', 'fnul', '1'], NOT_FLOAT],
  [['incr', 'fnul'], NOT_INT],
  // LCS: l1/l2 live on different shards (with 4), {t}1/{t}2 on the same one
  ...lcsCases('l1', 'l2'),
  ...lcsCases('{t}1', '{t}2'),
  [['lcs', 'l1', 'hash1'], LCS_TYPE],
  [['lcs', 'hash1', 'l1', 'foo'], LCS_TYPE],
  [['lcs', '{t}1', '{t}hash', 'len', 'idx'], LCS_TYPE],
  [['lcs', 'l1', 'nokey'], ''],
  [['lcs', 'nokey', 'l1', 'idx'], ['matches', [], 'len', 0]],
  [['lcs', 'nokey', 'nokey2', 'len'], 0],
  [['lcs', 'l1', 'l1'], 'ohmytext'],
  [['lcs', 'l1'], wrongArgs('lcs')],
  [['set', 'la', LONG_A], 'OK'],
  [['set', 'lb', LONG_B], 'OK'],
  [['lcs', 'la', 'lb', 'idx', 'withmatchlen'], undefined],
  [['lcs', 'la', 'lb', 'idx', 'minmatchlen', '3'], undefined],
  [['lcs', 'la', 'lb'], undefined],
  [['lcs', 'lb', 'la', 'len'], undefined],
  [['set', 'lhuge1', 'a'.repeat(12000)], 'OK'],
  [['set', 'lhuge2', 'b'.repeat(12000)], 'OK'],
  [['lcs', 'lhuge1', 'lhuge2'], err('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len')],
  [['lcs', 'lhuge1', 'lhuge2', 'foo'], SYNTAX],
  // Plain SET replaces a key of another type
  [['set', 'hash4', 'now-a-string'], 'OK'],
  [['get', 'hash4'], 'now-a-string'],
];

function lcsCases(a: string, b: string): [(string | Buffer)[], Reply | undefined][] {
  return [
    [['set', a, 'ohmytext'], 'OK'],
    [['set', b, 'mynewtext'], 'OK'],
    [['lcs', a, b], 'mytext'],
    [['lcs', a, b, 'LEN'], 6],
    [['lcs', a, b, 'idx'], ['matches', [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], 'len', 6]],
    [['lcs', a, b, 'idx', 'minmatchlen', '4'], ['matches', [[[4, 7], [5, 8]]], 'len', 6]],
    [['lcs', a, b, 'idx', 'withmatchlen'], ['matches', [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], 'len', 6]],
    [['lcs', a, b, 'IDX', 'MINMATCHLEN', '4', 'WITHMATCHLEN'], ['matches', [[[4, 7], [5, 8], 4]], 'len', 6]],
    [['lcs', a, b, 'idx', 'minmatchlen', '-5'], ['matches', [[[4, 7], [5, 8]], [[2, 3], [0, 1]]], 'len', 6]],
    [['lcs', b, a, 'idx'], ['matches', [[[5, 8], [4, 7]], [[0, 1], [2, 3]]], 'len', 6]],
    [['lcs', a, b, 'len', 'idx'], err('ERR If you want both the length and indexes, please just use IDX.')],
    [['lcs', a, b, 'idx', 'len'], err('ERR If you want both the length and indexes, please just use IDX.')],
    [['lcs', a, b, 'minmatchlen'], SYNTAX],
    [['lcs', a, b, 'minmatchlen', 'abc'], NOT_INT],
    [['lcs', a, b, 'foo'], SYNTAX],
    [['lcs', a, b, 'len', 'len', 'minmatchlen', '1', 'minmatchlen', '2'], 6],
  ];
}

// ------------------------------------------------------------------ unit: INCRBYFLOAT arithmetic

describe('long double emulation (INCRBYFLOAT)', () => {
  const sum = (a: string, b: string): string | null => {
    const x = parseLongDouble(Buffer.from(a));
    const y = parseLongDouble(Buffer.from(b));
    if (!x || !y) return 'invalid';
    const s = addLongDouble(x, y);
    return s === null ? null : formatLongDoubleHuman(s);
  };

  it('adds and prints like x86-64 Redis', () => {
    expect(sum('10.5', '0.1')).toBe('10.6');
    expect(sum('0', '3.0e3')).toBe('3000');
    expect(sum('0', '1e20')).toBe('100000000000000000000');
    expect(sum('0', '-0.0')).toBe('0');
    expect(sum('-0', '-0')).toBe('0');
    expect(sum('0', '5.0e-5')).toBe('0.00005');
    expect(sum('0.1', '0.2')).toBe('0.3');
    expect(sum('0', '1e400')).toBe(E400);
    expect(sum('1', '-1')).toBe('0');
    expect(sum('9223372036854775807', '1')).toBe('9223372036854775808');
    // Exact ties at the 18th decimal round half to even, as glibc's printf does.
    expect(sum('0', '0.000003814697265625')).toBe('0.00000381469726562');
    expect(sum('0', '0.000011444091796875')).toBe('0.00001144409179688');
  });

  it('parses what strtold accepts and Redis keeps', () => {
    const ok = (s: string): boolean => parseLongDouble(Buffer.from(s, 'latin1')) !== null;
    for (const s of ['1', '-1', '+1', '1.', '.5', '1e5', '1E+5', '1e-5', '0x10', '0X1P-2', '0x.8', 'inf', '-Infinity', '3e-4951', '0e999999999']) {
      expect(ok(s), s).toBe(true);
    }
    for (const s of ['', ' 1', '1 ', '.', 'e5', '1e', '0x', '0x1p', 'nan', '-nan', '1e-4951', '1e5000', '1,5', '--1', 'x'.repeat(6000)]) {
      expect(ok(s), s).toBe(false);
    }
    // strtold must consume the whole argument: an embedded NUL stops it early.
    expect(ok('1\0abc')).toBe(false);
    expect(ok('\0')).toBe(false);
  });

  it('refuses NaN and infinity results', () => {
    const inf = parseLongDouble(Buffer.from('inf'))!;
    expect(addLongDouble(inf, LD_ZERO)).toBeNull();
    const max = parseLongDouble(Buffer.from('1.18973149535723176502e+4932'))!;
    expect(addLongDouble(max, max)).toBeNull();
  });
});

// ------------------------------------------------------------------ unit: RESP3 replies of the shard handlers

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

  /** Runs one command's shard handler with a RESP3 writer; returns the reply bytes. */
  const call = (...args: string[]): string => {
    const w = new ReplyWriter(256);
    w.resp = 3;
    try {
      void lookupCommand(args[0]!)!.shard!({ args: args.map((a) => Buffer.from(a)), db: 0, w, store, sync: async () => undefined });
    } catch (e) {
      w.len = 0;
      w.error((e as CommandError).reply);
    }
    return w.take().toString('latin1');
  };

  it('uses RESP3 nulls and maps', () => {
    expect(call('get', 'r3:none')).toBe('_\r\n');
    expect(call('set', 'r3:a', 'ohmytext')).toBe('+OK\r\n');
    expect(call('set', 'r3:a', 'x', 'nx')).toBe('_\r\n');
    expect(call('set', 'r3:none', 'x', 'xx', 'get')).toBe('_\r\n');
    expect(call('getex', 'r3:none')).toBe('_\r\n');
    expect(call('mget', 'r3:a', 'r3:none')).toBe('*2\r\n$8\r\nohmytext\r\n_\r\n');
    expect(call('set', 'r3:b', 'mynewtext')).toBe('+OK\r\n');
    expect(call('lcs', 'r3:a', 'r3:b', 'idx', 'withmatchlen')).toBe(
      '%2\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n',
    );
  });

  it('reports WRONGTYPE for keys of another type', () => {
    store.putMeta(0, Buffer.from('r3:h'), { type: Type.HASH, flags: 0, expire: 0, version: store.newVersion(), size: 1 }, null);
    expect(call('get', 'r3:h')).toBe('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
    expect(call('mget', 'r3:h')).toBe('*1\r\n_\r\n');
    expect(call('lcs', 'r3:a', 'r3:h')).toBe('-ERR The specified keys must contain string values\r\n');
    expect(call('__getstr', 'r3:h')).toBe('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
  });

  it('matches redis-server byte for byte (HELLO 3)', async () => {
    const oracle = await startOracle();
    if (!oracle) return;
    const raw = await RawClient.connect(oracle.port);
    try {
      raw.write('HELLO 3\r\n');
      await raw.read(1);
      await sleep(50);
      await raw.read(raw.pending().length);
      const cases: string[][] = [
        ['lcs', 'r3:a', 'r3:b', 'idx', 'withmatchlen'],
        ['lcs', 'r3:a', 'r3:b', 'idx', 'minmatchlen', '3'],
        ['lcs', 'r3:a', 'r3:none', 'idx'],
        ['mget', 'r3:a', 'r3:none'],
        ['get', 'r3:none'],
        ['set', 'r3:a', 'x', 'nx'],
        ['getex', 'r3:none', 'persist'],
      ];
      raw.write('SET r3:a ohmytext\r\nSET r3:b mynewtext\r\n');
      await raw.readLike('+OK\r\n+OK\r\n');
      for (const args of cases) {
        const ours = call(...args);
        raw.write(args.join(' ') + '\r\n');
        expect(await raw.readLike(ours), args.join(' ')).toBe(ours);
      }
    } finally {
      raw.close();
      await oracle.stop();
    }
  });

  it('computes LCS on plain buffers (the front thread path uses the same code)', () => {
    const w = new ReplyWriter(64);
    lcsReply(w, Buffer.from('ohmytext'), Buffer.from('mynewtext'), ['lcs', 'a', 'b', 'len'].map((s) => Buffer.from(s)));
    expect(w.take().toString()).toBe(':6\r\n');
  });
});

// ------------------------------------------------------------------ integration

describe.each([1, 4])('string commands with %i shard(s)', (shards) => {
  let server: TestServer;
  let client: Redis;
  let oracle: Oracle | null = null;
  let ref: Redis | null = null;

  let dir: string;

  beforeAll(async () => {
    dir = tempDir();
    await seedHashes(dir, shards, HASH_KEYS);
    server = await startServer({ shards, dir });
    client = new Redis(server.port, { lazyConnect: false, maxRetriesPerRequest: 0, enableReadyCheck: false });
    oracle = await startOracle();
    if (oracle) {
      ref = new Redis(oracle.port, { lazyConnect: false, maxRetriesPerRequest: 0, enableReadyCheck: false });
      for (const k of HASH_KEYS) await ref.hset(k, 'f', 'v');
    }
  });

  afterAll(async () => {
    client?.disconnect();
    ref?.disconnect();
    await oracle?.stop();
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('spreads the multi-key cases over several shards', () => {
    if (shards === 1) return;
    const shardOf = (k: string): number => keyShard(Buffer.from(k), shards);
    expect(new Set(['m1', 'm2', 'm3', 'm4'].map(shardOf)).size).toBeGreaterThan(1);
    expect(new Set(['n1', 'n2', 'n3'].map(shardOf)).size).toBeGreaterThan(1);
    expect(shardOf('l1')).not.toBe(shardOf('l2'));
    expect(shardOf('la')).not.toBe(shardOf('lb'));
    expect(shardOf('{t}1')).toBe(shardOf('{t}2'));
    expect(shardOf('{t}1')).toBe(shardOf('{t}hash'));
    expect(shardOf('l1')).not.toBe(shardOf('hash1'));
  });

  it('replies as Redis 7.0 to every option and error case', async () => {
    expect(ref !== null).toBe(fs.existsSync(REDIS_SERVER));
    const mismatches: string[] = [];
    for (const [args, expected] of SCRIPT) {
      const got = await run(client, args);
      if (expected !== undefined) {
        try {
          expect(got).toEqual(expected);
        } catch {
          mismatches.push(`${args.join(' ').slice(0, 80)}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
        }
      }
      if (ref) {
        const want = await run(ref, args);
        try {
          expect(got).toEqual(want);
        } catch {
          mismatches.push(`${args.join(' ').slice(0, 80)}: redis-server ${JSON.stringify(want)?.slice(0, 200)}, got ${JSON.stringify(got)?.slice(0, 200)}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('is binary safe', async () => {
    const bin = Buffer.from([0, 1, 2, 255, 254, 13, 10, 0, 200]);
    const key = Buffer.from([0xff, 0x00, 0x41]);
    expect(await run(client, ['set', key, bin])).toBe('OK');
    expect(await runBuffer(client, ['get', key])).toEqual(bin);
    expect(await run(client, ['append', key, Buffer.from([0, 0xfe])])).toBe(11);
    expect(await runBuffer(client, ['getrange', key, '3', '4'])).toEqual(Buffer.from([255, 254]));
    expect(await runBuffer(client, ['mget', key, 'bin:none'])).toEqual([Buffer.concat([bin, Buffer.from([0, 0xfe])]), null]);
    expect(await run(client, ['setrange', key, '1', Buffer.from([0xfd])])).toBe(11);
    expect(await runBuffer(client, ['getdel', key])).toEqual(Buffer.from([0, 0xfd, 2, 255, 254, 13, 10, 0, 200, 0, 0xfe]));
    expect(await runBuffer(client, ['lcs', Buffer.from([1, 0]), Buffer.from([2, 0])])).toEqual(Buffer.alloc(0));
    await run(client, ['mset', 'bin:a', Buffer.from([0, 9, 0xff, 7]), 'bin:b', Buffer.from([9, 0xff, 0])]);
    expect(await runBuffer(client, ['lcs', 'bin:a', 'bin:b'])).toEqual(Buffer.from([9, 0xff]));
  });

  it('creates, replaces and keeps TTLs as Redis does', async () => {
    // Run on Cairn and redis-server at once: one pause serves both.
    const check = async (c: Redis): Promise<void> => {
      const p = `ttl${shards}:`;
      const now = Date.now();
      // These expire after the pause below ...
      await c.call('set', p + 'px', 'v', 'px', '150');
      await c.call('set', p + 'keep', 'v', 'px', '150');
      await c.call('set', p + 'keep', 'v2', 'keepttl');
      await c.call('setex', p + 'setex', '1', 'v');
      await c.call('psetex', p + 'psetex', '150', 'v');
      await c.call('set', p + 'pxat', 'v', 'pxat', String(now + 150));
      await c.call('set', p + 'append', 'v', 'px', '150');
      await c.call('append', p + 'append', 'w');
      await c.call('set', p + 'incr', '1', 'px', '150');
      await c.call('incr', p + 'incr');
      await c.call('set', p + 'float', '1', 'px', '150');
      await c.call('incrbyfloat', p + 'float', '1.5');
      await c.call('set', p + 'setrange', 'v', 'px', '150');
      await c.call('setrange', p + 'setrange', '0', 'w');
      await c.call('set', p + 'getex', 'v');
      expect(await c.call('getex', p + 'getex', 'px', '150')).toBe('v');
      // ... these do not: a plain write drops the TTL, PERSIST removes it.
      await c.call('set', p + 'plain', 'v', 'px', '150');
      await c.call('set', p + 'plain', 'v2');
      await c.call('set', p + 'getset', 'v', 'px', '150');
      await c.call('getset', p + 'getset', 'v2');
      await c.call('set', p + 'mset', 'v', 'px', '150');
      await c.call('mset', p + 'mset', 'v2', p + 'other', 'x');
      await c.call('set', p + 'persist', 'v', 'px', '150');
      expect(await c.call('getex', p + 'persist', 'persist')).toBe('v');
      await c.call('set', p + 'setnx-kept', 'v', 'px', '150');
      expect(await c.call('setnx', p + 'setnx-kept', 'v2')).toBe(0);
      // Absolute times in the past: SET stores an already expired key, GETEX deletes it.
      expect(await c.call('set', p + 'past', 'v', 'exat', '1')).toBe('OK');
      expect(await c.call('get', p + 'past')).toBeNull();
      await c.call('set', p + 'getex-past', 'v');
      expect(await c.call('getex', p + 'getex-past', 'pxat', String(now - 1000))).toBe('v');
      expect(await c.call('get', p + 'getex-past')).toBeNull();

      await sleep(1100);
      const gone = ['px', 'keep', 'setex', 'psetex', 'pxat', 'append', 'incr', 'float', 'setrange', 'getex', 'setnx-kept'];
      expect(await c.call('mget', ...gone.map((k) => p + k))).toEqual(gone.map(() => null));
      expect(await c.call('mget', p + 'plain', p + 'getset', p + 'mset', p + 'persist')).toEqual(['v2', 'v2', 'v2', 'v']);
      // An expired key counts as missing for NX/XX and counters.
      await c.call('set', p + 'nx', 'v', 'px', '1');
      await sleep(20);
      expect(await c.call('set', p + 'nx', 'w', 'nx')).toBe('OK');
      await c.call('set', p + 'ctr', '41', 'px', '1');
      await sleep(20);
      expect(await c.call('incr', p + 'ctr')).toBe(1);
    };
    await Promise.all((ref ? [client, ref] : [client]).map(check));
  });

  it('creates nothing when SETRANGE writes nothing, and MSETNX all or nothing', async () => {
    await client.call('select', '5');
    try {
      const before = (await client.call('dbsize')) as number;
      expect(await client.call('setrange', 'db5:none', '10', '')).toBe(0);
      expect(await client.call('get', 'db5:none')).toBeNull();
      expect(await client.call('dbsize')).toBe(before);
      expect(await client.call('append', 'db5:a', '')).toBe(0);
      expect(await client.call('dbsize')).toBe(before + 1);
      expect(await client.call('msetnx', 'db5:x', '1', 'db5:y', '2', 'db5:a', '3')).toBe(0);
      expect(await client.call('dbsize')).toBe(before + 1);
      expect(await client.call('msetnx', 'db5:x', '1', 'db5:y', '2', 'db5:z', '3')).toBe(1);
      expect(await client.call('dbsize')).toBe(before + 4);
      expect(await client.call('getdel', 'db5:x')).toBe('1');
      expect(await client.call('dbsize')).toBe(before + 3);
      // Database 0 is untouched by all of this.
      await client.call('select', '0');
      expect(await client.call('mget', 'db5:y', 'db5:z')).toEqual([null, null]);
    } finally {
      await client.call('select', '0');
    }
  });

  it('answers every pipelined command in order across shards', async () => {
    const pipe = client.pipeline();
    for (let i = 0; i < 50; i++) {
      pipe.call('mset', `pl:${i}:a`, String(i), `pl:${i}:b`, String(i));
      pipe.call('incr', `pl:${i}:a`);
      pipe.call('mget', `pl:${i}:a`, `pl:${i}:b`);
      pipe.call('msetnx', `pl:${i}:b`, 'x', `pl:${i}:c`, 'y');
      pipe.call('lcs', `pl:${i}:a`, `pl:${i}:b`, 'len');
    }
    const out = (await pipe.exec())!;
    for (let i = 0; i < 50; i++) {
      const [mset, incr, mget, msetnx, lcs] = out.slice(i * 5, i * 5 + 5).map(([e, v]) => (e ? e.message : v));
      expect(mset).toBe('OK');
      expect(incr).toBe(i + 1);
      expect(mget).toEqual([String(i + 1), String(i)]);
      expect(msetnx).toBe(0);
      const a = String(i + 1);
      const b = String(i);
      expect(lcs).toBe(lcsLength(a, b));
    }
  });
});

function lcsLength(a: string, b: string): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) t[i]![j] = a[i - 1] === b[j - 1] ? t[i - 1]![j - 1]! + 1 : Math.max(t[i - 1]![j]!, t[i]![j - 1]!);
  }
  return t[a.length]![b.length]!;
}
