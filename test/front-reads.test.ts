/**
 * GETs answered by the front thread from the shards' row caches (src/server/front-reads.ts): only
 * for strings whose group commit is written, never across a command of the same client still in
 * flight; everything else (pending writes, expired keys, other types, changed databases) goes to
 * the shard and gets the shard's answer.
 */
import { describe, it, expect } from 'vitest';
import { serverForSuite } from './helpers/suite.js';
import { infoFields } from './helpers/info.js';
import { RawClient } from './helpers/raw.js';

const frontReads = async (r: ReturnType<ReturnType<typeof serverForSuite>['connect']>): Promise<number> =>
  Number((await infoFields(r, 'stats')).get('cairn_front_reads'));

describe('GET answered from the row cache by the front thread', () => {
  const suite = serverForSuite({ shards: 2, args: ['--enable-debug-command', 'yes'] });

  it('answers cached strings and known-absent keys itself, exactly as the shard would', async () => {
    const r = suite.connect();
    await r.set('fr:a', 'alpha');
    await r.set('fr:empty', '');
    await r.get('fr:none'); // now cached as absent
    const before = await frontReads(r);
    expect(await r.get('fr:a')).toBe('alpha');
    expect(await r.get('fr:empty')).toBe('');
    expect(await r.get('fr:none')).toBe(null);
    const bin = Buffer.from([0, 13, 10, 255, 36]);
    await r.set('fr:bin', bin);
    expect(await r.getBuffer('fr:bin')).toEqual(bin);
    expect(await frontReads(r)).toBeGreaterThanOrEqual(before + 4);
    const stats = await infoFields(r, 'stats');
    expect(Number(stats.get('keyspace_hits'))).toBeGreaterThan(0);
  });

  it('leaves other types, expired keys and other databases to the shard', async () => {
    const r = suite.connect();
    await r.rpush('fr:list', 'x');
    await expect(r.get('fr:list')).rejects.toThrow('WRONGTYPE Operation against a key holding the wrong kind of value');
    await r.set('fr:ttl', 'soon', 'PX', 30);
    expect(await r.get('fr:ttl')).toBe('soon');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await r.get('fr:ttl')).toBe(null);
    expect(await r.exists('fr:ttl')).toBe(0);
    await r.set('fr:db', 'zero');
    await r.select(3);
    expect(await r.get('fr:db')).toBe(null);
    await r.set('fr:db', 'three');
    expect(await r.get('fr:db')).toBe('three');
    await r.select(0);
    expect(await r.get('fr:db')).toBe('zero');
    expect(await r.swapdb(0, 3)).toBe('OK');
    expect(await r.get('fr:db')).toBe('three');
    expect(await r.flushdb()).toBe('OK');
    expect(await r.get('fr:db')).toBe(null);
    await r.select(3);
    expect(await r.get('fr:db')).toBe('zero');
    await r.flushdb();
    await r.select(0);
  });

  it('RESP3 gets its own null', async () => {
    const c = await RawClient.connect(suite.server.port);
    c.write('HELLO 3\r\nPING\r\n');
    while (!c.pending().endsWith('+PONG\r\n')) await new Promise((resolve) => setTimeout(resolve, 10));
    await c.read(c.pending().length);
    c.write('GET fr:resp3-none\r\nGET fr:resp3-none\r\n');
    expect(await c.readLike('_\r\n_\r\n')).toBe('_\r\n_\r\n');
    // Field reads: doubles and nulls of RESP3, read one at a time (each may be answered here).
    const r = suite.connect();
    await r.zadd('fr:resp3-z', 2.5, 'a');
    await r.hset('fr:resp3-h', 'f', 'v');
    const before = await frontReads(r);
    for (const [cmd, want] of [
      ['ZSCORE fr:resp3-z a', ',2.5\r\n'], ['ZSCORE fr:resp3-z nope', '_\r\n'], ['ZSCORE fr:resp3-z nope', '_\r\n'],
      ['ZMSCORE fr:resp3-z a nope', '*2\r\n,2.5\r\n_\r\n'], ['HMGET fr:resp3-h f nope', '*2\r\n$1\r\nv\r\n_\r\n'],
      ['HMGET fr:resp3-none f', '*1\r\n_\r\n'],
    ] as const) {
      c.write(cmd + '\r\n');
      expect(await c.readLike(want), cmd).toBe(want);
    }
    // All but the first ZSCORE of the missing member (which the shard then caches as absent) and
    // the HMGET of a field never read before.
    expect(await frontReads(r)).toBeGreaterThanOrEqual(before + 4);
    c.close();
  });

  it('a read after a write in the same pipeline sees the write', async () => {
    const r = suite.connect();
    await r.set('fr:p', 'old');
    expect(await r.get('fr:p')).toBe('old');
    for (let i = 0; i < 50; i++) {
      const res = await r.pipeline().set('fr:p', `v${i}`).get('fr:p').exec();
      expect(res![1]![1]).toBe(`v${i}`);
    }
  });

  it('never shows a write before it is written: a GET during a late group commit waits for it or sees the old value', async () => {
    const a = suite.connect();
    const b = suite.connect();
    await a.set('fr:late', 'before');
    expect(await b.get('fr:late')).toBe('before');
    expect(await a.debug('SET-WRITE-DELAY', '300')).toBe('OK');
    try {
      let acked = 0;
      const set = a.set('fr:late', 'after').then(() => (acked = Date.now()));
      await new Promise((resolve) => setTimeout(resolve, 50));
      const got = await b.get('fr:late');
      const answered = Date.now();
      await set;
      // 'after' may only be seen once the write that made it was acknowledged.
      if (got === 'after') expect(answered).toBeGreaterThanOrEqual(acked);
      else expect(got).toBe('before');
    } finally {
      await a.debug('SET-WRITE-DELAY', '0');
    }
  });

  it('a read after a cross-shard MSET was seen in part sees the rest (the shard may not have run its part yet)', async () => {
    const w = suite.connect();
    const x = suite.connect();
    const r = suite.connect();
    // a on one shard, b and c on the other (2 shards).
    const [a, b, c] = ['{fr0}a', '{fr2}b', '{fr2}c'];
    const shardOf = async (k: string): Promise<number> => {
      const { keyShard } = await import('../src/server/slot.js');
      return keyShard(Buffer.from(k), 2);
    };
    expect(await shardOf(a)).not.toBe(await shardOf(b));
    expect(await shardOf(b)).toBe(await shardOf(c));
    await w.mset(a, 'old', b, 'old');
    expect(await r.get(a)).toBe('old');
    expect(await r.get(b)).toBe('old');
    // Stall b's shard: its next group commit sleeps, and it runs nothing else meanwhile.
    expect(await w.debug('SET-WRITE-DELAY', '400', String(await shardOf(b)))).toBe('OK');
    try {
      const stalled = x.set(c, 'x');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const mset = w.mset(a, 'new', b, 'new');
      // a's part is written long before b's shard gets to its own.
      let seenA = await r.get(a);
      for (let i = 0; i < 40 && seenA !== 'new'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        seenA = await r.get(a);
      }
      if (seenA === 'new') expect(await r.get(b)).toBe('new');
      await Promise.all([stalled, mset]);
    } finally {
      await w.debug('SET-WRITE-DELAY', '0');
    }
  });

  it('MGET over both shards is answered here when all its keys are cached, and never sees half of a cross-shard MSET', async () => {
    const w = suite.connect();
    const r = suite.connect();
    const { keyShard } = await import('../src/server/slot.js');
    const keys = ['{fm0}a', '{fm1}b', '{fm2}c', '{fm3}d', '{fm4}e', '{fm5}f'];
    expect(new Set(keys.map((k) => keyShard(Buffer.from(k), 2))).size).toBe(2);
    // Another type reads as nil, an absent key too (cached as absent by a GET first).
    await w.hset('{fm0}h', 'f', 'v');
    await r.get('{fm1}none');
    await w.mset(...keys.flatMap((k) => [k, '0']));
    const before = await frontReads(r);
    expect(await r.mget(...keys, '{fm0}h', '{fm1}none')).toEqual([...keys.map(() => '0'), null, null]);
    expect(await frontReads(r)).toBe(before + 1);
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 150; i++) await w.mset(...keys.flatMap((k) => [k, String(i)]));
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const got = await r.mget(...keys);
      expect(new Set(got).size, JSON.stringify(got)).toBe(1);
      reads++;
    }
    await writer;
    expect(reads).toBeGreaterThan(10);
    expect(await r.mget(...keys)).toEqual(keys.map(() => '150'));
    expect(await frontReads(r)).toBeGreaterThan(before + 1);
  });

  it('readers racing writers of the same keys see whole values, never older than acknowledged nor newer than sent', async () => {
    const w = suite.connect();
    const readers = [suite.connect(), suite.connect()];
    const KEYS = 8;
    const sent = new Array<number>(KEYS).fill(0);
    const acked = new Array<number>(KEYS).fill(0);
    const value = (n: number): string => String(n).padStart(3, '0') + ':' + String.fromCharCode(97 + (n % 26)).repeat(n % 700);
    for (let k = 0; k < KEYS; k++) await w.set(`fr:race${k}`, value(0));
    let writing = true;
    const writer = (async () => {
      for (let n = 1; n <= 400; n++) {
        const k = n % KEYS;
        sent[k] = n;
        await w.set(`fr:race${k}`, value(n));
        acked[k] = n;
      }
      writing = false;
    })();
    let checked = 0;
    await Promise.all(readers.map(async (r) => {
      while (writing) {
        const k = checked % KEYS;
        const lo = acked[k]!;
        const got = (await r.get(`fr:race${k}`))!;
        const hi = sent[k]!;
        const n = Number(got.slice(0, got.indexOf(':')));
        expect(got).toBe(value(n));
        expect(n).toBeGreaterThanOrEqual(lo);
        expect(n).toBeLessThanOrEqual(hi);
        checked++;
      }
    }));
    await writer;
    expect(checked).toBeGreaterThan(100);
  });
});

