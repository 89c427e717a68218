/**
 * One shard's view of its LevelDB: reads through a pending-write overlay, writes into the
 * current turn's batch, and the one place that decides type and expiry of a key.
 *
 * Group commit: a command's writes go to `ops` and to the overlay; the executor takes them at
 * the end of the turn and writes them as one LevelDB batch before any reply of that turn leaves.
 * Until the batch is written, reads see the pending values through the overlay (a read after a
 * write in the same turn must see it). Only one batch is in flight at a time, so batches reach
 * LevelDB in order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { RowCache } from './row-cache.js';
import { nativeWriter } from './native-write.js';
import { ManyReader, type ReadStats } from './get-many.js';
import {
  Type, type Meta, type TypeCode, metaKey, decodeMeta, encodeStringMeta, encodeMeta, expiryKey,
  countKey, garbageKey, readU64, writeU64, INFO_KEY, FORMAT_VERSION, READABLE_FORMATS, Prefix,
  DB_IDS_KEY, DB_ID_COUNT, encodeDbIds, decodeDbIds,
} from './encoding.js';

export type Db = ClassicLevel<Buffer, Buffer>;

export interface BatchOp {
  type: 'put' | 'del';
  key: Buffer;
  value?: Buffer;
}

export interface StoreOptions {
  /** Write group commits on the shard's thread with the native addon when it is built. */
  nativeWrites?: boolean;
  /** Read a frame's meta records in one overlapped native call first (get-many.ts), when available: auto (default) only while reads reach the disk. */
  overlappedReads?: 'auto' | 'always' | 'no';
  /** Bytes of the JS-side row cache (0 = off). */
  rowCacheSize: number;
  cacheSize: number;
  writeBufferSize: number;
  maxOpenFiles: number;
  /** LevelDB's block size (uncompressed bytes per block of a table file). */
  blockSize?: number;
  compression: boolean;
}

/** A thrown error with a stable code, for I/O and start-up failures (never for command outcomes). */
export class StoreError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** Result of a typed lookup when the key holds another type. */
export const WRONGTYPE = Symbol('WRONGTYPE');

export class Store {
  /** Writes since the last takeOps(), in order. */
  private ops: BatchOp[] = [];
  /**
   * Writes not yet in LevelDB live in the row cache, pinned until their batch is written. The ones
   * it refuses (too large, cache off or full of pinned entries) go to this overlay, keyed by the
   * latin1 form of the key: newest first is `current`, then in-flight batches.
   */
  private current = new Map<string, Buffer | null>();
  private inflight: Map<string, Buffer | null>[] = [];
  /** Number of the batch that will take the writes made now (int32, wraps, never 0: see RowCache). */
  private pendingGen = 1;
  /** Keys per database id (exact, persisted in the same batches as the writes). */
  readonly counts: number[] = new Array<number>(DB_ID_COUNT).fill(0);
  /** Keys with an expiry per database id (exact, persisted alike). */
  readonly expires: number[] = new Array<number>(DB_ID_COUNT).fill(0);
  /**
   * Database number (SELECT's) -> database id (the db byte of its records: encoding.ts, '!dbs').
   * Covers every database ever configured, so a smaller `databases` never frees another's id.
   */
  private ids: number[] = [];
  /** Database id -> database number; -1 for an id no database has (free or retired). */
  private readonly dbOf = new Int16Array(DB_ID_COUNT).fill(-1);
  /** Ids of flushed databases whose records the sweep has not yet deleted. */
  private readonly retiredIds = new Set<number>();
  /** The retired ids that have 'E' entries to delete (their database had keys with a TTL). */
  private readonly retiredExpiring = new Set<number>();
  private dirtyCounts = new Set<number>();
  /** INFO stats: expired-key deletions, and read lookups that found / did not find a key. */
  expiredKeys = 0;
  keyspaceHits = 0;
  keyspaceMisses = 0;
  private lastVersion = 0n;
  /**
   * 'G' records written since open: the sweep's backlog grows by these (src/shard/sweep.ts adds
   * the records found at open and subtracts the versions it finished).
   */
  garbageWritten = 0;

  readonly rows: RowCache;
  /** True when batches are written synchronously on this thread (native addon). */
  readonly syncWrites: boolean;
  /** appendfsync: 'always' fsyncs every group commit; 'everysec' relies on flushToDisk() each second. */
  fsync: 'always' | 'everysec' | 'no' = 'everysec';
  /** Writes reached LevelDB's log since its last fsync. */
  private unsynced = false;

