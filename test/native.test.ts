/**
 * The native addon against a real classic-level database: sync writes must write exactly what
 * classic-level's own batch() writes, sync scans and counts must read exactly what its iterators
 * read, on this thread, and both must fail cleanly on a closed database.
 */
import { describe, it, expect } from 'vitest';
import { ClassicLevel } from 'classic-level';
import path from 'node:path';
import { nativeWriter } from '../src/storage/native-write.js';
import { addon, contextOf } from '../src/storage/native-addon.js';
import { nativeChunk, scan, scanResp, respScans, count, readChunk, CHUNK_ENTRIES, CHUNK_BYTES, type RangeRead, type ScanOptions } from '../src/storage/scan.js';
import { Store } from '../src/storage/store.js';
import { tempDir } from './helpers/server.js';

type Db = ClassicLevel<Buffer, Buffer>;

async function open(dir: string): Promise<Db> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', writeBufferSize: 64 * 1024 });
  await db.open();
  return db;
}

describe('native sync writes', () => {
  it('is built by npm install (package.json "install" script)', () => {
    expect(nativeWriter).not.toBeNull();
  });

  it('writes puts and deletes in order, visible at once and after reopening', async () => {
    const dir = path.join(tempDir(), 'db');
    let db = await open(dir);
    const b = (s: string): Buffer => Buffer.from(s);
    nativeWriter!.write(db, [
      { type: 'put', key: b('a'), value: b('1') },
      { type: 'put', key: b('b'), value: b('2') },
      { type: 'del', key: b('a') },
      { type: 'put', key: b('c'), value: Buffer.alloc(100_000, 7) },
    ], false);
    expect(db.getSync(b('a'))).toBeUndefined();
    expect(db.getSync(b('b'))!.toString()).toBe('2');
    // Many batches, so data leaves the 64 KiB memtable for table files.
    for (let i = 0; i < 200; i++) {
      nativeWriter!.write(db, Array.from({ length: 50 }, (_, j) => ({ type: 'put' as const, key: b(`k${i}:${j}`), value: Buffer.alloc(64, i) })), i % 50 === 0);
    }
    await db.close();
    db = await open(dir);
    expect(db.getSync(b('b'))!.toString()).toBe('2');
    expect(db.getSync(b('c'))!.length).toBe(100_000);
    expect(db.getSync(b('k199:49'))![0]).toBe(199);
    expect(await db.keys({ gte: b('k'), lt: b('l') }).all()).toHaveLength(200 * 50);
    await db.close();
  });

  it('encodes batch contents exactly: varint length boundaries, empty values, deletes, a batch larger than the reused buffer', async () => {
    const dir = path.join(tempDir(), 'db');
    let db = await open(dir);
    const sizes = [0, 1, 127, 128, 129, 16383, 16384, 16385, 1_100_000];
    const ops = sizes.flatMap((n, i) => [
      { type: 'put' as const, key: Buffer.alloc(Math.min(n, 20_000) + 1, 65 + i), value: Buffer.alloc(n, i) },
      { type: 'put' as const, key: Buffer.from(`gone${i}`), value: Buffer.from('x') },
      { type: 'del' as const, key: Buffer.from(`gone${i}`) },
    ]);
    nativeWriter!.write(db, ops, true); // over 1 MB: a batch of its own
    nativeWriter!.write(db, ops.slice(0, 6), false); // the reused batch
    const check = (): void => {
      sizes.forEach((n, i) => {
        const v = db.getSync(Buffer.alloc(Math.min(n, 20_000) + 1, 65 + i));
        expect(v?.length, `value of ${n} bytes`).toBe(n);
        expect(v!.equals(Buffer.alloc(n, i))).toBe(true);
        expect(db.getSync(Buffer.from(`gone${i}`))).toBeUndefined();
      });
    };
    check();
    // The same database object closed and opened again: the reused batch still writes to it.
    await db.close();
    await db.open();
    nativeWriter!.write(db, [{ type: 'put', key: Buffer.from('after'), value: Buffer.from('reopen') }], false);
    expect(db.getSync(Buffer.from('after'))!.toString()).toBe('reopen');
    await db.close();
    db = await open(dir);
    check();
    expect(db.getSync(Buffer.from('after'))!.toString()).toBe('reopen');
    await db.close();
  });

  it('writes each batch in key order (memtable-splice) and keeps the last write of a key, as written', async () => {
    const dir = path.join(tempDir(), 'db');
    let db = await open(dir);
    const model = new Map<string, string>();
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    // Keys of varied lengths (some prefixes of others), few enough that batches repeat them, and
    // batches of all sizes, from single records up.
    const key = (): string => `k${rand(400)}${'x'.repeat(rand(3))}`;
    const sorted = (): string[][] => [...model.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (let round = 0; round < 300; round++) {
      const ops: ({ type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer })[] = [];
      const n = round % 10 === 0 ? 1 + rand(7) : 1 + rand(600);
      for (let i = 0; i < n; i++) {
        const k = key();
        if (rand(5) === 0) {
          ops.push({ type: 'del', key: Buffer.from(k) });
          model.delete(k);
        } else {
          const v = `${round}.${i}.${'v'.repeat(rand(200))}`;
          ops.push({ type: 'put', key: Buffer.from(k), value: Buffer.from(v) });
          model.set(k, v);
        }
      }
      nativeWriter!.write(db, ops, false);
      if (round % 50 === 49) {
        const got = (await db.iterator().all()).map(([k, v]) => [k.toString(), v.toString()]);
        expect(got).toEqual(sorted());
        for (const [k, v] of sorted().slice(0, 50)) expect(db.getSync(Buffer.from(k))!.toString()).toBe(v);
      }
    }
    await db.close();
    db = await open(dir);
    expect((await db.iterator().all()).map(([k, v]) => [k.toString(), v.toString()])).toEqual(sorted());
    await db.close();
  });

  it('refuses a closed database instead of crashing', async () => {
    const db = await open(path.join(tempDir(), 'db'));
    await db.close();
    expect(() => nativeWriter!.write(db, [{ type: 'put', key: Buffer.from('x'), value: Buffer.from('y') }], false)).toThrow();
  });
});

/** Deterministic pseudo-random numbers (xorshift), so a failure repeats. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const hex = (bs: Buffer[]): string[] => bs.map((x) => x.toString('hex'));

describe('native sync scans', () => {
  // Binary keys with shared prefixes, 0x00 and 0xff bytes, and an empty value now and then.
  const random = rng(7);
  const keys: Buffer[] = [];
  for (let i = 0; i < 600; i++) {
    const len = 1 + Math.floor(random() * 4);
    keys.push(Buffer.from(Array.from({ length: len }, () => [0, 1, 0x7f, 0x80, 0xfe, 0xff][Math.floor(random() * 6)]!)));
  }
  const valueOf = (k: Buffer): Buffer => (k[0]! % 3 === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from('v'), k]));
  const probe = (): Buffer => keys[Math.floor(random() * keys.length)]!.subarray(0, 1 + Math.floor(random() * 2));

  async function filled(): Promise<Db> {
    const db = await open(path.join(tempDir(), 'db'));
    await db.batch(keys.map((k) => ({ type: 'put' as const, key: k, value: valueOf(k) })));
    return db;
  }

  it('reads exactly what classic-level iterators read, for any bounds, direction, skip and limit', async () => {
    const db = await filled();
    for (let round = 0; round < 400; round++) {
      const r: RangeRead = { reverse: random() < 0.5, values: random() < 0.8 };
      const lo = random();
      if (lo < 0.4) r.gte = probe();
      else if (lo < 0.8) r.gt = probe();
      const hi = random();
      if (hi < 0.4) r.lt = probe();
      else if (hi < 0.8) r.lte = probe();
      const skip = random() < 0.5 ? 0 : Math.floor(random() * 50);
      const limit = 1 + Math.floor(random() * 80);
      const want = await db.iterator({ ...r, values: true }).all();
      const c = nativeChunk(db, { range: r, skip, limit });
      const expected = want.slice(skip, skip + limit);
      expect(hex(c.keys)).toEqual(hex(expected.map((e) => e[0])));
      expect(hex(c.values)).toEqual(hex(expected.map((e) => (r.values === false ? Buffer.alloc(0) : e[1]!))));
      expect(c.skipped).toBe(Math.min(skip, want.length));
      expect(c.ended).toBe(skip + limit >= want.length);
      const bounds = { gte: r.gte, gt: r.gt, lt: r.lt, lte: r.lte };
      const counted = addon!.countSync(contextOf(db), r.gt ?? r.gte ?? null, r.gt !== undefined, r.lt ?? r.lte ?? null, r.lte !== undefined, -1);
      expect(counted, JSON.stringify(bounds)).toBe(want.length);
    }
    await db.close();
  });

  it('returns nothing for empty ranges and an empty database', async () => {
    const db = await filled();
    const empty = [
      { gte: Buffer.from([0x80]), lt: Buffer.from([0x80]) },
      { gt: Buffer.from([0x80]), lte: Buffer.from([0x80]) },
      { gte: Buffer.from([0xff, 0xff]), lt: Buffer.from([0x01]) },
      { gte: Buffer.from([0x02]), lt: Buffer.from([0x03]) }, // between keys: none start with 2
    ];
    for (const r of empty) {
      for (const reverse of [false, true]) {
        const c = nativeChunk(db, { range: { ...r, reverse }, skip: 0, limit: 10 });
        expect(c.keys).toHaveLength(0);
        expect(c.ended).toBe(true);
        expect(addon!.countSync(contextOf(db), r.gt ?? r.gte ?? null, r.gt !== undefined, r.lt ?? r.lte ?? null, r.lte !== undefined, -1)).toBe(0);
      }
    }
    await db.close();
    const none = await open(path.join(tempDir(), 'db'));
    expect(nativeChunk(none, { range: {}, skip: 3, limit: 10 })).toEqual({ keys: [], values: [], skipped: 0, ended: true });
    expect(nativeChunk(none, { range: { reverse: true }, skip: 0, limit: 10 }).keys).toHaveLength(0);
    await none.close();
  });

  it('stops a chunk at its byte budget and counts up to a limit', async () => {
    const db = await open(path.join(tempDir(), 'db'));
    const big = Buffer.alloc(300_000, 1);
    await db.batch(Array.from({ length: 10 }, (_, i) => ({ type: 'put' as const, key: Buffer.from([i]), value: big })));
    const c = nativeChunk(db, { range: {}, skip: 0, limit: 10 });
    // 1 MiB is reached inside the 4th value: the chunk ends after it, and more follows.
    expect(c.keys).toHaveLength(Math.ceil(CHUNK_BYTES / 300_001));
    expect(c.ended).toBe(false);
    expect(c.values.every((v) => v.equals(big))).toBe(true);
    expect(addon!.countSync(contextOf(db), null, false, null, false, 4)).toBe(4);
    expect(addon!.countSync(contextOf(db), Buffer.from([2]), true, null, false, -1)).toBe(7);
    await db.close();
  });

  it('refuses a closed database instead of crashing', async () => {
    const db = await open(path.join(tempDir(), 'db'));
    await db.put(Buffer.from('a'), Buffer.from('1'));
    const ctx = contextOf(db);
    await db.close();
    expect(() => addon!.scanSync(ctx, null, false, null, false, 2, 0, 10, 1024)).toThrow(/not open/);
    expect(() => addon!.countSync(ctx, null, false, null, false, -1)).toThrow(/not open/);
    expect(() => addon!.scanSync({}, null, false, null, false, 2, 0, 10, 1024)).toThrow(TypeError);
  });
});

describe.each([
  ['native', true],
  ['pool fallback', false],
])('range reads over a Store (%s)', (_name, nativeWrites) => {
  async function store(): Promise<Store> {
    const s = await Store.open(path.join(tempDir(), 'shard-0'), 16, 0, 1,
      { nativeWrites, rowCacheSize: 0, cacheSize: 1 << 20, writeBufferSize: 64 * 1024, maxOpenFiles: 64, compression: false });
    expect(s.syncWrites).toBe(nativeWrites);
    return s;
  }
  const key = (i: number): Buffer => {
    const k = Buffer.alloc(5);
    k[0] = 0x53; // inside the sub-key space, clear of the store's own records
    k.writeUInt32BE(i, 1);
    return k;
  };

  it('streams a range across chunks in both directions, with skip and limit', async () => {
    const s = await store();
    const n = CHUNK_ENTRIES * 2 + 100;
    await s.db.batch(Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: key(i), value: Buffer.from(String(i)) })));
    const range = { gte: key(0), lt: key(n) };
    const read = async (o: Parameters<typeof scan>[1]): Promise<number[]> => {
      const out: number[] = [];
      const r = scan(s, o, (k, v) => {
        expect(Number(v.toString())).toBe(k.readUInt32BE(1));
        out.push(k.readUInt32BE(1));
      });
      expect(typeof r === 'number').toBe(nativeWrites);
      expect(await r).toBe(out.length);
      return out;
    };
    const all = Array.from({ length: n }, (_, i) => i);
    expect(await read(range)).toEqual(all);
    expect(await read({ ...range, reverse: true })).toEqual([...all].reverse());
    expect(await read({ ...range, skip: 1500, limit: 1000 })).toEqual(all.slice(1500, 2500));
    expect(await read({ ...range, reverse: true, skip: 10, limit: 3 })).toEqual([n - 11, n - 12, n - 13]);
    expect(await read({ ...range, skip: n })).toEqual([]);
    expect(await read({ gt: key(5), lte: key(2000), values: true })).toEqual(all.slice(6, 2001));
    // Without keys (LRANGE): the values only, each key empty, in every direction and across chunks.
    for (const o of [range, { ...range, reverse: true }, { ...range, skip: 1500, limit: 1000 }]) {
      const values: number[] = [];
      const r = scan(s, { ...o, keys: false }, (k, v) => {
        expect(k.length).toBe(0);
        values.push(Number(v.toString()));
      });
      expect(await r).toBe(values.length);
      expect(values).toEqual(await read(o));
    }
    // A visitor that stops early.
    const some: number[] = [];
    expect(await scan(s, range, (k) => some.push(k.readUInt32BE(1)) < 1500)).toBe(1500);
    expect(await count(s, range)).toBe(n);
    expect(await count(s, { gt: key(10), lte: key(20) })).toBe(10);
    expect(await count(s, range, 7)).toBe(7);
    const c = await readChunk(s, { gte: key(3), lt: key(n) }, 5);
    expect(c.keys.map((k) => k.readUInt32BE(1))).toEqual([3, 4, 5, 6, 7]);
    await s.close();
  });

  it('refuses to read with writes pending, or from a closed database', async () => {
    const s = await store();
    s.put(key(1), Buffer.from('x'));
    expect(() => scan(s, {}, () => {})).toThrow(/pending/);
    const batch = s.takeOps()!;
    await s.db.batch(batch.ops as never);
    batch.done();
    expect(await scan(s, { gte: key(0), lt: key(9) }, () => {})).toBe(1);
    await s.close();
    expect(() => scan(s, {}, () => {})).toThrow(/not open/);
    expect(() => count(s, {})).toThrow(/not open/);
  });
});

describe('native RESP range reads (scanResp)', () => {
  it('writes exactly the RESP bulk strings of what scan() visits, across byte-bounded chunks', async () => {
    const s = await Store.open(path.join(tempDir(), 'shard-0'), 16, 0, 1,
      { nativeWrites: true, rowCacheSize: 0, cacheSize: 1 << 20, writeBufferSize: 64 * 1024, maxOpenFiles: 64, compression: false });
    expect(respScans(s)).toBe(true);
    const prefix = Buffer.from([0x53, 1, 2, 3]);
    const key = (i: number): Buffer => Buffer.concat([prefix, Buffer.from(`m\r\n${i}`)]);
    // Values up to 40 KB (some 0 bytes, some with CR LF inside): the range is several CHUNK_BYTES.
    const value = (i: number): Buffer => i % 7 === 0 ? Buffer.alloc(0) : Buffer.alloc((i * 977) % 40_000, `v\r\n${i}`);
    const n = 300;
    await s.db.batch(Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: key(i), value: value(i) })));
    const bulk = (b: Buffer): Buffer => Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);
    const expected = async (o: ScanOptions, keySkip: number): Promise<Buffer> => {
      const parts: Buffer[] = [];
      await scan(s, o, (k, v) => {
        if (o.keys !== false) parts.push(bulk(k.subarray(Math.min(keySkip, k.length))));
        if (o.values !== false) parts.push(bulk(v));
      });
      return Buffer.concat(parts);
    };
    const actual = (o: ScanOptions, keySkip: number): { bytes: Buffer; n: number } => {
      const parts: Buffer[] = [];
      const count = scanResp(s, o, keySkip, { raw: (b) => parts.push(Buffer.from(b)) });
      return { bytes: Buffer.concat(parts), n: count };
    };
    const range = { gte: prefix, lt: Buffer.from([0x53, 1, 2, 4]) };
    const cases: [ScanOptions, number][] = [
      [range, prefix.length],
      [{ ...range, reverse: true }, prefix.length],
      [{ ...range, keys: false }, 0],
      [{ ...range, values: false }, prefix.length],
      [{ ...range, skip: 17, limit: 250 }, 0],
      [{ ...range, reverse: true, skip: 3, limit: 5 }, prefix.length],
      [{ gt: key(10), lte: key(200) }, 100], // keySkip beyond a key's length: empty names
      [{ ...range, skip: n }, 0],
    ];
    for (const [o, keySkip] of cases) {
      const a = actual(o, keySkip);
      const e = await expected(o, keySkip);
      expect(a.bytes.equals(e), JSON.stringify({ ...o, keySkip })).toBe(true);
      let visited = 0;
      await scan(s, o, () => { visited++; });
      expect(a.n).toBe(visited);
    }
    expect(actual(range, 4).bytes.length).toBeGreaterThan(3 * CHUNK_BYTES);
    await s.close();
    expect(() => scanResp(s, {}, 0, { raw: () => {} })).toThrow(/not open/);
  });
});