/** A script of single-key reads over keys of every kind, for both servers below. */
async function readScript(r: ReturnType<ReturnType<typeof serverForSuite>['connect']>): Promise<unknown[]> {
  await r.set('rs:s', 'hello');
  await r.set('rs:ttl', 'x', 'PX', 600_000);
  await r.hset('rs:h', 'f', 'v');
  await r.rpush('rs:l', 'a', 'b');
  await r.pexpire('rs:l', 900_000);
  await r.sadd('rs:set', 'm');
  await r.zadd('rs:z', 1.5, 'm');
  await r.get('rs:none'); // cached as absent
  const out: unknown[] = [];
  for (const k of ['rs:s', 'rs:ttl', 'rs:h', 'rs:l', 'rs:set', 'rs:z', 'rs:none']) {
    out.push(await r.type(k), await r.exists(k), await r.ttl(k), await r.expiretime(k) > 0);
    out.push(Math.round(Number(await r.pttl(k)) / 10_000), Math.round(Number(await r.call('PEXPIRETIME', k)) / 1e6));
    out.push(await r.strlen(k).catch((e: Error) => e.message));
    for (const size of ['HLEN', 'LLEN', 'SCARD', 'ZCARD']) out.push(await r.call(size, k).catch((e: Error) => e.message));
    for (const [cmd, field] of [['HGET', 'f'], ['HEXISTS', 'f'], ['HSTRLEN', 'f'], ['SISMEMBER', 'm'], ['ZSCORE', 'm']]) {
      out.push(await r.call(cmd!, k, field!).catch((e: Error) => e.message));
    }
  }
  // Missing fields: the first read goes to the shard, which caches them as absent.
  for (const [cmd, k] of [['HGET', 'rs:h'], ['SISMEMBER', 'rs:set'], ['ZSCORE', 'rs:z']]) out.push(await r.call(cmd!, k!, 'nope'), await r.call(cmd!, k!, 'nope'));
  // Several fields (all cached by now, present or known absent).
  for (const k of ['rs:s', 'rs:h', 'rs:set', 'rs:z', 'rs:none']) {
    for (const [cmd, field] of [['HMGET', 'f'], ['SMISMEMBER', 'm'], ['ZMSCORE', 'm']]) {
      out.push(await r.call(cmd!, k, field!, 'nope', field!).catch((e: Error) => e.message));
    }
  }
  out.push(await r.exists('rs:s', 'rs:h', 'rs:none'));
  return out;
}

