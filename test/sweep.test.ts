/**
 * The background sweep of dead collection versions, and cross-shard RENAME/COPY of collections,
 * against the compiled server with 1 and 4 shards.
 *
 * What is proven: a deleted, overwritten or flushed collection's records leave LevelDB (checked by
 * opening every shard's LevelDB after the server stopped: each 'S'/'Z' record belongs to a live
 * version and no 'G' record is left), a re-created key sees nothing of the old one, a sweep cut
 * by SIGKILL resumes after a restart, disk space comes back, INFO reports the backlog; a
 * collection copied or renamed between shards arrives whole (contents, TTL) and is never seen
 * half-copied, even when the server is killed in the middle of the copy.
 */
import { describe, it, expect, beforeAll, afterAll, onTestFinished } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { connect } from './helpers/client.js';
import { infoFields, swept } from './helpers/info.js';
import { keyShard } from '../src/server/slot.js';
import { Prefix, Type, decodeMeta, encodeMeta, metaKey, subKey, scoreKey, garbageKey } from '../src/storage/encoding.js';
import { sweepGarbage, type SweepCursor } from '../src/shard/sweep.js';
import { tempDir } from './helpers/server.js';
import { diskBytes } from '../src/util/files.js';

// ------------------------------------------------------------------ helpers

/** Fills hash `key` with n fields f<i> -> <value prefix><i>, 1000 fields per HSET, all pipelined. */
async function fillHash(r: Redis, key: string, n: number, valueBytes = 40): Promise<void> {
  const calls: Promise<unknown>[] = [];
  const pad = 'x'.repeat(valueBytes);
  for (let i = 0; i < n; i += 1000) {
    const args: string[] = [key];
    for (let j = i; j < Math.min(n, i + 1000); j++) args.push(`f${j}`, `${pad}${j}`);
    calls.push(r.call('HSET', ...args));
  }
  await Promise.all(calls);
  expect(await r.call('HLEN', key)).toBe(n);
}

async function infoStats(r: Redis): Promise<Map<string, string>> {
  return infoFields(r, 'stats', 'memory');
}

async function stat(r: Redis, name: string): Promise<number> {
  return Number((await infoStats(r)).get(name));
}

interface StoreCensus {
  /** 'S'/'Z' records of no live version. */
  orphans: number;
  /** 'G' records. */
  garbage: number;
  /** 'S' records per live user key (latin1). */
  records: Map<string, number>;
}

