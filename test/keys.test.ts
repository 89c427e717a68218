import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { startServer, tempDir, type TestServer } from './helpers/server.js';
import { hasRedis, startRedis, type Oracle } from './helpers/redis-oracle.js';
import { keyShard } from '../src/server/slot.js';
import { globMatch } from '../src/util/glob.js';
import { Store } from '../src/storage/store.js';
import { ReplyWriter } from '../src/server/resp/writer.js';
import { keyCommands } from '../src/commands/keys.js';
import { Type, Prefix, subKey, scoreKey, garbageKey, versionPrefix, prefixEnd, type Meta } from '../src/storage/encoding.js';
import type { ShardCall } from '../src/commands/types.js';

const connect = (port: number, db = 0): Redis =>
  new Redis(port, { lazyConnect: false, maxRetriesPerRequest: 0, enableReadyCheck: false, db });

/** ioredis pipeline results as comparable values: an error becomes 'ERR:<text>'. */
async function run(r: Redis, cmds: (string | number)[][]): Promise<unknown[]> {
  const p = r.pipeline();
  for (const [name, ...args] of cmds) p.call(String(name), ...args.map(String));
  const res = (await p.exec())!;
  return res.map(([err, v], i) => {
    if (err) return 'ERR:' + err.message;
    const name = String(cmds[i]![0]).toLowerCase();
    // KEYS and SCAN order is unspecified: compare as sorted lists.
    if (name === 'keys') return [...(v as string[])].sort();
    if (name === 'scan') return [(v as [string, string[]])[0], [...(v as [string, string[]])[1]].sort()];
    return v;
  });
}

/** A key that lives on another shard than `key` (any other key with one shard). */
function keyOnOtherShard(key: string, shards: number, prefix = 'other'): string {
  for (let i = 0; ; i++) {
    const k = `${prefix}${i}`;
    if (shards === 1 || keyShard(Buffer.from(k), shards) !== keyShard(Buffer.from(key), shards)) return k;
  }
}

