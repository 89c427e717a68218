/**
 * Range reads on one shard's Store, in process (no network): the native addon's synchronous range
 * reads (src/storage/scan.ts over native/sync_scan.cc) against the paths used without it, on the
 * same LevelDB. Each figure is the median over rounds of the mean time per operation; the two
 * sides alternate within every round, so a noisy (shared) machine hits both alike.
 *
 *   npm run build && npm run bench:scan -- [--members N] [--rounds R]
 *
 *   LRANGE 0 99   List.scan of 100 positions: one range read (native) vs 100 point reads through
 *                 the row cache (the path without the addon, and before it, for up to 128)
 *   LRANGE 0 999  one range read vs classic-level iterators (pool)
 *   HGETALL 1000  Collection.forEach over 1000 fields, native vs pool
 *   ZRANK mid     the rank of the middle member of a sorted set of N members (default 1,000,000):
 *                 countSync vs counting keys read from classic-level iterators
 *   ZRANGE mid    ZRANGE key N/2 N/2+9: skip inside LevelDB vs reading the skipped keys out
 *
 * With --members 10000000 this is the ZRANK of bench/large.ts at its 10M members.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Store } from '../src/storage/store.js';
import { List } from '../src/storage/list.js';
import { Collection, type CollectionContext } from '../src/storage/collection.js';
import { ZSet } from '../src/storage/zset-store.js';
import { Type } from '../src/storage/encoding.js';
import { tempDir } from '../test/helpers/server.js';
import { median, printTable, machine, writeResults } from './common.js';

const { values: v } = parseArgs({ options: { members: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } } });
const MEMBERS = Number(v.members);
const ROUNDS = Number(v.rounds);
const OPTIONS = { rowCacheSize: 32 << 20, cacheSize: 64 << 20, writeBufferSize: 4 << 20, maxOpenFiles: 1000, compression: true };

async function flush(store: Store): Promise<void> {
  const b = store.takeOps();
  if (b === null) return;
  await store.writeBatch(b.ops);
  b.done();
}

const ctxOf = (store: Store): CollectionContext => ({ store, db: 0, sync: () => flush(store) });

async function fill(store: Store): Promise<void> {
  const ctx = ctxOf(store);
  const l = List.findOrCreate(ctx, Buffer.from('mylist'));
  for (let i = 0; i < 1000; i++) l.push('left', Buffer.from('xxx'));
  l.save();
  const h = Collection.findOrCreate(ctx, Buffer.from('myhash'), Type.HASH);
  for (let i = 0; i < 1000; i++) h.set(Buffer.from(`field:${i}`), Buffer.from(`value:${i}`));
  h.save();
  await flush(store);
  const z = ZSet.findOrCreate(ctx, Buffer.from('myzset'));
  for (let i = 0; i < MEMBERS; i++) {
    z.set(Buffer.from(`member:${i}`), i * 0.5, undefined);
    if (i % 10_000 === 9_999) {
      z.save();
      await flush(store);
    }
  }
  z.save();
  await flush(store);
}

interface Case {
  name: string;
  /** Operations per timing (so that each timing is long enough to measure). */
  ops: number;
  run(store: Store): unknown;
}

const cases: Case[] = [
  {
    name: 'LRANGE 0 99', ops: 2000,
    run: (s) => List.find(ctxOf(s), Buffer.from('mylist'), true)!.scan(0, 100, false, () => {}),
  },
  {
    name: 'LRANGE 0 999', ops: 200,
    run: (s) => List.find(ctxOf(s), Buffer.from('mylist'), true)!.scan(0, 1000, false, () => {}),
  },
  {
    name: 'HGETALL 1000', ops: 200,
    run: (s) => Collection.find(ctxOf(s), Buffer.from('myhash'), Type.HASH, true)!.forEach({}, () => {}),
  },
  {
    name: `ZRANK mid (${MEMBERS.toLocaleString('en-US')})`, ops: 1,
    run: (s) => ZSet.find(ctxOf(s), Buffer.from('myzset'), true)!.rank(Buffer.from(`member:${MEMBERS >> 1}`), false),
  },
  {
    name: 'ZRANGE mid, 10', ops: 1,
    run: (s) => ZSet.find(ctxOf(s), Buffer.from('myzset'), true)!.rankRange(MEMBERS >> 1, (MEMBERS >> 1) + 9, false, () => {}),
  },
];

/** Mean microseconds per operation of `c` on `store`. */
async function time(c: Case, store: Store): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < c.ops; i++) await c.run(store);
  return ((performance.now() - t0) * 1000) / c.ops;
}

async function main(): Promise<void> {
  const dir = tempDir('cairn-bench-scan-');
  const location = path.join(dir, 'shard-0');
  // Both stores open the same LevelDB (classic-level shares one handle with `multithreading`).
  const native = await Store.open(location, 16, 0, 1, { ...OPTIONS, nativeWrites: true });
  const pool = await Store.open(location, 16, 0, 1, { ...OPTIONS, nativeWrites: false });
  if (!native.syncWrites) throw new Error('the native addon is not built (npm run build:native)');
  const t0 = performance.now();
  await fill(native);
  console.log(`filled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const times = new Map<string, { native: number[]; pool: number[] }>();
  for (const c of cases) {
    times.set(c.name, { native: [], pool: [] });
    await time(c, native); // warm both caches
    await time(c, pool);
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const c of cases) {
      const t = times.get(c.name)!;
      const first = r % 2 === 0;
      if (first) t.native.push(await time(c, native));
      t.pool.push(await time(c, pool));
      if (!first) t.native.push(await time(c, native));
    }
  }
  const rows = [['operation', 'native us/op', 'without addon us/op', 'speed-up']];
  const out: Record<string, unknown> = {};
  for (const c of cases) {
    const t = times.get(c.name)!;
    const n = median(t.native);
    const p = median(t.pool);
    rows.push([c.name, n.toFixed(1), p.toFixed(1), `${(p / n).toFixed(1)}x`]);
    out[c.name] = { nativeUs: t.native, poolUs: t.pool };
  }
  printTable(rows);
  await native.close();
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`\nresults: ${writeResults('scan', { machine: machine(), members: MEMBERS, rounds: ROUNDS, cases: out })}`);
}

await main();