  get needsFsync(): boolean {
    return this.unsynced;
  }
  /** fsyncs of LevelDB's log (INFO). */
  fsyncs = 0;
  /** Group commits written, and how long they took (INFO persistence). */
  readonly batchWrites = { count: 0, usec: 0, maxUsec: 0, slow: 0 };
  /** Batches taken (takeOps) and not written yet: range reads must wait for them (hasPending). */
  private unwrittenBatches = 0;
  /** DEBUG SET-WRITE-DELAY: every group commit reaches LevelDB this many ms late, as if LevelDB stalled it. */
  injectedWriteDelay = 0;
  /**
   * Set while writes are refused (the shard's write-error state, src/shard/write-error.ts): a read
   * that meets an expired key reports it missing without deleting it, as a Redis replica does.
   */
  readOnly = false;
  /** DEBUG SET-DISK-ERROR: every LevelDB write of this shard fails with this message. */
  injectedFault: string | null = null;

  /** Overlapped point reads of the records a frame's commands will look up (null: unavailable). */
  private readonly reader: ManyReader | null;

  private constructor(readonly db: Db, readonly databases: number, rowCacheSize: number, nativeWrites: boolean, overlappedReads: 'auto' | 'always' | 'no') {
    this.rows = new RowCache(rowCacheSize, databases);
    this.syncWrites = nativeWrites && nativeWriter !== null;
    this.reader = overlappedReads !== 'no' && this.syncWrites && this.rows.enabled ? ManyReader.for(db, overlappedReads === 'always') : null;
  }

  /** Whether the next frame's records should be read ahead (prefetchMeta): see get-many.ts. */
  get wantsPrefetch(): boolean {
    return this.reader !== null && this.reader.wanted();
  }

  /** Native calls, keys and slow (disk) reads of prefetchMeta (INFO); null when it is unavailable. */
  get prefetchStats(): ReadStats | null {
    return this.reader?.stats ?? null;
  }

  /**
   * Reads the meta records of (dbs[i], keys[i]) that neither the row cache nor the pending writes
   * hold, in one overlapped native call (get-many.ts), and caches them, so the commands about to
   * run find them there instead of each waiting for its own disk reads. Does nothing when fewer
   * than two are missing (nothing to overlap) or the reader is unavailable.
   */
  prefetchMeta(dbs: readonly number[], keys: readonly Buffer[], n: number): void {
    const r = this.reader;
    if (r === null || this.db.status !== 'open') return;
    for (let i = 0; i < n && !r.full; i++) {
      const k = r.addMetaKey(dbs[i]!, keys[i]!);
      if (this.rows.has(k) || this.pendingWrite(k) !== undefined) r.drop();
    }
    if (r.count < 2) {
      r.reset();
      return r.noteCached();
    }
    r.read(this.cacheRead);
  }

  private readonly cacheRead = (k: Buffer, v: Buffer | null): void => {
    this.rows.set(k, v);
  };

  /**
   * The latest write of `k` waiting in the overlay (the pending writes the row cache refused):
   * its value, null for a delete, undefined when there is none.
   */
  private pendingWrite(k: Buffer): Buffer | null | undefined {
    if (this.current.size === 0 && this.inflight.length === 0) return undefined;
    const s = k.toString('latin1');
    let v = this.current.get(s);
    for (let i = this.inflight.length - 1; v === undefined && i >= 0; i--) v = this.inflight[i]!.get(s);
    return v;
  }