/** A deterministic script: every reply must equal redis-server's, byte for byte (as ioredis decodes them). */
const ORACLE_SCRIPT: (string | number)[][] = [
  ['set', 'a', '1'], ['set', 'b', '2'],
  ['exists', 'a', 'a', 'b', 'nokey'], ['touch', 'a', 'nokey', 'a'],
  ['type', 'a'], ['type', 'nokey'],
  ['del', 'a', 'a', 'nokey'], ['unlink', 'b', 'b'], ['exists', 'a', 'b'],
  ['set', 'k', 'v'], ['rename', 'k', 'k'], ['rename', 'nokey', 'nokey'], ['renamenx', 'k', 'k'],
  ['rename', 'nokey', 'x'], ['renamenx', 'nokey', 'x'],
  ['rename', 'k', 'k2'], ['get', 'k'], ['get', 'k2'],
  ['set', 'k3', 'v3'], ['renamenx', 'k2', 'k3'], ['renamenx', 'k2', 'k4'], ['get', 'k4'], ['get', 'k2'],
  ['expire', 'k4', 100], ['rename', 'k4', 'k5'], ['ttl', 'k5'],
  ['set', 'k4', 'x'], ['expire', 'k4', 500], ['rename', 'k3', 'k4'], ['ttl', 'k4'], ['get', 'k4'],
  ['copy', 'k5', 'k6'], ['ttl', 'k6'], ['get', 'k6'], ['copy', 'k5', 'k6'], ['copy', 'k5', 'k6', 'replace'],
  ['copy', 'k5', 'k5'], ['copy', 'k5', 'k5', 'db', 1], ['copy', 'k5', 'k7', 'db', 'abc'],
  ['copy', 'k5', 'k7', 'db', '99999999999'], ['copy', 'k5', 'k7', 'db', 16], ['copy', 'k5', 'k7', 'db', -1],
  ['copy', 'k5', 'k7', 'foo'], ['copy', 'k5', 'k7', 'db'], ['copy', 'nokey', 'k7'], ['copy', 'nokey', 'nokey'],
  ['copy', 'k5', 'k7', 'REPLACE', 'DB', 2], ['copy', 'k5', 'k5', 'db', 0, 'replace'],
  ['move', 'k5', 'abc'], ['move', 'k5', '99999999999'], ['move', 'k5', 16], ['move', 'k5', -1], ['move', 'k5', 0],
  ['move', 'nokey', 1], ['move', 'k5', 1], ['move', 'k6', 3], ['exists', 'k6'],
  ['select', 3], ['ttl', 'k6'], ['get', 'k6'], ['select', 2], ['get', 'k7'], ['ttl', 'k7'], ['select', 0],
  ['set', 'e', '1'],
  ['expire', 'e', 100, 'foo'], ['expire', 'e', 'abc'], ['expire', 'e', 'abc', 'nx', 'xx'], ['expire', 'e', 100, 'nx', 'xx'],
  ['expire', 'e', 100, 'gt', 'lt'], ['expire', 'e', 100, 'nx', 'gt'], ['expire', 'e', 100, 'xx', 'gt', 'lt'],
  ['pexpire', 'e', 100, 'NX', 'LT'], ['expire', 'e', 100, 'Bad'],
  ['expire', 'e', '9223372036854776'], ['expire', 'e', '9223372036854775'], ['expire', 'e', '-9223372036854776'],
  ['pexpire', 'e', '9223372036854775807'], ['expireat', 'e', '9223372036854775807'], ['expireat', 'e', '9223372036854776'],
  ['pexpireat', 'e', '9223372036854775808'], ['expire', 'e', '1.5'], ['expire', 'e', ''],
  ['expire', 'nokey', 100], ['expire', 'nokey', 100, 'xx'], ['expire', 'nokey', '9223372036854776'],
  ['expire', 'e', 100, 'xx'], ['expire', 'e', 100, 'gt'], ['expire', 'e', 100, 'lt'], ['ttl', 'e'],
  ['expire', 'e', 200, 'nx'], ['expire', 'e', 200, 'lt'], ['expire', 'e', 200, 'gt'], ['ttl', 'e'],
  ['expire', 'e', 150, 'xx'], ['ttl', 'e'], ['expire', 'e', 140, 'gt'], ['expire', 'e', 150, 'lt'], ['expire', 'e', 150, 'nx'],
  ['persist', 'e'], ['persist', 'e'], ['ttl', 'e'], ['persist', 'nokey'],
  ['expireat', 'e', 4102444800], ['expiretime', 'e'], ['pexpiretime', 'e'],
  ['pexpireat', 'e', '4102444800123'], ['expiretime', 'e'], ['pexpiretime', 'e'],
  ['pexpireat', 'e', '4102444800500'], ['expiretime', 'e'], ['pexpiretime', 'e'],
  ['pexpireat', 'e', '4102444800499'], ['expiretime', 'e'],
  ['pexpireat', 'e', '9223372036854775807'], ['expiretime', 'e'],
  ['ttl', 'nokey'], ['pttl', 'nokey'], ['expiretime', 'nokey'], ['pexpiretime', 'nokey'],
  ['pttl', 'k4'], ['expiretime', 'k2'], ['pexpiretime', 'nokey'],
  ['expire', 'e', 0], ['exists', 'e'], ['set', 'e', '1'], ['pexpireat', 'e', 1], ['exists', 'e'],
  ['set', 'e', '1'], ['expire', 'e', '-9223372036854775'], ['exists', 'e'],
  ['set', 'e', '1'], ['expire', 'e', -1, 'gt'], ['exists', 'e'], ['expire', 'e', -1, 'lt'], ['exists', 'e'],
  ['set', 'e', '1'], ['expire', 'e', 100], ['expire', 'e', -5, 'gt'], ['expire', 'e', -5, 'xx'], ['exists', 'e'],
  ['set', 'e', '1'], ['expireat', 'e', 100, 'nx'], ['exists', 'e'],
  ['keys', 'k*'], ['keys', '*'], ['keys', 'k?'], ['keys', '[ab]*'], ['keys', 'nomatch*'],
  ['scan', 0, 'count', 0], ['scan', 0, 'count', -1], ['scan', 0, 'count', 'abc'], ['scan', 'abc'], ['scan', ' 0'],
  ['scan', '18446744073709551616'], ['scan', '0x1'], ['scan', '-'], ['scan', '+'], ['scan', 0, 'match'], ['scan', 0, 'foo', 'bar'],
  ['scan', 0, 'count', 1000], ['scan', 0, 'match', 'k*', 'count', 1000], ['scan', 0, 'type', 'string', 'count', 1000],
  ['scan', 0, 'type', 'STRING', 'count', 1000], ['scan', 0, 'type', 'hash', 'count', 1000], ['scan', 0, 'type', 'nosuchtype'],
  ['scan', 0, 'count', '4294967296'], ['scan', 0, 'count', '9223372036854775807'], ['scan', '', 'count', 1000], ['scan', '+0', 'count', 1000], ['scan', '000', 'count', 1000],
  ['flushdb', 'foo'], ['flushall', 'sync', 'x'], ['flushall', 'nosync'], ['dbsize'],
  ['flushdb', 'async'], ['dbsize'], ['randomkey'], ['keys', '*'], ['scan', 0],
  ['select', 2], ['dbsize'], ['flushall', 'SYNC'], ['dbsize'], ['select', 0],
  ['rename', 'a'], ['expire', 'a'], ['keys'], ['scan'], ['dbsize', 'x'], ['ttl'], ['move', 'a'], ['copy', 'a'],
  ['type'], ['exists'], ['del'], ['randomkey', 'x'], ['persist'], ['pexpiretime', 'a', 'b'],
];

