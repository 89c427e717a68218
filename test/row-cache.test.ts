import { describe, it, expect } from 'vitest';
import { RowCache } from '../src/storage/row-cache.js';
import { metaKey } from '../src/storage/encoding.js';
import { ManyReader } from '../src/storage/get-many.js';

const k = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('row cache', () => {
  it('returns what was set, null for known-absent, undefined when not cached', () => {
    const c = new RowCache(1 << 20);
    c.set(k('a'), Buffer.from('1'));
    c.set(k('b'), null);
    c.set(k('e'), Buffer.alloc(0));
    expect(c.get(k('a'))!.toString()).toBe('1');
    expect(c.get(k('b'))).toBeNull();
    expect(c.get(k('c'))).toBeUndefined();
    expect(c.get(k('e'))!.length).toBe(0);
    c.set(k('a'), Buffer.from('2'));
    expect(c.get(k('a'))!.toString()).toBe('2');
    expect(c.size).toBe(3);
  });

  it('compares whole keys: binary keys, prefixes and equal hashes of different lengths', () => {
    const c = new RowCache(1 << 20);
    const keys = [Buffer.from([0]), Buffer.from([0, 0]), Buffer.from([0xff, 0, 1]), k('ab'), k('abc'), k('')];
    keys.forEach((key, i) => c.set(key, Buffer.from([i])));
    keys.forEach((key, i) => expect(c.get(key)).toEqual(Buffer.from([i])));
  });

  it('returns copies: a later write into the ring never changes a value already returned', () => {
    const c = new RowCache(8192);
    c.set(k('x'), Buffer.from('before'));
    const got = c.get(k('x'))!;
    for (let i = 0; i < 1000; i++) c.set(k('fill' + i), Buffer.alloc(64, 7));
    expect(got.toString()).toBe('before');
  });

  it('stays within its byte budget while evicting the oldest entries', () => {
    const limit = 64 * 1024;
    const c = new RowCache(limit);
    for (let i = 0; i < 10_000; i++) c.set(k('key:' + i), Buffer.alloc(100, i & 0xff));
    expect(c.usedBytes).toBeLessThanOrEqual(limit);
    expect(c.size).toBeGreaterThan(100);
    expect(c.get(k('key:9999'))).toEqual(Buffer.alloc(100, 9999 & 0xff));
    expect(c.get(k('key:0'))).toBeUndefined();
  });

  it('evicts replaced entries without losing live ones: hot keys overwritten through many wraps of the ring', () => {
    const c = new RowCache(16 * 1024);
    // A few cold keys written once, then hot keys rewritten until the ring has wrapped many times:
    // eviction walks mostly replaced (dead) entries and must still drop exactly the oldest live ones.
    for (let i = 0; i < 20; i++) c.set(k('cold' + i), Buffer.alloc(16, i));
    for (let round = 0; round < 2000; round++) {
      for (let h = 0; h < 8; h++) c.set(k('hot' + h), Buffer.from(`${round}:${h}`));
    }
    for (let h = 0; h < 8; h++) expect(c.get(k('hot' + h))!.toString()).toBe(`1999:${h}`);
    // The cold keys were the oldest live entries: evicted once the ring came round to them.
    for (let i = 0; i < 20; i++) expect(c.get(k('cold' + i))).toBeUndefined();
    expect(c.size).toBe(8);
  });

  it('agrees with a Map under random sets, deletes and overwrites of varied sizes', () => {
    const c = new RowCache(32 * 1024);
    const model = new Map<string, Buffer | null>();
    let seed = 7;
    const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let i = 0; i < 50_000; i++) {
      const key = 'k' + rnd(500);
      const v = rnd(5) === 0 ? null : Buffer.alloc(rnd(300), rnd(256));
      c.set(k(key), v);
      model.set(key, v);
      const probe = 'k' + rnd(500);
      const got = c.get(k(probe));
      // A cache may forget, never lie.
      if (got !== undefined) {
        const want = model.get(probe)!;
        expect(got === null || want === null ? got === want : got.equals(want)).toBe(true);
      }
    }
    expect(c.size).toBeGreaterThan(20);
  });

  it('never evicts a pinned entry before its batch is written; refuses instead', () => {
    const c = new RowCache(8192);
    let stored = 0;
    for (let i = 0; i < 200; i++) if (c.set(k('p' + i), Buffer.alloc(40), 1)) stored++;
    expect(stored).toBeLessThan(200); // the ring filled up with pinned entries
    for (let i = 0; i < stored; i++) expect(c.get(k('p' + i))).toBeDefined();
    c.unpin(1);
    expect(c.set(k('after'), Buffer.alloc(40), 2)).toBe(true);
  });

  it('a refused set removes the older entry of the key (never a stale answer)', () => {
    const c = new RowCache(8192);
    c.set(k('big'), Buffer.from('small'));
    expect(c.set(k('big'), Buffer.alloc(4096))).toBe(false); // over an entry's maximum size
    expect(c.get(k('big'))).toBeUndefined();
  });

  it('clear() drops every entry, pinned ones too', () => {
    const c = new RowCache(1 << 16);
    c.set(k('read'), Buffer.from('r'));
    c.set(k('failed'), Buffer.from('f'), 3);
    c.set(k('later'), Buffer.from('l'), 4);
    c.clear();
    expect(c.get(k('read'))).toBeUndefined();
    expect(c.get(k('failed'))).toBeUndefined();
    expect(c.get(k('later'))).toBeUndefined();
    expect(c.size).toBe(0);
    expect(c.set(k('again'), Buffer.from('a'), 5)).toBe(true);
    expect(c.get(k('again'))!.toString()).toBe('a');
  });

  it('gives an entry used while old a second chance', () => {
    const c = new RowCache(16 * 1024);
    c.set(k('hot'), Buffer.from('h'));
    for (let i = 0; i < 2000; i++) {
      c.set(k('cold' + i), Buffer.alloc(32));
      c.get(k('hot'));
    }
    expect(c.get(k('hot'))!.toString()).toBe('h');
    expect(c.get(k('cold0'))).toBeUndefined();
  });

  it('does nothing when its size is 0', () => {
    const c = new RowCache(0);
    expect(c.set(k('a'), Buffer.from('1'))).toBe(false);
    expect(c.get(k('a'))).toBeUndefined();
    expect(c.size).toBe(0);
    expect(c.usedBytes).toBe(0);
  });
});

