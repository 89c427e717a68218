/**
 * Range reads of a shard's LevelDB: the one place that walks a key range, for the collection
 * layer, the sorted-set index, set algebra and SCAN/KEYS.
 *
 * With the native addon (native/sync_scan.cc; on when the Store writes natively, i.e.
 * `leveldb-native-writes yes` and the addon built) a range is read on the shard's own thread, in
 * chunks of at most CHUNK_ENTRIES entries / CHUNK_BYTES bytes, each chunk one synchronous call
 * that opens, seeks, reads and closes a LevelDB iterator: scan() and count() return plain
 * numbers. Without it each chunk is read through classic-level's pool-threaded iterators and they
 * return promises. The chunk loop (walk) is the same code for both; only the chunk reader differs.
 *
 * Iterators do not see the Store's overlay of pending writes: a caller makes sure none are
 * pending first (Collection.synced(), or `await c.sync()`); scan() and count() refuse otherwise.
 * Memory: one chunk at a time (the visitor keeps what it needs; the Buffers it gets are views of
 * the chunk, so keeping one keeps that chunk alive: copy what is kept long, e.g. a value written
 * back through Store.put, which the row cache may hold).
 */
import type { Db, Store } from './store.js';
import { StoreError } from './store.js';
import { addon, contextOf } from './native-addon.js';

/** LevelDB bounds of a range (absolute keys); a side left open is the whole database's end. */
export interface Bounds {
  gte?: Buffer;
  gt?: Buffer;
  lt?: Buffer;
  lte?: Buffer;
}

export interface RangeRead extends Bounds {
  /** From the upper end down. */
  reverse?: boolean;
  /** Read values too (default true); without them each value is an empty buffer. */
  values?: boolean;
}

export interface ScanOptions extends RangeRead {
  /** Pass over this many entries first (counted in LevelDB, not copied out). */
  skip?: number;
  /** Visit at most this many entries. */
  limit?: number;
  /** The visitor reads the keys (default true); without them each key is an empty buffer. */
  keys?: boolean;
}

/**
 * ScanOptions with every field present, in one order: the range objects of the hot reads (LRANGE,
 * ZRANGE) then all have one shape, and the reads of their fields stay monomorphic (objects built
 * field by field or spread took V8's slow paths: ~8% of a shard's time under LRANGE_100, perf).
 */
export function scanRange(b: Bounds, reverse: boolean, values: boolean, skip: number, limit: number, keys: boolean): ScanOptions {
  return { gte: b.gte, gt: b.gt, lt: b.lt, lte: b.lte, reverse, values, skip, limit, keys };
}

/** A value now (native range reads), or later (classic-level's pool). */
export type MaybePromise<T> = T | Promise<T>;

/** `f(v)`, after `v` resolves when it is a promise: keeps a synchronous read synchronous. */
export function andThen<T, U>(v: MaybePromise<T>, f: (t: T) => MaybePromise<U>): MaybePromise<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** Called per entry in iteration order; return false to stop. */
export type Visitor = (key: Buffer, value: Buffer) => boolean | void;

/** One chunk of a range: keys (always) and values, and whether the range has nothing after it. */
export interface Chunk {
  keys: Buffer[];
  values: Buffer[];
  /** Entries passed over before the first key (at most the request's skip). */
  skipped: number;
  /** True when the range has no entries after this chunk. */
  ended: boolean;
}

interface ChunkRequest {
  range: RangeRead;
  skip: number;
  limit: number;
  /** Views of every key (else only of the last one, which the next chunk starts after). */
  keys?: boolean;
}

export const CHUNK_ENTRIES = 1024;
/** Entries per respSync call: nothing is decoded per entry, so chunks are bounded by bytes only. */
const RESP_CHUNK_ENTRIES = 1 << 16;
export const CHUNK_BYTES = 1 << 20;
const EMPTY = Buffer.alloc(0);
const F_REVERSE = 1;
const F_KEYS = 2;
const F_VALUES = 4;
/** respSync: a score (sorted set index keys) after each key; with F_RESP3, [member, score] pairs. */
const F_SCORES = 8;
const F_RESP3 = 16;