describe.each([1, 4])('generic key commands (%i shards)', (shards) => {
  let srv: TestServer;
  let r: Redis;

  beforeAll(async () => {
    srv = await startServer({ shards });
    r = connect(srv.port);
  });

  afterAll(async () => {
    r?.disconnect();
    await srv?.stop();
    if (srv) fs.rmSync(srv.dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await r.flushall();
  });

  describe.skipIf(!hasRedis)('against redis-server', () => {
    let oracle: Oracle;
    let o: Redis;
    beforeAll(async () => {
      oracle = await startRedis();
      o = connect(oracle.port);
    });
    afterAll(async () => {
      o?.disconnect();
      await oracle?.stop();
    });

    it('answers the script exactly as redis-server does', async () => {
      await o.flushall();
      const theirs = await run(o, ORACLE_SCRIPT);
      const ours = await run(r, ORACLE_SCRIPT);
      ORACLE_SCRIPT.forEach((cmd, i) => expect(ours[i], `#${i} ${cmd.join(' ')}`).toEqual(theirs[i]));
    });
  });

  it('DEL, UNLINK, EXISTS and TOUCH count over shards, repeats included', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    for (const k of keys) await r.set(k, 'v');
    expect(await r.exists(...keys, 'missing', 'k0', 'k0')).toBe(22);
    expect(await r.call('touch', ...keys, 'missing')).toBe(20);
    expect(await r.del('k0', 'k0', 'k1', 'missing')).toBe(2);
    expect(await r.unlink(...keys)).toBe(18);
    expect(await r.exists(...keys)).toBe(0);
    expect(await r.dbsize()).toBe(0);
  });

  it('TYPE', async () => {
    await r.set('s', 'v');
    expect(await r.type('s')).toBe('string');
    expect(await r.type('nope')).toBe('none');
  });

  for (const where of ['same shard', 'different shards']) {
    describe(`RENAME, RENAMENX and COPY (${where})`, () => {
      const src = '{t}src';
      const dst = where === 'same shard' ? '{t}dst' : keyOnOtherShard('{t}src', shards, 'dst');

      it('RENAME moves value and TTL, replaces the target, errors on a missing key', async () => {
        await r.set(src, 'v1');
        await r.pexpire(src, 100_000);
        await r.set(dst, 'old');
        await r.expire(dst, 5);
        expect(await r.rename(src, dst)).toBe('OK');
        expect(await r.exists(src)).toBe(0);
        expect(await r.get(dst)).toBe('v1');
        const pttl = await r.pttl(dst);
        expect(pttl).toBeGreaterThan(90_000);
        expect(pttl).toBeLessThanOrEqual(100_000);
        expect(await r.dbsize()).toBe(1);
        await expect(r.rename(src, dst)).rejects.toThrow('ERR no such key');
        // without a TTL, the target loses its own
        await r.set(src, 'v2');
        expect(await r.rename(src, dst)).toBe('OK');
        expect(await r.ttl(dst)).toBe(-1);
      });

      it('RENAMENX renames only when the target is missing', async () => {
        await r.set(src, 'v1');
        await r.set(dst, 'taken');
        expect(await r.renamenx(src, dst)).toBe(0);
        expect(await r.get(src)).toBe('v1');
        expect(await r.get(dst)).toBe('taken');
        await r.del(dst);
        expect(await r.renamenx(src, dst)).toBe(1);
        expect(await r.get(dst)).toBe('v1');
        expect(await r.exists(src)).toBe(0);
        await expect(r.renamenx(src, dst)).rejects.toThrow('ERR no such key');
      });

      it('COPY copies value and TTL; REPLACE; DB', async () => {
        await r.set(src, 'v1');
        await r.expire(src, 1000);
        expect(await r.call('copy', src, dst)).toBe(1);
        expect(await r.get(dst)).toBe('v1');
        expect(await r.get(src)).toBe('v1');
        expect(await r.ttl(dst)).toBe(1000);
        await r.set(src, 'v2');
        expect(await r.call('copy', src, dst)).toBe(0);
        expect(await r.get(dst)).toBe('v1');
        expect(await r.call('copy', src, dst, 'REPLACE')).toBe(1);
        expect(await r.get(dst)).toBe('v2');
        expect(await r.ttl(dst)).toBe(-1);
        expect(await r.call('copy', src, dst, 'DB', 5)).toBe(1);
        expect(await r.call('copy', src, src, 'DB', 5)).toBe(1);
        const r5 = connect(srv.port, 5);
        try {
          expect(await r5.get(src)).toBe('v2');
          expect(await r5.get(dst)).toBe('v2');
          expect(await r5.dbsize()).toBe(2);
        } finally {
          r5.disconnect();
        }
        expect(await r.call('copy', 'missing', dst, 'replace')).toBe(0);
        expect(await r.dbsize()).toBe(2);
      });

      it('a value that expires is gone for RENAME and COPY', async () => {
        await r.set(src, 'v1');
        await r.pexpire(src, 1);
        await new Promise((res) => setTimeout(res, 20));
        await expect(r.rename(src, dst)).rejects.toThrow('ERR no such key');
        expect(await r.call('copy', src, dst)).toBe(0);
        expect(await r.exists(dst)).toBe(0);
      });
    });
  }

  it('cross-shard RENAME loses nothing when two clients rename back and forth', async () => {
    const a = 'ping';
    const b = keyOnOtherShard(a, shards, 'pong');
    await r.set(a, 'payload');
    const r2 = connect(srv.port);
    try {
      const storm = async (cl: Redis, from: string, to: string): Promise<void> => {
        const p = cl.pipeline();
        for (let i = 0; i < 200; i++) p.rename(from, to);
        await p.exec();
      };
      await Promise.all([storm(r, a, b), storm(r2, b, a)]);
      expect(await r.dbsize()).toBe(1);
      expect([await r.get(a), await r.get(b)].filter((v) => v !== null)).toEqual(['payload']);
    } finally {
      r2.disconnect();
    }
  });

  it('a pipeline around cross-shard RENAME and COPY runs in order', async () => {
    const src = 'pipe';
    const dst = keyOnOtherShard(src, shards, 'line');
    const res = await run(r, [
      ['set', src, 'v1'], ['rename', src, dst], ['get', dst], ['exists', src],
      ['copy', dst, src], ['set', dst, 'v2'], ['get', src], ['renamenx', src, dst], ['del', dst], ['renamenx', src, dst],
      ['get', dst], ['dbsize'],
    ]);
    expect(res).toEqual(['OK', 'OK', 'v1', 0, 1, 'OK', 'v1', 0, 1, 1, 'v1', 1]);
  });

  it('MOVE moves a key with its TTL to another db', async () => {
    await r.set('m', 'v');
    await r.expire('m', 300);
    expect(await r.move('m', 1)).toBe(1);
    expect(await r.exists('m')).toBe(0);
    const r1 = connect(srv.port, 1);
    try {
      expect(await r1.get('m')).toBe('v');
      expect(await r1.ttl('m')).toBe(300);
      await r.set('m', 'again');
      expect(await r.move('m', 1)).toBe(0);
      expect(await r.get('m')).toBe('again');
      expect(await r.move('missing', 1)).toBe(0);
      await expect(r.move('m', 0)).rejects.toThrow('ERR source and destination objects are the same');
      await expect(r.move('m', 16)).rejects.toThrow('ERR DB index is out of range');
      await expect(r.move('m', 'x')).rejects.toThrow('ERR value is not an integer or out of range');
    } finally {
      r1.disconnect();
    }
  });

  it('EXPIRE family options and errors', async () => {
    await r.set('e', 'v');
    expect(await r.call('expire', 'e', 100, 'XX')).toBe(0);
    expect(await r.call('expire', 'e', 100, 'GT')).toBe(0);
    expect(await r.call('expire', 'e', 100, 'NX')).toBe(1);
    expect(await r.call('expire', 'e', 100, 'NX')).toBe(0);
    expect(await r.call('pexpire', 'e', 50_000, 'GT')).toBe(0);
    expect(await r.call('pexpire', 'e', 50_000, 'LT')).toBe(1);
    expect(await r.ttl('e')).toBe(50);
    expect(await r.call('expire', 'e', 60, 'GT')).toBe(1);
    expect(await r.call('expire', 'e', 70, 'XX')).toBe(1);
    expect(await r.ttl('e')).toBe(70);
    await expect(r.call('expire', 'e', 1, 'NX', 'XX')).rejects.toThrow('ERR NX and XX, GT or LT options at the same time are not compatible');
    await expect(r.call('expire', 'e', 1, 'GT', 'LT')).rejects.toThrow('ERR GT and LT options at the same time are not compatible');
    await expect(r.call('expire', 'e', 1, 'later')).rejects.toThrow('ERR Unsupported option later');
    await expect(r.call('expire', 'e', '9223372036854775')).rejects.toThrow("ERR invalid expire time in 'expire' command");
    await expect(r.call('pexpire', 'e', '9223372036854775807')).rejects.toThrow("ERR invalid expire time in 'pexpire' command");
    await expect(r.call('expireat', 'e', '9223372036854775807')).rejects.toThrow("ERR invalid expire time in 'expireat' command");
    expect(await r.ttl('e')).toBe(70);
    // a time in the past deletes the key and answers 1
    const t = Math.floor(Date.now() / 1000) - 10;
    expect(await r.call('expireat', 'e', t)).toBe(1);
    expect(await r.exists('e')).toBe(0);
    expect(await r.call('expireat', 'e', t)).toBe(0);
    await r.set('e', 'v');
    expect(await r.call('pexpireat', 'e', Date.now() + 100_000)).toBe(1);
    expect(await r.call('pexpire', 'e', -1)).toBe(1);
    expect(await r.exists('e')).toBe(0);
    expect(await r.dbsize()).toBe(0);
  });

  it('TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST', async () => {
    await r.set('t', 'v');
    expect(await r.ttl('t')).toBe(-1);
    expect(await r.pttl('t')).toBe(-1);
    expect(await r.call('expiretime', 't')).toBe(-1);
    expect(await r.call('pexpiretime', 't')).toBe(-1);
    expect(await r.ttl('none')).toBe(-2);
    expect(await r.pttl('none')).toBe(-2);
    expect(await r.call('expiretime', 'none')).toBe(-2);
    expect(await r.call('pexpiretime', 'none')).toBe(-2);
    const at = Date.now() + 3_600_000 + 499;
    expect(await r.call('pexpireat', 't', at)).toBe(1);
    expect(await r.call('pexpiretime', 't')).toBe(at);
    expect(await r.call('expiretime', 't')).toBe(Math.floor((at + 500) / 1000));
    const ttl = await r.ttl('t');
    expect(ttl === 3600 || ttl === 3601).toBe(true);
    expect(await r.persist('t')).toBe(1);
    expect(await r.persist('t')).toBe(0);
    expect(await r.persist('none')).toBe(0);
    expect(await r.ttl('t')).toBe(-1);
  });

  it('KEYS matches patterns in the selected db and skips expired keys', async () => {
    const names = ['hello', 'hallo', 'hxllo', 'hllo', 'heeeello', 'user:1', 'user:2', 'other', '', 'a*b'];
    for (const k of names) await r.set(k, 'v');
    await r.set('gone', 'v');
    await r.pexpire('gone', 1);
    await new Promise((res) => setTimeout(res, 20));
    const keys = async (p: string): Promise<string[]> => (await r.keys(p)).sort();
    const expected = (p: string): string[] => names.filter((k) => globMatch(p, k)).sort();
    expect(await keys('*')).toEqual([...names].sort());
    for (const p of ['h?llo', 'h*llo', 'h[ae]llo', 'h[^e]llo', 'h[a-b]llo', 'user:*', 'a\\*b', 'nothing', '**']) {
      expect(await keys(p), p).toEqual(expected(p));
    }
    const r1 = connect(srv.port, 1);
    try {
      expect(await r1.keys('*')).toEqual([]);
    } finally {
      r1.disconnect();
    }
  });

  describe('SCAN', () => {
    const all = [...Array.from({ length: 500 }, (_, i) => `key:${i}`), ...Array.from({ length: 40 }, (_, i) => `other:${i}`)];

    async function fill(): Promise<void> {
      const p = r.pipeline();
      for (const k of all) p.set(k, 'v');
      await p.exec();
    }

    /** A full scan; returns how often each key came back. */
    async function fullScan(args: (string | number)[], between?: (round: number) => Promise<void>): Promise<Map<string, number>> {
      const seen = new Map<string, number>();
      let cursor = '0';
      let rounds = 0;
      do {
        const [next, keys] = (await r.call('scan', cursor, ...args)) as [string, string[]];
        for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
        cursor = next;
        if (between) await between(rounds);
        expect(++rounds).toBeLessThan(5000);
      } while (cursor !== '0');
      return seen;
    }

    it('returns every key exactly once for any COUNT', async () => {
      await fill();
      for (const count of [1, 3, 10, 97, 1000]) {
        const seen = await fullScan(['COUNT', count]);
        expect(new Set(seen.keys()), `COUNT ${count}`).toEqual(new Set(all));
        expect([...seen.values()].every((n) => n === 1), `COUNT ${count}`).toBe(true);
      }
      const [cursor, keys] = (await r.call('scan', 0, 'COUNT', 10_000)) as [string, string[]];
      expect(cursor).toBe('0');
      expect(keys.length).toBe(all.length);
    });

    it('filters with MATCH and TYPE', async () => {
      await fill();
      for (const pattern of ['key:1*', 'other:*', '*:3?', 'nope*', '*']) {
        const seen = await fullScan(['MATCH', pattern, 'COUNT', 25]);
        expect(new Set(seen.keys()), pattern).toEqual(new Set(all.filter((k) => pattern === '*' || globMatch(pattern, k))));
      }
      expect((await fullScan(['TYPE', 'string', 'COUNT', 50])).size).toBe(all.length);
      expect((await fullScan(['TYPE', 'STRING', 'MATCH', 'other:*'])).size).toBe(40);
      expect((await fullScan(['TYPE', 'hash', 'COUNT', 50])).size).toBe(0);
    });

    it('returns every key that stays for the whole scan while others come and go', async () => {
      await fill();
      const removed = new Set<string>();
      const seen = await fullScan(['COUNT', 7], async (round) => {
        const victim = all[(round * 37) % all.length]!;
        removed.add(victim);
        await r.del(victim);
        await r.set(`new:${round}`, 'v');
      });
      for (const k of all) if (!removed.has(k)) expect(seen.has(k), k).toBe(true);
    });

    it('skips expired keys, sees only the selected db, ends at cursor 0 on an empty db', async () => {
      expect(await r.call('scan', 0)).toEqual(['0', []]);
      await r.set('live', 'v');
      await r.set('dead', 'v');
      await r.pexpire('dead', 1);
      await new Promise((res) => setTimeout(res, 20));
      expect(await fullScan([])).toEqual(new Map([['live', 1]]));
      const r1 = connect(srv.port, 1);
      try {
        expect(await r1.call('scan', 0)).toEqual(['0', []]);
      } finally {
        r1.disconnect();
      }
    });

    it('accepts an unknown cursor (never an error) and rejects malformed ones', async () => {
      await fill();
      const [next] = (await r.call('scan', '123456789', 'COUNT', 5)) as [string, string[]];
      expect(typeof next).toBe('string');
      await expect(r.call('scan', 'x')).rejects.toThrow('ERR invalid cursor');
      await expect(r.call('scan', 0, 'COUNT', 0)).rejects.toThrow('ERR syntax error');
    });
  });

  it('RANDOMKEY picks existing keys, all of them over time, nil when empty', async () => {
    expect(await r.randomkey()).toBeNull();
    const names = ['r1', 'r2', 'r3', 'r4', 'r5'];
    for (const k of names) await r.set(k, 'v');
    const p = r.pipeline();
    for (let i = 0; i < 300; i++) p.randomkey();
    const got = new Set((await p.exec())!.map(([, v]) => v as string));
    expect(got).toEqual(new Set(names));
    await r.del(...names);
    for (const k of ['x1', 'x2', 'x3']) {
      await r.set(k, 'v');
      await r.pexpire(k, 1);
    }
    await new Promise((res) => setTimeout(res, 20));
    expect(await r.randomkey()).toBeNull();
  });

  it('RANDOMKEY in a db larger than the uniform-pick bound', async () => {
    const p = r.pipeline();
    for (let i = 0; i < 3000; i++) p.set(`big:${i}`, 'v');
    await p.exec();
    const q = r.pipeline();
    for (let i = 0; i < 50; i++) q.randomkey();
    const got = new Set((await q.exec())!.map(([, v]) => v as string));
    for (const k of got) expect(k).toMatch(/^big:\d+$/);
    expect(got.size).toBeGreaterThan(5);
  });

  it('DBSIZE, FLUSHDB (selected db only), FLUSHALL, in chunks for many keys', async () => {
    const r1 = connect(srv.port, 1);
    try {
      const p = r.pipeline();
      for (let i = 0; i < 5000; i++) p.set(`f:${i}`, 'v');
      for (let i = 0; i < 100; i++) p.expire(`f:${i}`, 1000);
      await p.exec();
      await r1.set('one', '1');
      expect(await r.dbsize()).toBe(5000);
      expect(await r.flushdb()).toBe('OK');
      expect(await r.dbsize()).toBe(0);
      expect(await r.keys('*')).toEqual([]);
      expect(await r1.dbsize()).toBe(1);
      await r.set('zero', '0');
      expect(await r.call('flushall', 'ASYNC')).toBe('OK');
      expect(await r.dbsize()).toBe(0);
      expect(await r1.dbsize()).toBe(0);
      await r.set('x', '1');
      expect(await r.call('flushdb', 'SYNC')).toBe('OK');
      expect(await r.dbsize()).toBe(0);
      await expect(r.call('flushdb', 'now')).rejects.toThrow('ERR syntax error');
    } finally {
      r1.disconnect();
    }
  });
});