const WT = 'WRONGTYPE Operation against a key holding the wrong kind of value';
const EXPECTED_READS: unknown[] = [
  'string', 1, -1, false, 0, 0, 5, WT, WT, WT, WT, WT, WT, WT, WT, WT,
  'string', 1, 600, true, 60, Math.round((Date.now() + 600_000) / 1e6), 1, WT, WT, WT, WT, WT, WT, WT, WT, WT,
  'hash', 1, -1, false, 0, 0, WT, 1, WT, WT, WT, 'v', 1, 1, WT, WT,
  'list', 1, 900, true, 90, Math.round((Date.now() + 900_000) / 1e6), WT, WT, 2, WT, WT, WT, WT, WT, WT, WT,
  'set', 1, -1, false, 0, 0, WT, WT, WT, 1, WT, WT, WT, WT, 1, WT,
  'zset', 1, -1, false, 0, 0, WT, WT, WT, WT, 1, WT, WT, WT, WT, '1.5',
  'none', 0, -2, false, 0, 0, 0, 0, 0, 0, 0, null, 0, 0, 0, null,
  null, null, 0, 0, null, null,
  WT, WT, WT,
  ['v', null, 'v'], WT, WT,
  WT, [1, 0, 1], WT,
  WT, WT, ['1.5', null, '1.5'],
  [null, null, null], [0, 0, 0], [null, null, null],
  2,
];