/** True when this store's range reads run synchronously on its thread (native addon). */
export function nativeScans(store: Store): boolean {
  return store.syncWrites && addon !== null;
}

/**
 * A range read may start: the database is open and no writes are pending (unless `midway`: writes
 * the caller made since its iteration started, outside the range it reads).
 */
function checkReadable(store: Store, midway = false): void {
  if (!midway && store.hasPending) throw new Error('range read with writes pending (sync() first)');
  // The addon is called past abstract-level's status checks: a closed (or closing, on a pool
  // thread) database must fail here, never reach a freed LevelDB handle.
  if (store.db.status !== 'open') throw new StoreError('LEVEL_DATABASE_NOT_OPEN', 'Database is not open');
}

// ---------------------------------------------------------------- chunk readers

/** A range's bounds as the addon takes them: lower, lowerExclusive, upper, upperInclusive. */
function boundArgs(b: Bounds): [Buffer | null, boolean, Buffer | null, boolean] {
  return [b.gt ?? b.gte ?? null, b.gt !== undefined, b.lt ?? b.lte ?? null, b.lte !== undefined];
}

/** One chunk through the addon, synchronously. */
export function nativeChunk(db: Db, req: ChunkRequest): Chunk {
  const r = req.range;
  const flags = (r.reverse === true ? F_REVERSE : 0) | F_KEYS | (r.values === false ? 0 : F_VALUES);
  const buf = addon!.scanSync(contextOf(db), ...boundArgs(r), flags, req.skip, req.limit, CHUNK_BYTES);
  return decodeChunk(buf, req.keys !== false);
}

/** The head scanSync's and respSync's replies share (native/sync_scan.cc): count, ended, skipped. */
interface ChunkHead {
  /** The reply, in 8-aligned memory (a copy if it was not), for native-endian typed-array reads. */
  aligned: Buffer;
  count: number;
  ended: boolean;
  skipped: number;
}

function readChunkHead(buf: Buffer): ChunkHead {
  const aligned = buf.byteOffset % 8 === 0 ? buf : Buffer.from(buf);
  const words = new Uint32Array(aligned.buffer, aligned.byteOffset, 2);
  const skipped = new Float64Array(aligned.buffer, aligned.byteOffset + 8, 1)[0]!;
  return { aligned, count: words[0]!, ended: words[1] === 1, skipped };
}

/**
 * Splits the addon's reply (layout in native/sync_scan.cc) into views of it, without copies;
 * without `allKeys` only the last key gets one (the others are empty: a view costs about as much
 * as the rest of an entry's decoding, and LRANGE needs none).
 */
export function decodeChunk(buf: Buffer, allKeys = true): Chunk {
  const { aligned, count, ended, skipped } = readChunkHead(buf);
  const lens = new Uint32Array(aligned.buffer, aligned.byteOffset + 16, count * 2);
  const keys: Buffer[] = new Array(count);
  const values: Buffer[] = new Array(count);
  let at = 16 + count * 8;
  for (let i = 0; i < count; i++) {
    const kl = lens[2 * i]!;
    const vl = lens[2 * i + 1]!;
    keys[i] = allKeys || i === count - 1 ? aligned.subarray(at, at + kl) : EMPTY;
    at += kl;
    values[i] = vl === 0 ? EMPTY : aligned.subarray(at, at + vl);
    at += vl;
  }
  return { keys, values, skipped, ended };
}