/** Runs `fn` with a Store (one shard, `rowCacheSize` bytes of row cache) in a temp dir, then removes it. */
async function withStore(rowCacheSize: number, fn: (store: import('../src/storage/store.js').Store) => Promise<void>): Promise<void> {
  const { Store } = await import('../src/storage/store.js');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-rowcache-'));
  const store = await Store.open(path.join(dir, 'shard-0'), 16, 0, 1,
    { rowCacheSize, cacheSize: 1 << 20, writeBufferSize: 1 << 20, maxOpenFiles: 64, compression: false });
  try {
    await fn(store);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('row cache in the store: pending writes', () => {
  it('reads see every pending write, whether the ring kept it or refused it, before and after its batch', async () => {
    // A 8 KB cache: most of each turn's writes cannot be pinned and go to the overlay.
    await withStore(8192, async (store) => {
      const key = (i: number): Buffer => Buffer.from('k' + i);
      const model = drillPendingWrites(store, 300, key, 11);
      // What LevelDB holds itself (past the cache) is the model: the batches lost no write.
      for (let i = 0; i < 300; i++) {
        const want = model[i] ?? null;
        const got = store.db.getSync(key(i)) ?? null;
        expect(got === null || want === null ? got === want : got.equals(want), 'k' + i).toBe(true);
      }
    });
  });
});

type TestStore = import('../src/storage/store.js').Store;

/**
 * Random puts and deletes of keys 0..n-1 (keyOf) over 30 turns of 40 writes, the batches written
 * every other turn (so two are in flight at times), checking after each turn and each write of
 * batches that store.get sees every key as the model has it; `poke(where)` runs between writes
 * ('write'), and before and after each batch is taken or written ('batch'). Writes what is left at
 * the end and returns the model (value, or null for deleted; undefined: never written).
 */
function drillPendingWrites(store: TestStore, n: number, keyOf: (i: number) => Buffer, seed: number,
  poke: (where: 'write' | 'batch') => void = () => undefined): (Buffer | null | undefined)[] {
  const model: (Buffer | null | undefined)[] = new Array(n);
  const rnd = (m: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % m);
  const check = (): void => {
    for (let i = 0; i < n; i++) {
      const want = model[i] ?? null;
      const got = store.get(keyOf(i)) ?? null;
      // Buffer.equals: vitest's deep equality walks a Buffer element by element (slow).
      expect(got === null || want === null ? got === want : got.equals(want), `key ${i}`).toBe(true);
    }
  };
  const batches: { ops: unknown[]; done: () => void }[] = [];
  const writeBatches = (): void => {
    while (batches.length > 0) {
      const x = batches.shift()!;
      store.writeBatch(x.ops as never);
      x.done();
      poke('batch');
    }
  };
  for (let turn = 0; turn < 30; turn++) {
    for (let w = 0; w < 40; w++) {
      const i = rnd(n);
      if (rnd(4) === 0) {
        store.del(keyOf(i));
        model[i] = null;
      } else {
        const v = Buffer.alloc(rnd(2000), turn);
        store.put(keyOf(i), v);
        model[i] = v;
      }
      poke('write');
    }
    poke('batch');
    check();
    const b = store.takeOps();
    if (b) batches.push(b);
    poke('batch');
    if (turn % 2 === 1) writeBatches();
    check();
  }
  writeBatches();
  return model;
}

describe('row cache in the store: one write per key and batch', () => {
  it('a key written several times in a turn is one write in its batch, with the last value', async () => {
    const b = (t: string): Buffer => Buffer.from(t);
    await withStore(1 << 20, async (store) => {
      store.put(b('a'), b('1'));
      store.put(b('b'), b('1'));
      store.put(b('a'), b('2'));
      store.del(b('c'));
      store.del(b('a'));
      store.put(b('c'), b('3'));
      store.put(b('a'), b('4'));
      store.del(b('b'));
      const batch = store.takeOps()!;
      expect(batch.ops.map((o) => `${o.type} ${o.key.toString()} ${o.value?.toString() ?? ''}`))
        .toEqual(['put a 4', 'del b ', 'put c 3']);
      store.writeBatch(batch.ops);
      batch.done();
      // The next batch starts afresh: a key of the last one is written again.
      store.put(b('a'), b('5'));
      const next = store.takeOps()!;
      expect(next.ops.map((o) => o.key.toString())).toEqual(['a']);
      store.writeBatch(next.ops);
      next.done();
      expect(store.db.getSync(b('a'))).toEqual(b('5'));
      expect(store.db.getSync(b('b'))).toBeUndefined();
      expect(store.db.getSync(b('c'))).toEqual(b('3'));
    });
  });
});

describe('row cache in the store: index records', () => {
  it('score- and expiry-index records go to the batch only, never into the cache', async () => {
    const { expiryKey, Prefix } = await import('../src/storage/encoding.js');
    await withStore(1 << 20, async (store) => {
      const z = Buffer.from([Prefix.SCORE, 0, 1, 2, 3]);
      const e = expiryKey(Date.now() + 1000, 0, Buffer.from('k'));
      const before = store.rows.size;
      store.put(z, Buffer.alloc(0));
      store.put(e, Buffer.alloc(0));
      store.del(z);
      store.put(z, Buffer.alloc(0));
      expect(store.rows.size).toBe(before);
      // Nothing may read them by key (a read would bypass the pending writes).
      expect(() => store.get(z)).toThrow(/index record/);
      const b = store.takeOps()!;
      // Not deduplicated either: every write is in the batch, in order.
      expect(b.ops.map((o) => o.type)).toEqual(['put', 'put', 'del', 'put']);
      store.writeBatch(b.ops);
      b.done();
      expect(store.db.getSync(z)).toEqual(Buffer.alloc(0));
      expect(store.db.getSync(e)).toEqual(Buffer.alloc(0));
    });
  });
});

describe('overlapped reads (Store.prefetchMeta, get-many)', () => {
  it('reads many keys in one call, on the pool or not, exactly as getSync does', async () => {
    await withStore(0, async (store) => {
      const reader = ManyReader.for(store.db);
      // Built by npm install (the addon and the patched LevelDB); without them there is nothing to test.
      if (reader === null) return;
      for (let i = 0; i < 500; i += 2) store.put(metaKey(0, Buffer.from('k' + i)), Buffer.alloc(i * 7, i));
      await store.writeBatch(store.takeOps()!.ops);
      // 0: every read counts as slow, so all but the first go to the pool.
      for (const slow of [1e9, 0]) {
        reader.slowMicros = slow;
        const got = new Map<string, Buffer | null>();
        // k<digit><i>: k10 (written), k21 (not), ...
        for (let i = 0; i < 200; i++) reader.addMetaKey(0, Buffer.from('k' + String.fromCharCode(0x31 + (i % 9)) + i));
        reader.read((k, v) => got.set(k.toString('latin1'), v === null ? null : Buffer.from(v)));
        expect(got.size).toBe(200);
        for (const [k, v] of got) {
          const want = store.db.getSync(Buffer.from(k, 'latin1')) ?? null;
          expect(v === null || want === null ? v === want : v.equals(want), k).toBe(true);
        }
      }
      expect(reader.stats.calls).toBe(2);
      expect(reader.stats.keys).toBe(400);
      expect(reader.stats.slow).toBeGreaterThan(0);
    });
  });

  it('reads every frame ahead while reads are slow (the disk), and only samples otherwise', async () => {
    await withStore(0, async (store) => {
      const reader = ManyReader.for(store.db);
      if (reader === null) return;
      const sampled = (): number => {
        let n = 0;
        for (let i = 0; i < 64; i++) if (reader.wanted()) n++;
        return n;
      };
      const readTwo = (): void => {
        reader.addMetaKey(0, Buffer.from('a'));
        reader.addMetaKey(0, Buffer.from('b'));
        reader.read(() => undefined);
      };
      expect(sampled()).toBe(2);
      reader.slowMicros = 0;
      readTwo();
      expect(sampled()).toBe(64);
      reader.slowMicros = 1e9;
      for (let i = 0; i < 15; i++) readTwo();
      expect(reader.wanted()).toBe(true);
      readTwo();
      expect(sampled()).toBe(2);
    });
  });

  it('never caches a value older than a pending write, whether the ring kept the write or refused it', async () => {
    // An 8 KB cache: most records are not cached, so prefetches read LevelDB, and many pending
    // writes live in the overlay rather than the ring.
    await withStore(8192, async (store) => {
      const user = (i: number): Buffer => Buffer.from('u' + i);
      let seed = 5;
      const rnd = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
      drillPendingWrites(store, 200, (i) => metaKey(0, user(i)), 7, (where) => {
        if (where === 'write' && rnd(8) !== 0) return;
        const keys = Array.from({ length: 2 + rnd(60) }, () => user(rnd(200)));
        store.prefetchMeta(keys.map(() => 0), keys, keys.length);
      });
      expect(store.prefetchStats === null || store.prefetchStats.keys > 0).toBe(true);
    });
  });
});