  static async open(path: string, databases: number, shard: number, shards: number, o: StoreOptions): Promise<Store> {
    const db: Db = new ClassicLevel<Buffer, Buffer>(path, {
      keyEncoding: 'buffer', valueEncoding: 'buffer',
      // The background sweep (workers/background.ts) opens this location from another thread;
      // classic-level shares one LevelDB handle only when every opener sets this.
      multithreading: true,
      cacheSize: o.cacheSize, writeBufferSize: o.writeBufferSize, maxOpenFiles: o.maxOpenFiles, blockSize: o.blockSize,
      compression: o.compression, createIfMissing: true,
    });
    await db.open();
    const store = new Store(db, databases, o.rowCacheSize, o.nativeWrites ?? true, o.overlappedReads ?? 'auto');
    const info = db.getSync(INFO_KEY);
    if (info === undefined) {
      await db.put(INFO_KEY, Buffer.from(JSON.stringify({ format: FORMAT_VERSION, shard, shards })));
    } else {
      const meta = JSON.parse(info.toString()) as { format: number; shard: number; shards: number };
      if (!READABLE_FORMATS.includes(meta.format)) {
        await db.close();
        throw new StoreError('CAIRN_FORMAT', `${path}: data format ${meta.format} is not supported (this build reads formats ${READABLE_FORMATS.join(', ')})`);
      }
      if (meta.shard !== shard || meta.shards !== shards) {
        await db.close();
        throw new StoreError('CAIRN_SHARDS', `${path}: created as shard ${meta.shard} of ${meta.shards}, opened as shard ${shard} of ${shards}`);
      }
      if (meta.format !== FORMAT_VERSION) await db.put(INFO_KEY, Buffer.from(JSON.stringify({ ...meta, format: FORMAT_VERSION })));
    }
    try {
      const grown = store.loadDbIds();
      if (grown) await db.put(DB_IDS_KEY, store.dbIdsRecord());
    } catch (e) {
      await db.close();
      throw e;
    }
    store.loadCounts();
    return store;
  }

  /**
   * Reads the database ids ('!dbs'; none: database n has id n) and gives databases added to the
   * configuration since an id (their own number when free). True when the record must be written.
   */
  private loadDbIds(): boolean {
    const raw = this.db.getSync(DB_IDS_KEY);
    const saved = raw === undefined ? { ids: [], retired: [], expiring: [] } : decodeDbIds(raw);
    this.ids = [...saved.ids];
    for (const id of saved.retired) this.retiredIds.add(id);
    for (const id of saved.expiring) this.retiredExpiring.add(id);
    this.dbOf.fill(-1);
    this.ids.forEach((id, n) => (this.dbOf[id] = n));
    let grown = false;
    while (this.ids.length < this.databases) {
      const n = this.ids.length;
      const id = this.isFreeId(n) ? n : this.freeId();
      if (id < 0) {
        throw new StoreError('CAIRN_DBS', `no database id is free for database ${n}: flushed databases are still being swept; start with --databases ${n} until the sweep has finished`);
      }
      this.ids.push(id);
      this.dbOf[id] = n;
      // Without a record, database n has id n: only an id that differs needs one.
      if (id !== n || raw !== undefined) grown = true;
    }
    this.rows.publishIds(this.ids);
    return grown;
  }

  private isFreeId(id: number): boolean {
    return id < DB_ID_COUNT && this.dbOf[id] === -1 && !this.retiredIds.has(id);
  }

  /** The lowest id no database has and the sweep is not deleting; -1 when there is none. */
  private freeId(): number {
    for (let id = 0; id < DB_ID_COUNT; id++) if (this.isFreeId(id)) return id;
    return -1;
  }

  private dbIdsRecord(): Buffer {
    const sorted = (ids: Set<number>): number[] => [...ids].sort((a, b) => a - b);
    return encodeDbIds({ ids: this.ids, retired: sorted(this.retiredIds), expiring: sorted(this.retiredExpiring) });
  }

  /** The id of database `n` (SELECT's number): the db byte of its records. */
  dbId(n: number): number {
    return this.ids[n]!;
  }

  /** The database number that has id `id`, or -1 (a free or retired id). */
  dbNumber(id: number): number {
    return this.dbOf[id]!;
  }

  /** Keys in the configured databases. */
  get totalKeys(): number {
    let n = 0;
    for (let i = 0; i < this.databases; i++) n += this.counts[this.ids[i]!]!;
    return n;
  }

  /** Ids of flushed databases whose records are still to be deleted. */
  get retired(): number[] {
    return [...this.retiredIds];
  }

  /** Whether a retired id has 'E' entries to delete. */
  retiredHasExpiries(id: number): boolean {
    return this.retiredExpiring.has(id);
  }

  /**
   * FLUSHDB in O(1): database `n` takes a fresh id (its keys, counts and expiry entries are all
   * under the old one, which the sweep deletes). False when no id is free (delete key by key).
   * Dead collection versions of the database ('G' records) are the sweep's in any case.
   */
  retireDb(n: number): boolean {
    const old = this.ids[n]!;
    // An empty database has nothing to retire (test suites FLUSHALL all 16 between tests).
    if (this.counts[old] === 0) return true;
    const fresh = this.freeId();
    if (fresh < 0) return false;
    this.ids[n] = fresh;
    this.hideIdsUntilWritten();
    this.dbOf[old] = -1;
    this.dbOf[fresh] = n;
    this.retiredIds.add(old);
    if (this.expires[old]! > 0) this.retiredExpiring.add(old);
    for (const id of [old, fresh]) {
      this.counts[id] = 0;
      this.expires[id] = 0;
      this.dirtyCounts.delete(id);
    }
    this.del(countKey(old));
    this.put(DB_IDS_KEY, this.dbIdsRecord());
    return true;
  }