/** One chunk through classic-level's iterators (the libuv pool): the fallback without the addon. */
async function poolChunk(db: Db, req: ChunkRequest): Promise<Chunk> {
  let range = req.range;
  let skipped = 0;
  if (req.skip > 0) {
    const it = db.keys({ ...bounds(range), reverse: range.reverse === true, limit: Math.min(req.skip, 0x7fffffff) });
    let last: Buffer | undefined;
    try {
      for (let ks = await it.nextv(CHUNK_ENTRIES); ks.length > 0; ks = await it.nextv(CHUNK_ENTRIES)) {
        skipped += ks.length;
        last = ks[ks.length - 1];
        if (skipped >= req.skip) break;
      }
    } finally {
      await it.close();
    }
    if (skipped < req.skip || last === undefined) return { keys: [], values: [], skipped, ended: true };
    range = after(range, last);
  }
  const values = range.values !== false;
  const entries = await db.iterator({ ...bounds(range), reverse: range.reverse === true, values, limit: req.limit }).all();
  const keys = entries.map((e) => e[0]);
  return { keys, values: entries.map((e) => e[1] ?? EMPTY), skipped, ended: entries.length < req.limit };
}

function bounds(r: Bounds): Bounds {
  const b: Bounds = {};
  if (r.gt !== undefined) b.gt = r.gt;
  else if (r.gte !== undefined) b.gte = r.gte;
  if (r.lt !== undefined) b.lt = r.lt;
  else if (r.lte !== undefined) b.lte = r.lte;
  return b;
}

/** The rest of `r` after `key` in its iteration order. */
function after(r: RangeRead, key: Buffer): RangeRead {
  const next: RangeRead = { reverse: r.reverse, values: r.values };
  if (r.reverse === true) {
    if (r.gt !== undefined) next.gt = r.gt;
    else if (r.gte !== undefined) next.gte = r.gte;
    next.lt = key;
  } else {
    if (r.lt !== undefined) next.lt = r.lt;
    else if (r.lte !== undefined) next.lte = r.lte;
    next.gt = key;
  }
  return next;
}

// ---------------------------------------------------------------- the chunk loop (both readers)

/** Asks for chunks (yield) and visits their entries; returns how many were visited. */
function* walk(o: ScanOptions, visit: Visitor): Generator<ChunkRequest, number, Chunk> {
  const limit = o.limit ?? Infinity;
  if (limit <= 0) return 0;
  let range: RangeRead = o;
  let skip = o.skip ?? 0;
  let n = 0;
  for (;;) {
    const c: Chunk = yield { range, skip, limit: Math.min(CHUNK_ENTRIES, limit - n), keys: o.keys };
    skip -= c.skipped;
    const { keys, values } = c;
    const withKeys = o.keys !== false;
    for (let i = 0; i < keys.length; i++) {
      n++;
      if (visit(withKeys ? keys[i]! : EMPTY, values[i]!) === false) return n;
    }
    if (c.ended || n >= limit || keys.length === 0) return n;
    range = after(range, keys[keys.length - 1]!);
  }
}

function runNative<T>(db: Db, g: Generator<ChunkRequest, T, Chunk>): T {
  let step = g.next();
  while (step.done !== true) step = g.next(nativeChunk(db, step.value));
  return step.value;
}

async function runPool<T>(db: Db, g: Generator<ChunkRequest, T, Chunk>): Promise<T> {
  let step = g.next();
  while (step.done !== true) step = g.next(await poolChunk(db, step.value));
  return step.value;
}

// ---------------------------------------------------------------- API

/**
 * Visits the entries of a range in order (after `skip`, at most `limit`); returns how many were
 * visited: a number with the addon, else a promise. No writes may be pending, unless
 * `ownWritesPending`: the caller synced, then wrote outside the range (a copy under a new version).
 */
export function scan(store: Store, o: ScanOptions, visit: Visitor, ownWritesPending = false): number | Promise<number> {
  checkReadable(store, ownWritesPending);
  const g = walk(o, visit);
  return nativeScans(store) ? runNative(store.db, g) : runPool(store.db, g);
}

/**
 * One chunk of a range, for pull-style cursors (set algebra). The caller checks that no writes
 * were pending when its iteration started; writes it makes meanwhile (elsewhere) are allowed.
 */
export function readChunk(store: Store, range: RangeRead, limit = CHUNK_ENTRIES): Chunk | Promise<Chunk> {
  checkReadable(store, true);
  const req = { range, skip: 0, limit };
  return nativeScans(store) ? nativeChunk(store.db, req) : poolChunk(store.db, req);
}