/** Opens every shard's LevelDB of a stopped server and checks each versioned record against the live metas. */
async function census(dir: string, shards: number): Promise<StoreCensus> {
  const out: StoreCensus = { orphans: 0, garbage: 0, records: new Map() };
  for (let s = 0; s < shards; s++) {
    const db = new ClassicLevel<Buffer, Buffer>(path.join(dir, `shard-${s}`), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    try {
      const live = new Set<string>();
      for await (const [k, v] of db.iterator({ gte: Buffer.from([Prefix.META]), lt: Buffer.from([Prefix.META + 1]) })) {
        if (v[0] === Type.STRING) continue;
        live.add(`${k[1]}|${k.subarray(2).toString('latin1')}|${decodeMeta(v).version}`);
      }
      for (const p of [Prefix.SUB, Prefix.SCORE]) {
        for await (const k of db.keys({ gte: Buffer.from([p]), lt: Buffer.from([p + 1]) })) {
          const len = k.readUInt32BE(2);
          const key = k.subarray(6, 6 + len).toString('latin1');
          if (!live.has(`${k[1]}|${key}|${k.readBigUInt64BE(6 + len)}`)) out.orphans++;
          else if (p === Prefix.SUB) out.records.set(key, (out.records.get(key) ?? 0) + 1);
        }
      }
      for await (const _ of db.keys({ gte: Buffer.from([Prefix.GARBAGE]), lt: Buffer.from([Prefix.GARBAGE + 1]) })) out.garbage++;
    } finally {
      await db.close();
    }
  }
  return out;
}

/** Two key names that live on different shards (with one shard: any two). */
function keysOnTwoShards(shards: number, a: string): [string, string] {
  const sa = keyShard(Buffer.from(a), shards);
  for (let i = 0; ; i++) {
    const b = `${a}-to-${i}`;
    if (shards === 1 || keyShard(Buffer.from(b), shards) !== sa) return [a, b];
  }
}

function sortedPairs(flat: string[]): string[] {
  const pairs: string[] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push(`${flat[i]}=${flat[i + 1]}`);
  return pairs.sort();
}

// ------------------------------------------------------------------ the pool task on a LevelDB

describe('sweepGarbage (the pool task) on a LevelDB', () => {
  it('deletes dead versions\' S and Z records across budget-bounded tasks, skips staged and live versions', async () => {
    const dir = tempDir('cairn-sweep-unit-');
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', multithreading: true });
    await db.open();
    onTestFinished(async () => {
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const bootId = Buffer.from('BOOTID!!');
    const k = (s: string): Buffer => Buffer.from(s);
    const ops: { type: 'put'; key: Buffer; value: Buffer }[] = [];
    const put = (key: Buffer, value = Buffer.alloc(0)): void => void ops.push({ type: 'put', key, value });
    // zset 'z' version 5 is dead: 3000 members and their score index entries.
    for (let i = 0; i < 3000; i++) {
      put(subKey(0, k('z'), 5n, k(`m${i}`)), Buffer.alloc(8));
      put(scoreKey(0, k('z'), 5n, i, k(`m${i}`)));
    }
    put(garbageKey(0, k('z'), 5n));
    // 'live' version 9 is its key's current version: a 'G' record naming it must not delete anything.
    put(metaKey(1, k('live')), encodeMeta({ type: Type.HASH, flags: 0, expire: 0, version: 9n, size: 2 }));
    put(subKey(1, k('live'), 9n, k('a')), k('1'));
    put(subKey(1, k('live'), 9n, k('b')), k('2'));
    put(garbageKey(1, k('live'), 9n));
    // 'staged' version 3 is a copy in progress of this process; version 4 one of a crashed process.
    put(subKey(0, k('staged'), 3n, k('x')), k('1'));
    put(garbageKey(0, k('staged'), 3n), bootId);
    put(subKey(0, k('staged'), 4n, k('x')), k('1'));
    put(garbageKey(0, k('staged'), 4n), Buffer.from('OLDBOOT!'));
    await db.batch(ops);

    let resume: SweepCursor | null = null;
    const done: Buffer[] = [];
    let deleted = 0;
    let live = 0;
    for (let tasks = 0; ; tasks++) {
      expect(tasks).toBeLessThan(50);
      const r = await sweepGarbage(db, { path: dir, bootId, resume, maxKeys: 500, maxMs: 10_000 });
      done.push(...r.done.map((g) => Buffer.from(g)));
      deleted += r.deleted;
      live += r.live;
      resume = r.resume;
      if (resume === null) break;
    }
    expect(deleted).toBe(6000 + 1);
    expect(live).toBe(1);
    expect(done.map((g) => g.toString('latin1')).sort()).toEqual(
      [garbageKey(0, k('z'), 5n), garbageKey(1, k('live'), 9n), garbageKey(0, k('staged'), 4n)].map((g) => g.toString('latin1')).sort());
    const left = (await db.keys().all()).map((key) => key.toString('latin1'));
    const expected = [
      metaKey(1, k('live')), subKey(1, k('live'), 9n, k('a')), subKey(1, k('live'), 9n, k('b')),
      subKey(0, k('staged'), 3n, k('x')),
      // 'G' records are the shard's to delete: all still here.
      garbageKey(0, k('z'), 5n), garbageKey(1, k('live'), 9n), garbageKey(0, k('staged'), 3n), garbageKey(0, k('staged'), 4n),
    ].map((key) => key.toString('latin1'));
    expect(left.sort()).toEqual(expected.sort());
  });
});

// ------------------------------------------------------------------ the sweep

describe.each([1, 4])('background sweep (%i shards)', (shards) => {
  let server: TestServer;
  let r: Redis;

  beforeAll(async () => {
    server = await startServer({ shards });
    r = connect(server.port);
  });

  afterAll(async () => {
    r?.disconnect();
    await server?.stop();
  });

  it('a DEL of a 50,000-field hash is swept; the key re-created under the same name sees nothing stale', async () => {
    await fillHash(r, 'big', 50_000);
    const before = await stat(r, 'sweep_deleted_subkeys');
    expect(await r.call('DEL', 'big')).toBe(1);
    expect(await r.call('HSET', 'big', 'fresh', '1')).toBe(1);
    expect(await r.call('HGETALL', 'big')).toEqual(['fresh', '1']);
    expect(await r.call('HLEN', 'big')).toBe(1);
    expect(await r.call('HGET', 'big', 'f1')).toBeNull();
    await swept(r);
    expect(await stat(r, 'sweep_deleted_subkeys')).toBeGreaterThanOrEqual(before + 50_000);
    expect(await stat(r, 'lazyfree_pending_objects')).toBe(0);
    expect(await r.call('HGETALL', 'big')).toEqual(['fresh', '1']);
  });

  it('overwrite, expiry and emptying a hash leave garbage that is swept too', async () => {
    const base = await stat(r, 'sweep_swept_versions');
    await fillHash(r, 'over', 3000);
    expect(await r.call('SET', 'over', 'now a string')).toBe('OK');
    await fillHash(r, 'exp', 3000);
    expect(await r.call('PEXPIRE', 'exp', '1')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await r.call('EXISTS', 'exp')).toBe(0);
    expect(await r.call('HSET', 'gone', 'a', '1')).toBe(1);
    expect(await r.call('HDEL', 'gone', 'a')).toBe(1);
    await swept(r);
    expect(await stat(r, 'sweep_swept_versions')).toBeGreaterThanOrEqual(base + 3);
    expect(await r.call('GET', 'over')).toBe('now a string');
  });

  it('disk space comes back after the sweep and its compaction', async () => {
    await swept(r);
    const base = diskBytes(server.dir);
    await fillHash(r, 'disk', 30_000, 100);
    const full = diskBytes(server.dir);
    expect(await r.call('UNLINK', 'disk')).toBe(1);
    await swept(r);
    // What the hash took (about 3 MB) is given back, within what other keys' files may vary by:
    // once the file reaper's round (one a second) frees the tables the compaction deleted.
    const target = base + (full - base) / 4;
    for (let i = 0; i < 50 && diskBytes(server.dir) >= target; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(diskBytes(server.dir)).toBeLessThan(target);
    expect(await stat(r, 'sweep_compactions')).toBeGreaterThan(0);
  });

  it('FLUSHALL ASYNC: keys go at once, their records with the sweep, the flushed ranges get compacted', async () => {
    for (let i = 0; i < 20; i++) await fillHash(r, `fl:${i}`, 100);
    await r.call('SET', 'fl:string', 'v');
    const compactions = await stat(r, 'sweep_compactions');
    expect(await r.call('FLUSHALL', 'ASYNC')).toBe('OK');
    expect(await r.call('DBSIZE')).toBe(0);
    await swept(r);
    // The sweep is done only after the flushed ranges were compacted (4 record kinds of db 0).
    expect(await stat(r, 'sweep_compactions')).toBeGreaterThanOrEqual(compactions + 4);
    expect(await r.call('HLEN', 'fl:3')).toBe(0);
  });

  it('after a clean stop, LevelDB holds no record of a dead version and no garbage record', async () => {
    await fillHash(r, 'kept', 500);
    await swept(r);
    r.disconnect();
    expect(await server.stop()).toBe(0);
    const c = await census(server.dir, shards);
    expect(c.orphans).toBe(0);
    expect(c.garbage).toBe(0);
    expect(c.records.get('kept')).toBe(500);
  });
});

describe.each([1, 4])('a sweep cut short by SIGKILL resumes after a restart (%i shards)', (shards) => {
  it('kills the server mid-sweep, restarts it on the same directory, and the backlog drains', async () => {
    let server = await startServer({ shards });
    onTestFinished(() => server.kill());
    let r = connect(server.port);
    let caught = false;
    // The sweep of 40,000 records takes a few of its 50 ms tasks; catch it between two.
    for (let attempt = 0; attempt < 5 && !caught; attempt++) {
      const key = `cut:${attempt}`;
      await fillHash(r, key, 40_000, 10);
      const base = await stat(r, 'sweep_deleted_subkeys');
      expect(await r.call('DEL', key)).toBe(1);
      for (;;) {
        const s = await infoStats(r);
        if (s.get('sweep_pending_versions') === '0') break; // missed it: try again with another key
        if (Number(s.get('sweep_deleted_subkeys')) > base) {
          caught = true;
          break;
        }
      }
    }
    expect(caught).toBe(true);
    r.disconnect();
    await server.kill();
    server = await startServer({ shards, dir: server.dir });
    r = connect(server.port);
    await swept(r);
    expect(await stat(r, 'sweep_deleted_subkeys')).toBeGreaterThan(0);
    expect(await stat(r, 'sweep_swept_versions')).toBeGreaterThanOrEqual(1);
    r.disconnect();
    expect(await server.stop()).toBe(0);
    const c = await census(server.dir, shards);
    expect(c.orphans).toBe(0);
    expect(c.garbage).toBe(0);
  });
});

// ------------------------------------------------------------------ collections across shards

describe.each([1, 4])('RENAME / COPY of a hash between shards (%i shards)', (shards) => {
  let server: TestServer;
  let r: Redis;
  let watcher: Redis;
  const N = 10_000;

  beforeAll(async () => {
    server = await startServer({ shards });
    r = connect(server.port);
    watcher = connect(server.port);
  });

  afterAll(async () => {
    r?.disconnect();
    watcher?.disconnect();
    await server?.stop();
  });

  it('COPY carries every field and the TTL; REPLACE and NX rules hold', async () => {
    const [src, dst] = keysOnTwoShards(shards, 'copy:src');
    await fillHash(r, src, N);
    expect(await r.call('PEXPIRE', src, '600000')).toBe(1);
    expect(await r.call('COPY', src, dst)).toBe(1);
    const [a, b] = await Promise.all([r.call('HGETALL', src), r.call('HGETALL', dst)]);
    expect(sortedPairs(b as string[])).toEqual(sortedPairs(a as string[]));
    const ttl = (await r.call('PTTL', dst)) as number;
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600_000);
    // Without REPLACE an existing target wins; with it the target is replaced.
    expect(await r.call('HSET', src, 'extra', 'e')).toBe(1);
    expect(await r.call('COPY', src, dst)).toBe(0);
    expect(await r.call('HLEN', dst)).toBe(N);
    expect(await r.call('COPY', src, dst, 'REPLACE')).toBe(1);
    expect(await r.call('HLEN', dst)).toBe(N + 1);
    expect(await r.call('HGET', dst, 'extra')).toBe('e');
    // The copies are independent.
    expect(await r.call('HDEL', dst, 'f0')).toBe(1);
    expect(await r.call('HGET', src, 'f0')).not.toBeNull();
  });

  it('COPY ... DB to another database', async () => {
    const [src, dst] = keysOnTwoShards(shards, 'copydb:src');
    await fillHash(r, src, 1500);
    expect(await r.call('COPY', src, dst, 'DB', '3')).toBe(1);
    const other = connect(server.port, { db: 3 });
    expect(await other.call('HLEN', dst)).toBe(1500);
    expect(await other.call('HGET', dst, 'f1499')).toBe(`${'x'.repeat(40)}1499`);
    other.disconnect();
    expect(await r.call('EXISTS', dst)).toBe(0);
  });

  it('RENAME moves the hash with its TTL; RENAMENX onto an existing key changes nothing', async () => {
    const [src, dst] = keysOnTwoShards(shards, 'ren:src');
    await fillHash(r, src, N);
    expect(await r.call('EXPIRE', src, '1000')).toBe(1);
    const want = sortedPairs((await r.call('HGETALL', src)) as string[]);
    expect(await r.call('RENAME', src, dst)).toBe('OK');
    expect(await r.call('EXISTS', src)).toBe(0);
    expect(sortedPairs((await r.call('HGETALL', dst)) as string[])).toEqual(want);
    const ttl = (await r.call('TTL', dst)) as number;
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
    const [other] = keysOnTwoShards(shards, 'ren:other');
    await fillHash(r, other, 10);
    expect(await r.call('RENAMENX', other, dst)).toBe(0);
    expect(await r.call('HLEN', dst)).toBe(N);
    expect(await r.call('HLEN', other)).toBe(10);
    await expect(r.call('RENAME', 'ren:nosuch', dst)).rejects.toThrow('ERR no such key');
  });

  it('no client sees a half-copied hash while a RENAME streams it', async () => {
    const [src, dst] = keysOnTwoShards(shards, 'vis:src');
    await fillHash(r, src, N);
    const observations: [number, number][] = [];
    let done = false;
    const watch = (async () => {
      while (!done) {
        const [len, all] = await Promise.all([watcher.call('HLEN', dst), watcher.call('HGETALL', dst)]);
        observations.push([len as number, (all as string[]).length / 2]);
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await r.call('RENAME', src, dst)).toBe('OK');
    done = true;
    await watch;
    expect(observations.length).toBeGreaterThan(0);
    for (const [len, fields] of observations) {
      expect([0, N]).toContain(len);
      expect([0, N]).toContain(fields);
    }
    expect(await r.call('HLEN', dst)).toBe(N);
  });

  it('after the copies, LevelDB holds no staged or dead version', async () => {
    await swept(r);
    r.disconnect();
    watcher.disconnect();
    expect(await server.stop()).toBe(0);
    const c = await census(server.dir, shards);
    expect(c.orphans).toBe(0);
    expect(c.garbage).toBe(0);
  });
});

describe.each([1, 4])('a cross-shard RENAME cut by SIGKILL (%i shards)', (shards) => {
  // Exactly one key is there, whole: across shards the source's deletion is a part of the same
  // cross-shard write as the destination's meta, finished at start-up when cut between them.
  it('leaves no half-copied key, and the sweep removes whatever was staged', async () => {
    let server = await startServer({ shards });
    onTestFinished(() => server.kill());
    let r = connect(server.port);
    const N = 20_000;
    const [src, dst] = keysOnTwoShards(shards, 'crash:src');
    await fillHash(r, src, N, 10);
    // Killed at some point of the copy (before, during or after: every case must end whole).
    const rename = r.call('RENAME', src, dst).catch(() => 'killed');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await server.kill();
    await rename;
    r.disconnect();

    server = await startServer({ shards, dir: server.dir });
    r = connect(server.port);
    const [s, d] = (await Promise.all([r.call('HLEN', src), r.call('HLEN', dst)])) as [number, number];
    expect([0, N]).toContain(s);
    expect([0, N]).toContain(d);
    expect(s + d).toBe(N);
    const whole = s === N ? src : dst;
    expect(await r.call('HGET', whole, `f${N - 1}`)).toBe(`${'x'.repeat(10)}${N - 1}`);
    await swept(r);
    r.disconnect();
    expect(await server.stop()).toBe(0);
    const c = await census(server.dir, shards);
    expect(c.orphans).toBe(0);
    expect(c.garbage).toBe(0);
    expect(c.records.get(whole)).toBe(N);
  });
});