  /** The batch after which the database ids may be shown to the front thread again (0: shown). */
  private idsShownAt = 0;

  /**
   * The front thread reads cached records by database id (RowCache.publishIds): after FLUSHDB or
   * SWAPDB changed them, it may not use them before the batch that records the change is written,
   * or it could answer from a change that a crash would undo.
   */
  private hideIdsUntilWritten(): void {
    this.rows.hideIds();
    this.idsShownAt = this.pendingGen;
  }

  /** SWAPDB: databases `a` and `b` swap ids (their records, counts and cached rows go with the ids). */
  swapDbs(a: number, b: number): void {
    if (a === b) return;
    const [ia, ib] = [this.ids[a]!, this.ids[b]!];
    this.ids[a] = ib;
    this.ids[b] = ia;
    this.hideIdsUntilWritten();
    this.dbOf[ib] = a;
    this.dbOf[ia] = b;
    this.put(DB_IDS_KEY, this.dbIdsRecord());
  }

  /**
   * A retired id whose records the sweep has deleted becomes free. The caller has synced and
   * cleared the row cache (it may hold records of the id the sweep deleted behind its back).
   */
  freeDbId(id: number): void {
    if (!this.retiredIds.delete(id)) return;
    this.retiredExpiring.delete(id);
    this.put(DB_IDS_KEY, this.dbIdsRecord());
  }

  /** Reads the key counts LevelDB holds ('C' records of the databases' ids). */
  private loadCounts(): void {
    this.counts.fill(0);
    this.expires.fill(0);
    for (const id of this.ids) {
      const c = this.db.getSync(countKey(id));
      this.counts[id] = c === undefined ? 0 : readU64(c, 0);
      this.expires[id] = c === undefined ? 0 : readU64(c, 8);
    }
  }

  // ------------------------------------------------------------ raw access with overlay

  // A command looks its key up, then writes it: the meta key is built once for both (the key
  // Buffer is the same argument object).
  private memoDb = -1;
  private memoKey: Buffer | null = null;
  private memoMk: Buffer = EMPTY_KEY;

  /** The meta key of (db, key). */
  private metaKeyOf(db: number, key: Buffer): Buffer {
    if (key !== this.memoKey || db !== this.memoDb) {
      this.memoKey = key;
      this.memoDb = db;
      this.memoMk = metaKey(db, key);
    }
    return this.memoMk;
  }

  get(k: Buffer): Buffer | undefined {
    if (isIndexRecord(k)) throw new Error('Store.get of an index record: they are written blind (see put)');
    // The row cache holds every pending write it accepted and is write-through, so a cached
    // entry is the latest value; the overlay holds the pending writes it refused.
    const cached = this.rows.get(k);
    if (cached !== undefined) return cached === null ? undefined : cached;
    const pending = this.pendingWrite(k);
    if (pending !== undefined) return pending === null ? undefined : pending;
    const v = this.db.getSync(k);
    this.rows.set(k, v ?? null);
    return v;
  }

  /**
   * Queues a write for this turn's batch. Records read by key go through the row cache (pinned
   * there, or in the overlay, until written); index records (the score and expiry indexes) are
   * only ever range-read, and a range read first writes what is pending (sync), so they go to the
   * batch alone: caching them cost a ring entry per ZADD member or TTL and evicted records that
   * are read (ZADD: about a fifth of the shard's time was the row cache).
   */
  put(k: Buffer, v: Buffer): void {
    this.write({ type: 'put', key: k, value: v }, v);
  }

  del(k: Buffer): void {
    this.write({ type: 'del', key: k }, null);
  }

  private write(op: BatchOp, v: Buffer | null): void {
    const k = op.key;
    if (isIndexRecord(k)) {
      this.ops.push(op);
      return;
    }
    if (!this.rows.set(k, v, this.pendingGen)) {
      this.current.set(k.toString('latin1'), v);
    } else if (this.rows.replacedPin === this.pendingGen && this.replaceOp(op)) {
      // The key was written earlier in this batch (a hot key's meta record, commands on one
      // collection): the batch carries only its last value, one memtable insert instead of many.
      return;
    }
    this.ops.push(op);
  }