/** The rest of a chunked range after the last key read. */
export const rangeAfter = after;

/** Where scanResp() puts the RESP bytes of each chunk (a ReplyWriter). */
export interface RawSink {
  raw(b: Buffer): void;
}

/** True when scanResp() can serve this store (native range reads, an addon with respSync). */
export function respScans(store: Store): boolean {
  return nativeScans(store) && addon!.respSync !== undefined;
}

/**
 * The entries of a range (after `skip`, at most `limit`) written to `out` as RESP bulk strings:
 * each key less its first `keySkip` bytes (with `keys`), then its value (with `values`), encoded
 * in LevelDB's thread by the addon, so a reply listing a range costs no JS per entry (LRANGE_100:
 * see docs/ARCHITECTURE.md). `scores` (a sorted set's score index, keySkip past the score): each
 * key's score follows it, as RESP2 (2) or RESP3 (3) prints a double (native/sync_scan.cc).
 * Synchronous; only where respScans(); no writes may be pending.
 * Returns how many entries were written.
 */
export function scanResp(store: Store, o: ScanOptions, keySkip: number, out: RawSink, scores: 0 | 2 | 3 = 0): number {
  checkReadable(store);
  const limit = o.limit ?? Infinity;
  const flags = (o.reverse === true ? F_REVERSE : 0) | (o.keys !== false ? F_KEYS : 0) | (o.values === false ? 0 : F_VALUES) |
    (scores === 0 ? 0 : F_SCORES) | (scores === 3 ? F_RESP3 : 0);
  const ctx = contextOf(store.db);
  let range: RangeRead = o;
  let skip = o.skip ?? 0;
  let n = 0;
  while (n < limit) {
    const buf = addon!.respSync!(ctx, ...boundArgs(range), flags, skip, Math.min(RESP_CHUNK_ENTRIES, limit - n), CHUNK_BYTES, keySkip);
    const { aligned, count, ended, skipped } = readChunkHead(buf);
    skip -= skipped;
    // After the shared head: the last key's length (and 4 bytes of padding), the key, the RESP.
    const lastKeyEnd = 24 + new Uint32Array(aligned.buffer, aligned.byteOffset + 16, 1)[0]!;
    if (aligned.length > lastKeyEnd) out.raw(aligned.subarray(lastKeyEnd));
    n += count;
    if (ended || count === 0) return n;
    range = after(range, aligned.subarray(24, lastKeyEnd));
  }
  return n;
}

/**
 * LevelDB's estimate of the bytes [start, end) takes in table files (no data read; memtables not
 * counted), or null where there is no such estimate (no addon). To pick the cheaper end of a count.
 */
export function approximateSize(store: Store, start: Buffer, end: Buffer): number | null {
  if (!nativeScans(store) || addon!.sizeSync === undefined) return null;
  checkReadable(store, true);
  return addon!.sizeSync(contextOf(store.db), start, end);
}

/**
 * Counts the entries of a range (at most `limit`; negative: all). O(n) either way: with the
 * addon the keys are stepped over inside LevelDB, nothing is copied to JS (about 50x faster than
 * reading them out). No writes may be pending.
 */
export function count(store: Store, b: Bounds, limit = -1): number | Promise<number> {
  checkReadable(store);
  if (nativeScans(store)) {
    return addon!.countSync(contextOf(store.db), ...boundArgs(b), limit);
  }
  return poolCount(store.db, b, limit);
}

async function poolCount(db: Db, b: Bounds, limit: number): Promise<number> {
  const it = db.keys({ ...bounds(b), ...(limit >= 0 ? { limit: Math.min(limit, 0x7fffffff) } : {}) });
  let n = 0;
  try {
    for (let ks = await it.nextv(CHUNK_ENTRIES * 4); ks.length > 0; ks = await it.nextv(CHUNK_ENTRIES * 4)) n += ks.length;
  } finally {
    await it.close();
  }
  return n;
}
