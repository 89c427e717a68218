/**
 * The collection layer (src/storage/collection.ts) on a real Store in a temp dir. LevelDB gets a
 * tiny write buffer, so the big collections here leave memory for table files and iteration
 * really reads from disk.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Store } from '../src/storage/store.js';
import { Type, garbageKey, metaKey, decodeMeta } from '../src/storage/encoding.js';
import {
  Collection, ScanCursors, scanCursors, parseScanCursor, parseScanOptions, scanPage, distinctPositions,
  positionsWithReplacement, shuffle, SCAN_WHOLE_MAX, type CollectionContext,
} from '../src/storage/collection.js';
import { CommandError } from '../src/commands/errors.js';
import { stringMatchLen as stringMatch } from '../src/util/glob.js';
import { tempDir } from './helpers/server.js';

const OPTIONS = { rowCacheSize: 0, cacheSize: 1 << 20, writeBufferSize: 64 * 1024, maxOpenFiles: 64, compression: false };
const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const strs = (bs: Buffer[]): string[] => bs.map((x) => x.toString('latin1'));

/** Writes the store's pending writes as one LevelDB batch, as the shard executor does at the end of a turn. */
async function flush(store: Store): Promise<void> {
  const batch = store.takeOps();
  if (batch) {
    await store.db.batch(batch.ops as never);
    batch.done();
  }
}