// ---------------------------------------------------------------- collections on one shard (store level)

describe('RENAME, COPY and MOVE of a collection on one shard', () => {
  let dir: string;
  let store: Store;

  const flush = async (): Promise<void> => {
    const b = store.takeOps();
    if (b) {
      await store.db.batch(b.ops as never);
      b.done();
    }
  };

  /** Runs a command's shard handler as the shard executor would and returns its reply. */
  async function call(db: number, ...args: string[]): Promise<string> {
    const spec = keyCommands.find((c) => c.name === args[0])!;
    const w = new ReplyWriter(256);
    const c: ShardCall = { args: args.map((a) => Buffer.from(a)), db, w, store, sync: flush };
    await spec.shard!(c);
    await flush();
    return w.take().toString('latin1');
  }

  /** The sub-key and score records of one collection version, without their prefix. */
  async function records(kind: number, db: number, key: string, version: bigint): Promise<string[]> {
    const from = versionPrefix(kind, db, Buffer.from(key), version);
    const keys = await store.db.keys({ gte: from, lt: prefixEnd(from)! }).all();
    return keys.map((k) => k.subarray(from.length).toString('hex'));
  }

  /** A zset-like collection: two members with values and score-index entries. */
  function makeCollection(db: number, key: string, expire = 0): Meta {
    const k = Buffer.from(key);
    const m: Meta = { type: Type.ZSET, flags: 0, expire, version: store.newVersion(), size: 2 };
    store.putMeta(db, k, m, null);
    for (const [member, score] of [['a', 1], ['b', 2]] as const) {
      store.put(subKey(db, k, m.version!, Buffer.from(member)), Buffer.from(String(score)));
      store.put(scoreKey(db, k, m.version!, score, Buffer.from(member)), Buffer.alloc(0));
    }
    return m;
  }

  beforeAll(async () => {
    dir = tempDir('cairn-keys-unit-');
    store = await Store.open(path.join(dir, 'shard-0'), 16, 0, 1, { rowCacheSize: 0, cacheSize: 1 << 20, writeBufferSize: 1 << 20, maxOpenFiles: 50, compression: false });
  });

  afterAll(async () => {
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('RENAME rewrites the sub-keys under the new name and leaves the old version to the sweep', async () => {
    const expire = Date.now() + 60_000;
    const m = makeCollection(0, 'z', expire);
    await flush();
    const subs = await records(Prefix.SUB, 0, 'z', m.version!);
    const scores = await records(Prefix.SCORE, 0, 'z', m.version!);
    expect(subs.length).toBe(2);
    expect(scores.length).toBe(2);

    expect(await call(0, 'rename', 'z', 'z2')).toBe('+OK\r\n');
    expect(store.lookup(0, Buffer.from('z'))).toBeNull();
    const m2 = store.lookup(0, Buffer.from('z2'))!;
    expect(m2.type).toBe(Type.ZSET);
    expect(m2.size).toBe(2);
    expect(m2.expire).toBe(expire);
    expect(m2.version).not.toBe(m.version);
    expect(await records(Prefix.SUB, 0, 'z2', m2.version!)).toEqual(subs);
    expect(await records(Prefix.SCORE, 0, 'z2', m2.version!)).toEqual(scores);
    expect(store.get(garbageKey(0, Buffer.from('z'), m.version!))).toBeDefined();
    expect(store.counts[0]).toBe(1);
    expect(store.expires[0]).toBe(1);
  });

  it('COPY to another db and MOVE copy the sub-keys; a replaced collection becomes garbage', async () => {
    const m = makeCollection(0, 'c');
    const old = makeCollection(3, 'd');
    await flush();
    expect(await call(0, 'copy', 'c', 'd', 'DB', '3')).toBe(':0\r\n');
    expect(await call(0, 'copy', 'c', 'd', 'DB', '3', 'REPLACE')).toBe(':1\r\n');
    const d = store.lookup(3, Buffer.from('d'))!;
    expect(await records(Prefix.SUB, 3, 'd', d.version!)).toEqual(await records(Prefix.SUB, 0, 'c', m.version!));
    expect(store.get(garbageKey(3, Buffer.from('d'), old.version!))).toBeDefined();
    expect(store.lookup(0, Buffer.from('c'))!.version).toBe(m.version);

    expect(await call(0, 'move', 'c', '5')).toBe(':1\r\n');
    expect(store.lookup(0, Buffer.from('c'))).toBeNull();
    const moved = store.lookup(5, Buffer.from('c'))!;
    expect(await records(Prefix.SCORE, 5, 'c', moved.version!)).toEqual(await records(Prefix.SCORE, 3, 'd', d.version!));
    expect(store.get(garbageKey(0, Buffer.from('c'), m.version!))).toBeDefined();
  });
});