  /** Puts `op` in the place of this batch's earlier write of the same key (looked for among the last few). */
  private replaceOp(op: BatchOp): boolean {
    const ops = this.ops;
    const stop = Math.max(0, ops.length - REPLACE_WINDOW);
    for (let i = ops.length - 1; i >= stop; i--) {
      if (ops[i]!.key.equals(op.key)) {
        ops[i] = op;
        return true;
      }
    }
    return false;
  }

  /**
   * Writes one group commit. Synchronous (returns undefined, throws on failure) with the native
   * addon; otherwise a promise from classic-level's pool-threaded batch().
   */
  writeBatch(ops: BatchOp[], sync = this.fsync === 'always'): Promise<void> | undefined {
    this.unsynced = !sync;
    // The native writer calls classic-level's binding directly, past abstract-level's status
    // check: a closed database must fail here in JS, never reach a freed LevelDB handle.
    if (this.db.status !== 'open') throw new StoreError('LEVEL_DATABASE_NOT_OPEN', 'Database is not open');
    if (this.injectedFault !== null) throw new StoreError('CAIRN_INJECTED_FAULT', this.injectedFault);
    const t0 = performance.now();
    if (this.syncWrites) {
      if (this.injectedWriteDelay > 0) sleepSync(this.injectedWriteDelay);
      nativeWriter!.write(this.db, ops, sync);
      this.countWrite(performance.now() - t0);
      if (sync) this.fsyncs++;
      return undefined;
    }
    const delay = this.injectedWriteDelay;
    const written = delay > 0
      ? new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() => this.db.batch(ops as never, { sync }))
      : this.db.batch(ops as never, { sync });
    return written.then(() => {
      this.countWrite(performance.now() - t0);
      if (sync) this.fsyncs++;
    });
  }

  /**
   * A batch written on the shard's thread blocks every command behind it: LevelDB makes a writer
   * wait while its memtable is full and the previous one is still being compacted, and sleeps
   * 1 ms per write once level 0 holds 8 files. Counted so INFO shows such stalls.
   */
  private countWrite(ms: number): void {
    const us = Math.round(ms * 1000);
    const b = this.batchWrites;
    b.count++;
    b.usec += us;
    if (us > b.maxUsec) b.maxUsec = us;
    if (us >= SLOW_WRITE_USEC) b.slow++;
  }

  /**
   * appendfsync everysec, once a second: fdatasyncs LevelDB's log files if anything was written
   * since the last time, on the libuv pool while the shard goes on serving. (A LevelDB write with
   * `sync` did this before: it ran on the shard's thread, and LevelDB queues every later writer
   * behind a syncing one, so each shard stopped for the whole fsync once a second: 20-80 ms after
   * a bulk load, which bench:capacity showed as every command's p99.) A log that LevelDB retires
   * meanwhile is flushed into a table file, which LevelDB syncs itself; records written after the
   * directory listing are in a log the next call syncs.
   */
  async syncLog(): Promise<void> {
    if (!this.unsynced) return;
    this.unsynced = false;
    const dir = this.db.location;
    for (const name of await fs.promises.readdir(dir)) {
      if (!LOG_FILE.test(name)) continue;
      let fh: fs.promises.FileHandle;
      try {
        fh = await fs.promises.open(path.join(dir, name), 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // retired since the listing
        throw e;
      }
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
    }
    this.fsyncs++;
  }

  /**
   * At close (appendfsync everysec or always): flushes LevelDB's log to disk if anything was
   * written since the last fsync (a one-record batch written with sync, which fsyncs the log and
   * everything before it).
   */
  flushToDisk(): Promise<void> | undefined {
    if (!this.unsynced) return undefined;
    const v = Buffer.allocUnsafe(8);
    writeU64(v, Date.now(), 0);
    const ops: BatchOp[] = [{ type: 'put', key: FSYNC_KEY, value: v }];
    this.unsynced = false;
    this.fsyncs++;
    if (this.db.status !== 'open') return undefined;
    if (this.injectedFault !== null) throw new StoreError('CAIRN_INJECTED_FAULT', this.injectedFault);
    if (this.syncWrites) {
      nativeWriter!.write(this.db, ops, true);
      return undefined;
    }
    return this.db.batch(ops as never, { sync: true });
  }

  /**
   * After a failed batch: forgets every write that is not in LevelDB (this turn's, the overlay's,
   * the row cache's pinned entries, with every cached record) and reloads the key counts LevelDB
   * holds, so reads see only what was written. The writes made since the failed batch go too: they
   * were computed on top of it (the executor fails their commands).
   */
  discardUnwritten(): void {
    this.ops = [];
    this.current = new Map();
    this.inflight = [];
    this.dirtyCounts.clear();
    this.rows.clear();
    if (this.db.status === 'open') {
      this.retiredIds.clear();
      this.retiredExpiring.clear();
      this.loadDbIds();
      this.loadCounts();
    }
  }

  /** A one-record batch written with sync: proves that LevelDB takes writes again (after a write error). */
  writeProbe(): Promise<void> | undefined {
    const v = Buffer.allocUnsafe(8);
    writeU64(v, Date.now(), 0);
    return this.writeBatch([{ type: 'put', key: FSYNC_KEY, value: v }], true);
  }

  /** True when the overlay holds writes that LevelDB iterators cannot see yet (this turn's, or a batch not written). */
  get hasPending(): boolean {
    return this.ops.length > 0 || this.unwrittenBatches > 0;
  }

  /** Takes this turn's writes (plus changed key counts) for one batch; the overlay keeps them until done(). */
  takeOps(): { ops: BatchOp[]; done: () => void } | null {
    for (const d of this.dirtyCounts) {
      const v = Buffer.allocUnsafe(16);
      writeU64(v, this.counts[d]!, 0);
      writeU64(v, this.expires[d]!, 8);
      this.ops.push({ type: 'put', key: countKey(d), value: v });
    }
    this.dirtyCounts.clear();
    if (this.ops.length === 0) return null;
    const ops = this.ops;
    const map = this.current;
    const gen = this.pendingGen;
    this.pendingGen = (gen + 1) | 0 || 1;
    this.ops = [];
    if (map.size > 0) {
      this.current = new Map();
      this.inflight.push(map);
    }
    this.unwrittenBatches++;
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      this.unwrittenBatches--;
      if (map.size > 0) {
        const i = this.inflight.indexOf(map);
        if (i >= 0) this.inflight.splice(i, 1);
      }
      this.rows.unpin(gen);
      if (this.idsShownAt !== 0 && ((gen - this.idsShownAt) | 0) >= 0) {
        this.idsShownAt = 0;
        this.rows.publishIds(this.ids);
      }
    };
    return { ops, done };
  }

  // ------------------------------------------------------------ the one place that decides type and expiry

  /** Meta of a live key, or null if missing or expired (an expired key is deleted here). */
  lookup(db: number, key: Buffer, now = Date.now()): Meta | null {
    const raw = this.get(this.metaKeyOf(db, key));
    if (raw === undefined) return null;
    const m = decodeMeta(raw);
    if (m.expire !== 0 && m.expire <= now) {
      if (this.readOnly) return null;
      this.deleteKey(db, key, m);
      this.expiredKeys++;
      return null;
    }
    return m;
  }

  /** lookup() for read commands: counts keyspace hits and misses (INFO stats). */
  lookupRead(db: number, key: Buffer, now = Date.now()): Meta | null {
    const m = this.lookup(db, key, now);
    if (m === null) this.keyspaceMisses++;
    else this.keyspaceHits++;
    return m;
  }

  /** Like lookup() but for one type: WRONGTYPE when the key holds another. */
  lookupTyped(db: number, key: Buffer, type: TypeCode, now = Date.now()): Meta | null | typeof WRONGTYPE {
    const m = this.lookup(db, key, now);
    if (m !== null && m.type !== type) return WRONGTYPE;
    return m;
  }

  /** String value of a key for a read command: null if missing, WRONGTYPE if another type. */
  getString(db: number, key: Buffer): Buffer | null | typeof WRONGTYPE {
    const m = this.lookupRead(db, key);
    if (m === null) return null;
    if (m.type !== Type.STRING) return WRONGTYPE;
    return m.value!;
  }

  // ------------------------------------------------------------ key lifecycle

  /** Writes a string value. `old` is the key's current meta (from lookup), so counts and the expiry index stay exact. */
  setString(db: number, key: Buffer, value: Buffer, expire: number, old: Meta | null): void {
    if (old) this.dropPrevious(db, key, old, expire);
    else this.adjustCount(db, 1);
    this.trackExpire(db, old ? old.expire : 0, expire);
    if (expire !== 0 && (!old || old.expire !== expire)) this.put(expiryKey(expire, db, key), EMPTY);
    this.put(this.metaKeyOf(db, key), encodeStringMeta(value, expire));
  }

  /** Writes any meta record (used by RENAME/COPY/MOVE/RESTORE paths). */
  putMeta(db: number, key: Buffer, m: Meta, old: Meta | null): void {
    if (old) this.dropPrevious(db, key, old, m.expire);
    else this.adjustCount(db, 1);
    this.trackExpire(db, old ? old.expire : 0, m.expire);
    if (m.expire !== 0 && (!old || old.expire !== m.expire)) this.put(expiryKey(m.expire, db, key), EMPTY);
    this.put(this.metaKeyOf(db, key), encodeMeta(m));
  }

  /** Overwrite of `old`: its expiry index entry goes unless kept, its collection version becomes garbage. */
  private dropPrevious(db: number, key: Buffer, old: Meta, newExpire: number): void {
    if (old.expire !== 0 && old.expire !== newExpire) this.del(expiryKey(old.expire, db, key));
    if (old.type !== Type.STRING) this.markGarbage(db, key, old.version!);
  }

  /** Deletes a key whose current meta is `m`. O(1) for every type: sub-keys are left to the sweep. */
  deleteKey(db: number, key: Buffer, m: Meta): void {
    if (m.expire !== 0) this.del(expiryKey(m.expire, db, key));
    if (m.type !== Type.STRING) this.markGarbage(db, key, m.version!);
    this.del(this.metaKeyOf(db, key));
    this.adjustCount(db, -1);
    this.trackExpire(db, m.expire, 0);
  }

  /** Leaves a 'G' record naming a dead collection version: the background sweep deletes its sub-keys. */
  markGarbage(db: number, key: Buffer, version: bigint): void {
    this.put(garbageKey(db, key, version), EMPTY);
    this.garbageWritten++;
  }

  /** Sets (or with 0 removes) the expiry of an existing key. */
  setExpire(db: number, key: Buffer, m: Meta, expire: number): void {
    if (m.expire === expire) return;
    if (m.expire !== 0) this.del(expiryKey(m.expire, db, key));
    if (expire !== 0) this.put(expiryKey(expire, db, key), EMPTY);
    this.trackExpire(db, m.expire, expire);
    m.expire = expire;
    this.put(this.metaKeyOf(db, key), encodeMeta(m));
  }

  /** Keeps `expires` exact when a key's expiry goes from `before` to `after` (0 = none). */
  private trackExpire(db: number, before: number, after: number): void {
    if ((before === 0) === (after === 0)) return;
    this.expires[db] = this.expires[db]! + (after === 0 ? -1 : 1);
    this.dirtyCounts.add(db);
  }

  adjustCount(db: number, delta: number): void {
    this.counts[db] = this.counts[db]! + delta;
    this.dirtyCounts.add(db);
  }

  /** A fresh collection version: strictly increasing, derived from the clock. */
  newVersion(): bigint {
    let v = BigInt(Date.now()) << 16n;
    if (v <= this.lastVersion) v = this.lastVersion + 1n;
    this.lastVersion = v;
    return v;
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

export const EMPTY = Buffer.alloc(0);
const EMPTY_KEY = Buffer.alloc(0);
/** Rewritten by each everysec flush (shard-info range): its batch is written with sync. */
const FSYNC_KEY = Buffer.from('!fsync', 'latin1');
/** LevelDB's write-ahead logs: <number>.log (its info log is LOG). */
const LOG_FILE = /^\d+\.log$/;
export { Prefix };

/** A group commit that took this long on the shard's thread is counted as slow (INFO). */
const SLOW_WRITE_USEC = 1000;

/** Blocks the calling thread for `ms` (DEBUG SET-WRITE-DELAY: a LevelDB stall, simulated). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** How far back a batch is searched for an earlier write of the same key (Store.replaceOp). */
const REPLACE_WINDOW = 32;

/** Score-index and expiry-index records: written blind, never read by key (Store.put). */
function isIndexRecord(k: Buffer): boolean {
  const p = k[0];
  return p === Prefix.SCORE || p === Prefix.EXPIRY;
}