describe('Collection on a real Store', () => {
  let dir: string;
  let store: Store;
  let ctx: CollectionContext;

  beforeEach(async () => {
    dir = tempDir('cairn-coll-');
    store = await Store.open(path.join(dir, 'shard-0'), 16, 0, 1, OPTIONS);
    ctx = { store, db: 0, sync: () => flush(store) };
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const metaOf = (key: string, db = 0) => {
    const raw = store.get(metaKey(db, b(key)));
    return raw === undefined ? null : decodeMeta(raw);
  };

  it('creates a collection on save, with a fresh version and exact counts', async () => {
    const h = Collection.findOrCreate(ctx, b('h'), Type.HASH);
    expect(h.isNew).toBe(true);
    expect(h.set(b('a'), b('1'))).toBe(true);
    expect(h.set(b('b'), b('2'))).toBe(true);
    expect(h.set(b('a'), b('3'))).toBe(false);
    // Nothing is stored as a key until save(); sub-keys are readable through the overlay.
    expect(metaOf('h')).toBeNull();
    expect(h.get(b('a'))).toEqual(b('3'));
    h.save();
    expect(store.counts[0]).toBe(1);
    const m = metaOf('h')!;
    expect(m.type).toBe(Type.HASH);
    expect(m.size).toBe(2);
    expect(m.expire).toBe(0);
    await flush(store);
    const again = Collection.find(ctx, b('h'), Type.HASH, true)!;
    expect(again.isNew).toBe(false);
    expect(again.version).toBe(h.version);
    expect(again.get(b('b'))).toEqual(b('2'));
    expect(again.has(b('zz'))).toBe(false);
    expect(store.keyspaceHits).toBe(1);
    // A second collection gets a newer version.
    const g = Collection.findOrCreate(ctx, b('g'), Type.HASH);
    expect(g.version > h.version).toBe(true);
  });

  it('stores nothing for a collection that ends up empty', () => {
    const h = Collection.findOrCreate(ctx, b('h'), Type.HASH);
    h.set(b('a'), b('1'));
    h.delete(b('a'));
    h.save();
    expect(metaOf('h')).toBeNull();
    expect(store.counts[0]).toBe(0);
    expect(Collection.find(ctx, b('h'), Type.HASH, true)).toBeNull();
    expect(store.keyspaceMisses).toBe(1);
  });

  it('refuses a key of another type with WRONGTYPE', () => {
    store.setString(0, b('s'), b('v'), 0, null);
    const wrong = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        return (e as CommandError).reply;
      }
      return 'no error';
    };
    expect(wrong(() => Collection.find(ctx, b('s'), Type.HASH, true))).toBe('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(wrong(() => Collection.findOrCreate(ctx, b('s'), Type.SET))).toMatch(/^WRONGTYPE/);
    const h = Collection.findOrCreate(ctx, b('h'), Type.HASH);
    h.set(b('f'), b('v'));
    h.save();
    expect(wrong(() => Collection.find(ctx, b('h'), Type.ZSET, false))).toMatch(/^WRONGTYPE/);
  });

  it('rewrites the size in place and deletes the key when it empties, leaving a G record', async () => {
    const h = Collection.findOrCreate(ctx, b('h'), Type.HASH);
    for (let i = 0; i < 5; i++) h.set(b(`f${i}`), b('v'));
    h.save();
    await flush(store);
    const u = Collection.find(ctx, b('h'), Type.HASH, false)!;
    expect(u.delete(b('f0'))).toBe(true);
    expect(u.delete(b('f0'))).toBe(false);
    expect(u.delete(b('nope'))).toBe(false);
    u.save();
    expect(metaOf('h')!.size).toBe(4);
    expect(metaOf('h')!.version).toBe(h.version);
    expect(store.counts[0]).toBe(1);
    await flush(store);
    const d = Collection.find(ctx, b('h'), Type.HASH, false)!;
    for (let i = 1; i < 5; i++) d.delete(b(`f${i}`));
    d.save();
    expect(metaOf('h')).toBeNull();
    expect(store.counts[0]).toBe(0);
    expect(store.get(garbageKey(0, b('h'), h.version))).toBeDefined();
  });

  it('keeps the TTL on in-place updates, and expires lazily like any key', async () => {
    const h = Collection.findOrCreate(ctx, b('h'), Type.HASH);
    h.set(b('a'), b('1'));
    h.save();
    const soon = Date.now() + 60_000;
    store.setExpire(0, b('h'), metaOf('h')!, soon);
    expect(store.expires[0]).toBe(1);
    const u = Collection.find(ctx, b('h'), Type.HASH, false)!;
    u.set(b('b'), b('2'));
    u.save();
    expect(metaOf('h')!.expire).toBe(soon);
    expect(metaOf('h')!.size).toBe(2);
    // Expired: the lookup deletes it (O(1): meta only, version named for the sweep).
    store.setExpire(0, b('h'), metaOf('h')!, Date.now() - 1);
    expect(Collection.find(ctx, b('h'), Type.HASH, true)).toBeNull();
    expect(store.counts[0]).toBe(0);
    expect(store.expires[0]).toBe(0);
    expect(store.get(garbageKey(0, b('h'), h.version))).toBeDefined();
    // Re-created under the same name: a new version that sees none of the old fields.
    const r = Collection.findOrCreate(ctx, b('h'), Type.HASH);
    expect(r.version > h.version).toBe(true);
    expect(r.get(b('a'))).toBeUndefined();
    r.set(b('c'), b('3'));
    r.save();
    expect(strs((await r.read({})).subs)).toEqual(['c']);
  });

  it('replaces a key of any type with create(), as STORE commands do', async () => {
    store.setString(0, b('k'), b('str'), Date.now() + 60_000, null);
    expect(store.expires[0]).toBe(1);
    const c = Collection.create(ctx, b('k'), Type.SET, store.lookup(0, b('k')));
    c.set(b('m'), Buffer.alloc(0));
    c.save();
    expect(metaOf('k')!.type).toBe(Type.SET);
    expect(metaOf('k')!.expire).toBe(0);
    expect(store.counts[0]).toBe(1);
    expect(store.expires[0]).toBe(0);
    // Replacing a collection names its old version as garbage.
    const c2 = Collection.create(ctx, b('k'), Type.HASH, store.lookup(0, b('k')));
    c2.set(b('f'), b('v'));
    c2.save();
    expect(store.get(garbageKey(0, b('k'), c.version))).toBeDefined();
    expect(store.counts[0]).toBe(1);
    // An empty replacement deletes the destination.
    Collection.create(ctx, b('k'), Type.HASH, store.lookup(0, b('k'))).save();
    expect(metaOf('k')).toBeNull();
    expect(store.counts[0]).toBe(0);
    await flush(store);
  });

  it('iterates only its own key, database and version', async () => {
    const make = (key: string, db: number, fields: string[]): Collection => {
      const h = Collection.findOrCreate({ ...ctx, db }, b(key), Type.HASH);
      for (const f of fields) h.set(b(f), b(`${key}/${f}`));
      h.save();
      return h;
    };
    const old = make('h', 0, ['x', 'y', 'z']);
    store.deleteKey(0, b('h'), store.lookup(0, b('h'))!);
    const h = make('h', 0, ['b', 'a']);
    make('h2', 0, ['a', 'q']); // a longer key with h's bytes as its prefix
    make('', 0, ['e']); // the empty key
    make('h', 1, ['other-db']);
    const { subs, values } = await h.read({});
    expect(strs(subs)).toEqual(['a', 'b']);
    expect(strs(values)).toEqual(['h/a', 'h/b']);
    expect(strs((await Collection.find(ctx, b(''), Type.HASH, true)!.read({})).subs)).toEqual(['e']);
    // The old version's sub-keys are still on disk (for the sweep) but never visible.
    const oldEntries = await store.db.keys({ gte: old.prefix, lt: Buffer.concat([old.prefix, Buffer.from([0xff])]) }).all();
    expect(oldEntries.length).toBe(3);
  });

  it('streams large collections from disk with bounds and limits', async () => {
    const N = 20_000;
    const key = (i: number): string => `field:${String(i).padStart(6, '0')}`;
    const value = Buffer.alloc(100, 0x61);
    const h = Collection.findOrCreate(ctx, b('big'), Type.HASH);
    for (let i = 0; i < N; i++) {
      h.put(b(key(i)), value, false);
      if (i % 2000 === 1999) await flush(store);
    }
    h.save();
    await flush(store);
    // With a 64KB write buffer the data sits in table files, not the memtable.
    const tables = fs.readdirSync(path.join(dir, 'shard-0')).filter((f) => f.endsWith('.ldb'));
    expect(tables.length).toBeGreaterThan(0);
    const big = Collection.find(ctx, b('big'), Type.HASH, true)!;
    expect(big.size).toBe(N);
    let n = 0;
    let ordered = true;
    let prev = '';
    await big.forEach({ values: false }, (sub, v) => {
      const s = sub.toString('latin1');
      if (s <= prev) ordered = false;
      prev = s;
      if (v.length !== 0) ordered = false;
      n++;
    });
    expect(n).toBe(N);
    expect(ordered).toBe(true);
    expect(strs((await big.read({ from: b(key(100)), limit: 3 })).subs)).toEqual([key(100), key(101), key(102)]);
    expect(strs((await big.read({ after: b(key(100)), limit: 2 })).subs)).toEqual([key(101), key(102)]);
    expect(strs((await big.read({ from: b(key(19_998)) })).subs)).toEqual([key(19_998), key(19_999)]);
    expect((await big.read({ from: b(key(10)), before: b(key(20)) })).subs.length).toBe(10);
    expect((await big.read({ limit: 0 })).subs.length).toBe(0);
    // A visitor can stop early.
    let seen = 0;
    expect(await big.forEach({}, () => ++seen < 7)).toBe(7);
    // Positions: sorted, with repeats, in one pass.
    const got: string[] = [];
    await big.atPositions([0, 5, 5, 19_999], (i, sub, v) => {
      got.push(`${i}:${sub.toString('latin1')}`);
      expect(v).toEqual(value);
    });
    expect(got).toEqual([`0:${key(0)}`, `1:${key(5)}`, `2:${key(5)}`, `3:${key(19_999)}`]);
  });

  it('syncs pending writes before iterating, and refuses to iterate past the overlay', async () => {
    const h = Collection.findOrCreate(ctx, b('h'), Type.HASH);
    h.set(b('a'), b('1'));
    h.save();
    // Not flushed yet: forEach's sync() writes it first, so the iterator sees it.
    expect(strs((await h.read({})).subs)).toEqual(['a']);
    const u = Collection.find({ ...ctx, sync: async () => undefined }, b('h'), Type.HASH, false)!;
    u.set(b('b'), b('2'));
    await expect(u.read({})).rejects.toThrow(/pending/);
  });

  it('draws random positions correctly', () => {
    for (const [size, count] of [[10, 10], [10, 3], [1000, 999], [1, 1], [5000, 20]] as const) {
      const p = distinctPositions(size, count);
      expect(p.length).toBe(count);
      expect(new Set(p).size).toBe(count);
      for (let i = 0; i < p.length; i++) {
        expect(p[i]).toBeGreaterThanOrEqual(0);
        expect(p[i]).toBeLessThan(size);
        if (i > 0) expect(p[i]!).toBeGreaterThan(p[i - 1]!);
      }
    }
    const { sorted, order } = positionsWithReplacement(7, 500);
    expect(sorted.length).toBe(500);
    for (let i = 1; i < 500; i++) expect(sorted[i]!).toBeGreaterThanOrEqual(sorted[i - 1]!);
    expect(new Set(order).size).toBe(500);
    // Every value 0..6 shows up in 500 draws (probability of a miss is ~7 * (6/7)^500).
    expect(new Set(sorted).size).toBe(7);
    expect(shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('SCAN over a collection', () => {
  let dir: string;
  let store: Store;
  let ctx: CollectionContext;

  beforeEach(async () => {
    dir = tempDir('cairn-coll-');
    store = await Store.open(path.join(dir, 'shard-0'), 16, 0, 1, OPTIONS);
    ctx = { store, db: 0, sync: () => flush(store) };
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const fill = (key: string, n: number): Collection => {
    const h = Collection.findOrCreate(ctx, b(key), Type.HASH);
    for (let i = 0; i < n; i++) h.set(b(`m${i}`), b(String(i)));
    h.save();
    return h;
  };

  it('returns a small collection whole with cursor 0, whatever the cursor', async () => {
    const h = fill('small', SCAN_WHOLE_MAX);
    for (const cursor of [0n, 12345n]) {
      const page = await scanPage(h, cursor, { count: 1, pattern: null });
      expect(page.cursor).toBe(0n);
      expect(page.subs.length).toBe(SCAN_WHOLE_MAX);
    }
    const matched = await scanPage(h, 0n, { count: 10, pattern: b('m1?') });
    expect(strs(matched.subs)).toEqual(['m10', 'm11', 'm12', 'm13', 'm14', 'm15', 'm16', 'm17', 'm18', 'm19']);
    expect(strs(matched.values)).toEqual(['10', '11', '12', '13', '14', '15', '16', '17', '18', '19']);
  });

  it('visits every element present throughout a full iteration, while others come and go', async () => {
    fill('big', 1000);
    await flush(store);
    const seen = new Map<string, number>();
    let cursor = 0n;
    let calls = 0;
    do {
      const page = await scanPage(Collection.find(ctx, b('big'), Type.HASH, true)!, cursor, { count: 37, pattern: null });
      for (const s of strs(page.subs)) seen.set(s, (seen.get(s) ?? 0) + 1);
      cursor = page.cursor;
      // Churn between calls: delete a few late elements, add some new ones.
      const w = Collection.find(ctx, b('big'), Type.HASH, false)!;
      w.delete(b(`m${900 + calls}`));
      w.set(b(`new${calls}`), b('x'));
      w.save();
      calls++;
    } while (cursor !== 0n && calls < 1000);
    expect(cursor).toBe(0n);
    expect(calls).toBeGreaterThan(20);
    for (let i = 0; i < 900; i++) expect(seen.get(`m${i}`), `m${i}`).toBe(1);
  });

  it('filters with MATCH but counts examined entries, as Redis does', async () => {
    const h = fill('big', 500);
    const page = await scanPage(h, 0n, { count: 50, pattern: b('m1*') });
    // The first 50 in byte order: m0, m1, m10..m19, m100..m135 ...
    expect(page.cursor).not.toBe(0n);
    expect(page.subs.every((s) => s.toString().startsWith('m1'))).toBe(true);
    expect(page.subs.length).toBeGreaterThan(0);
    const none = await scanPage(h, 0n, { count: 5, pattern: b('zzz*') });
    expect(none.subs.length).toBe(0);
    expect(none.cursor).not.toBe(0n);
  });

  it('issues opaque cursors, consumes them once, and bounds the table', () => {
    const t = new ScanCursors(3, 100);
    const c1 = t.issue(b('a'));
    const c2 = t.issue(b('b'));
    expect(c1).not.toBe(c2);
    expect(c1 > 0n && c1 < 1n << 63n).toBe(true);
    expect(t.take(c1)).toEqual(b('a'));
    expect(t.take(c1)).toBeNull(); // consumed: a retry restarts
    expect(t.take(0n)).toBeNull();
    expect(t.take(42n)).toBeNull();
    t.issue(b('c'));
    t.issue(b('d'));
    const c5 = t.issue(b('e'));
    expect(t.size).toBe(3);
    expect(t.take(c2)).toBeNull(); // evicted (oldest)
    expect(t.take(c5)).toEqual(b('e'));
    // The byte bound evicts too, but never the cursor just issued.
    const big = t.issue(Buffer.alloc(150));
    expect(t.size).toBe(1);
    expect(t.take(big)!.length).toBe(150);
    // A cursor keeps its own copy of the position.
    const src = b('xyz');
    const c6 = scanCursors.issue(src.subarray(1));
    src[1] = 0x41;
    expect(scanCursors.take(c6)).toEqual(b('yz'));
  });

  it('parses cursors as Redis 7.0 (strtoul) does', () => {
    const ok = (s: string): bigint => parseScanCursor(Buffer.from(s, 'latin1'));
    expect(ok('0')).toBe(0n);
    expect(ok('')).toBe(0n);
    expect(ok('00')).toBe(0n);
    expect(ok('-0')).toBe(0n);
    expect(ok('+5')).toBe(5n);
    expect(ok('-1')).toBe((1n << 64n) - 1n);
    expect(ok('18446744073709551615')).toBe((1n << 64n) - 1n);
    expect(ok('-18446744073709551615')).toBe(1n);
    expect(ok('7\0abc')).toBe(7n);
    for (const bad of ['x', ' 1', '1 ', '-', '+', '0x10', '1a', '18446744073709551616', '-18446744073709551616', '1.5']) {
      expect(() => ok(bad), bad).toThrow('ERR invalid cursor');
    }
  });

  it('parses COUNT and MATCH', () => {
    const parse = (...a: string[]) => parseScanOptions(['hscan', 'k', '0', ...a].map(b), 3);
    expect(parse()).toEqual({ count: 10, pattern: null });
    expect(parse('COUNT', '5', 'match', 'a*')).toEqual({ count: 5, pattern: b('a*') });
    expect(parse('match', '*')).toEqual({ count: 10, pattern: null });
    expect(parse('count', '1', 'count', '7')).toEqual({ count: 7, pattern: null });
    const error = (...a: string[]): string => {
      try {
        parse(...a);
        return 'no error';
      } catch (e) {
        return (e as CommandError).reply;
      }
    };
    expect(error('count', '0')).toBe('ERR syntax error');
    expect(error('count', '-1')).toBe('ERR syntax error');
    expect(error('count', 'x')).toBe('ERR value is not an integer or out of range');
    expect(error('count')).toBe('ERR syntax error');
    expect(error('match')).toBe('ERR syntax error');
    expect(error('type', 'string')).toBe('ERR syntax error');
    expect(error('novalues')).toBe('ERR syntax error');
  });
});

describe('stringMatch (SCAN MATCH)', () => {
  const m = (p: string, s: string, nocase = false): boolean => stringMatch(Buffer.from(p, 'latin1'), Buffer.from(s, 'latin1'), nocase);

  it('matches as Redis stringmatchlen', () => {
    // Redis 7.0 quirk: no pattern matches the empty string but the empty pattern (SCAN skips MATCH *).
    expect(m('*', '')).toBe(false);
    expect(m('**', '')).toBe(false);
    expect(m('*', 'abc')).toBe(true);
    expect(m('a*c', 'abbbc')).toBe(true);
    expect(m('a*c', 'abbb')).toBe(false);
    expect(m('a?c', 'abc')).toBe(true);
    expect(m('a?c', 'ac')).toBe(false);
    expect(m('h[ae]llo', 'hello')).toBe(true);
    expect(m('h[^e]llo', 'hello')).toBe(false);
    expect(m('h[a-b]llo', 'hbllo')).toBe(true);
    expect(m('h[b-a]llo', 'hbllo')).toBe(true);
    expect(m('h\\*llo', 'h*llo')).toBe(true);
    expect(m('h\\*llo', 'hallo')).toBe(false);
    expect(m('[abc', 'a')).toBe(true);
    expect(m('[', 'a')).toBe(false);
    expect(m('HELLO', 'hello', true)).toBe(true);
    expect(m('HELLO', 'hello')).toBe(false);
    expect(m('a**', 'a')).toBe(true);
    expect(m('', '')).toBe(true);
    expect(m('', 'a')).toBe(false);
    expect(m('ab\\', 'ab\\')).toBe(true);
    // Range bounds compare as signed chars: [a-\xff] is the range -1..97.
    expect(m('[a-\xff]', '\x10')).toBe(true);
    expect(m('[a-\xff]', 'b')).toBe(false);
    // Pathological patterns stay fast.
    expect(m('a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(60))).toBe(false);
  });
});