describe('other single-key reads answered by the front thread', () => {
  const suite = serverForSuite({ shards: 2 });

  it('TYPE, EXISTS, TTL, PTTL, EXPIRETIME, PEXPIRETIME, STRLEN, the sizes and the field reads of cached records answer as the shard does', async () => {
    const r = suite.connect();
    // 7 keys x 7 reads, less the 4 STRLENs of other types (WRONGTYPE comes from the shard); the
    // 4 sizes of the collections of their own type and of the absent key; the field reads of
    // the hash (3), set, sorted set and absent key (5); the second read of each missing field;
    // the reads of several fields of the three collections and of the absent key.
    const expected = 45 + 8 + 10 + 3 + 6;
    // A read goes to the shard while the shard has a command in flight, and the server sends
    // some of its own now and then (the background sweep's poll): on a busy machine one may
    // overlap the script. Such a run is read again (each run answers the same).
    let served = 0;
    for (let run = 0; run < 3 && served < expected; run++) {
      const before = await frontReads(r);
      const got = await readScript(r);
      served = (await frontReads(r)) - before;
      // pexpire of -1/-2 rounds to 0 at this scale; the rest is exact.
      expect(got.map((v) => (v === -0 ? 0 : v))).toEqual(EXPECTED_READS);
    }
    expect(served).toBeGreaterThanOrEqual(expected);
  });
});

describe('row-cache-front-reads no', () => {
  const suite = serverForSuite({ shards: 1, args: ['--row-cache-front-reads', 'no'] });

  it('sends every GET to its shard', async () => {
    const r = suite.connect();
    await r.set('k', 'v');
    expect(await r.get('k')).toBe('v');
    expect(await r.get('k')).toBe('v');
    expect(await frontReads(r)).toBe(0);
  });

  it('the shards answer the other single-key reads the same', async () => {
    const r = suite.connect();
    const got = await readScript(r);
    expect(got.map((v) => (v === -0 ? 0 : v))).toEqual(EXPECTED_READS);
    expect(await frontReads(r)).toBe(0);
  });
});
