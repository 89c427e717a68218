/**
 * Collections on a shard's LevelDB: the one layer every collection family (hash, set, sorted set,
 * list, stream) uses over Store and the on-disk format of encoding.ts. No new record kinds:
 *
 *   Metadata  'M' | db | user-key                               -> type | flags | expire | version | size
 *   Sub-key   'S' | db | key-len(4) | user-key | version(8) | sub -> value
 *
 * A collection is one meta record plus the sub-keys of its current version. The version is fresh
 * on every (re)creation (store.newVersion()), so a DEL, overwrite, expiry or FLUSHDB only changes
 * the meta record and leaves a 'G' record for the sweep: the old version's sub-keys are garbage
 * and no read ever sees them, because every read here is bounded to the key's prefix AND version.
 *
 * Rules this layer keeps for its callers:
 *  - Type and expiry are decided by store.lookup/lookupRead only (lazy expiry happens there).
 *  - Sub-key reads and writes go through store.get/put/del, so the pending-write overlay of the
 *    current group commit is honoured (a read after a write in the same turn sees it).
 *  - The meta record is written once per command by save(): store.putMeta for a new version
 *    (key counts, expiry index and the previous version's 'G' record stay exact),
 *    store.deleteKey when the collection became empty (Redis never keeps an empty collection),
 *    and an in-place rewrite when only the size (or list head/tail) changed.
 *  - LevelDB range reads (scan.ts) do not see the overlay: an iteration with writes pending first
 *    awaits the shard's sync(), which writes them, and refuses to run if writes are still pending.
 *    With nothing pending (and the native addon) an iteration is synchronous: it returns a plain
 *    value instead of a promise, so callers `await` it or use andThen().
 */
import { CommandError, E } from '../commands/errors.js';
import { intArg, lower } from '../commands/args.js';
import type { ShardCall } from '../commands/types.js';
import { stringMatchLen as stringMatch } from '../util/glob.js';
import { type Meta, type TypeCode, Prefix, metaKey, versionPrefix, subKeyAfter, prefixEnd, encodeMeta } from './encoding.js';
import { scan, scanResp, scanRange, respScans, andThen, type Bounds, type MaybePromise, type RawSink, type ScanOptions as RangeScan } from './scan.js';

/** What a collection needs from its caller: a shard handler's store, database and sync(). */
export type CollectionContext = Pick<ShardCall, 'store' | 'db' | 'sync'>;

export interface RangeOptions {
  /** Start at this sub-key (inclusive) ... */
  from?: Buffer;
  /** ... or strictly after it. */
  after?: Buffer;
  /** Stop before this sub-key (exclusive); the end of the version when absent. */
  before?: Buffer;
  /** Pass over this many entries first. */
  skip?: number;
  /** Read at most this many entries. */
  limit?: number;
  /** From the end of the range backwards. */
  reverse?: boolean;
  /** Read values too (default true); without them `value` is an empty buffer. */
  values?: boolean;
  /** The visitor reads the sub-keys (default true); without them `sub` is an empty buffer. */
  subs?: boolean;
}

/** Called for each entry in sub-key order; return false to stop early. */
export type EntryVisitor = (sub: Buffer, value: Buffer) => boolean | void;

export class Collection {
  /** The stored meta this collection updates or replaces (null when the key is absent). */
  private readonly base: Meta | null;
  /** True for a version not stored yet: save() writes it with putMeta. */
  private readonly fresh: boolean;
  private readonly baseSize: number;
  private dirty = false;

  private constructor(
    readonly ctx: CollectionContext,
    readonly key: Buffer,
    /** The meta this collection will have; mutate only through this class (or markChanged()). */
    readonly meta: Meta,
    base: Meta | null,
    fresh: boolean,
  ) {
    this.base = base;
    this.fresh = fresh;
    this.baseSize = meta.size!;
  }

  // ------------------------------------------------------------ opening

  /**
   * The live collection at `key`, or null when the key is missing (or expired: deleted on the
   * way). A key of another type throws WRONGTYPE. `read` marks a read command, which counts a
   * keyspace hit or miss (Redis' lookupKeyRead); writes look up without counting.
   */
  static find(ctx: CollectionContext, key: Buffer, type: TypeCode, read: boolean): Collection | null {
    const m = read ? ctx.store.lookupRead(ctx.db, key) : ctx.store.lookup(ctx.db, key);
    if (m === null) return null;
    if (m.type !== type) throw new CommandError(E.WRONGTYPE);
    return new Collection(ctx, key, m, m, false);
  }

  /** find() for a write command that creates the collection when it is missing (stored only if save() finds it non-empty). */
  static findOrCreate(ctx: CollectionContext, key: Buffer, type: TypeCode): Collection {
    return Collection.find(ctx, key, type, false) ?? Collection.create(ctx, key, type, null);
  }

  /**
   * A new, empty collection version for `key` that replaces `old` (the key's current meta of any
   * type, from a lookup; null if absent) when saved, as the STORE forms of commands do. No TTL.
   */
  static create(ctx: CollectionContext, key: Buffer, type: TypeCode, old: Meta | null): Collection {
    const meta: Meta = { type, flags: 0, expire: 0, version: ctx.store.newVersion(), size: 0 };
    return new Collection(ctx, key, meta, old, true);
  }

  get size(): number {
    return this.meta.size!;
  }

  get version(): bigint {
    return this.meta.version!;
  }

  /** True when nothing is stored for this key yet (a created collection before save()). */
  get isNew(): boolean {
    return this.fresh;
  }

  // ------------------------------------------------------------ sub-keys (through the overlay)

  /** See prefix: built once per command, so a sub-key costs no BigInt write of the version. */
  private head: Buffer | null = null;

  private subKey(sub: Buffer): Buffer {
    return subKeyAfter(this.prefix, sub);
  }

  get(sub: Buffer): Buffer | undefined {
    // A version that was never stored has no sub-keys on disk, only in the overlay.
    return this.ctx.store.get(this.subKey(sub));
  }

  has(sub: Buffer): boolean {
    return this.get(sub) !== undefined;
  }

  /** Writes `sub`; returns true when it is new (the size grew). */
  set(sub: Buffer, value: Buffer): boolean {
    const k = this.subKey(sub);
    const isNew = this.ctx.store.get(k) === undefined;
    this.ctx.store.put(k, value);
    if (isNew) this.meta.size!++;
    return isNew;
  }

  /** Writes `sub` when the caller knows whether it exists (saves the lookup `set` does). */
  put(sub: Buffer, value: Buffer, exists: boolean): void {
    this.ctx.store.put(this.subKey(sub), value);
    if (!exists) this.meta.size!++;
  }

  /** Removes `sub`; returns true when it existed. */
  delete(sub: Buffer): boolean {
    const k = this.subKey(sub);
    if (this.ctx.store.get(k) === undefined) return false;
    this.ctx.store.del(k);
    this.meta.size!--;
    return true;
  }

  /**
   * Removes `sub` when the caller knows it exists (saves the lookup `delete` does), e.g. a list's
   * popped or trimmed entries, whose indexes follow from the list's head and tail.
   */
  remove(sub: Buffer): void {
    this.ctx.store.del(this.subKey(sub));
    this.meta.size!--;
  }

  /** For families that change type-specific meta fields (a list's head/tail): save() must write the meta. */
  markChanged(): void {
    this.dirty = true;
  }

  /**
   * Writes the meta record after the command's changes: stores a new version, deletes a key that
   * became empty (its sub-keys are left to the sweep, named by the 'G' record deleteKey writes),
   * or rewrites the size in place. Call once, after the last change; later changes need another save().
   */
  save(): void {
    const { store, db } = this.ctx;
    const size = this.meta.size!;
    if (this.fresh) {
      if (size > 0) store.putMeta(db, this.key, this.meta, this.base);
      else if (this.base !== null) store.deleteKey(db, this.key, this.base);
      return;
    }
    if (size === 0) {
      store.deleteKey(db, this.key, this.meta);
      return;
    }
    if (size !== this.baseSize || this.dirty) {
      // Same key, version and expiry: key counts and the expiry index do not change, so this is
      // the one meta write that needs none of Store's bookkeeping.
      store.put(metaKey(db, this.key), encodeMeta(this.meta));
      this.dirty = false;
    }
  }

  // ------------------------------------------------------------ iteration (scan.ts: sync with the addon)

  /** 'S' | db | key-len | key | version: every sub-key of this version starts with it (shared: never modify it). */
  get prefix(): Buffer {
    return (this.head ??= versionPrefix(Prefix.SUB, this.ctx.db, this.key, this.meta.version!));
  }

  /**
   * Runs `read` (a LevelDB range read) once no writes are pending: at once when none are (no
   * sync(), which would end the shard's group commit early), else after the shard's sync().
   */
  synced<T>(read: () => MaybePromise<T>): MaybePromise<T> {
    if (!this.ctx.store.hasPending) return read();
    return this.ctx.sync().then(read);
  }

  /**
   * Visits the entries of this version in sub-key order (or backwards), bounded by `o`, one chunk
   * at a time, so nothing beyond what the visitor keeps is held in memory. Returns how many
   * entries were visited: synchronously with the native addon and no writes pending.
   */
  forEach(o: RangeOptions, visit: EntryVisitor): MaybePromise<number> {
    if ((o.limit ?? Infinity) <= 0) return 0;
    const range = this.rangeOf(o);
    const skip = this.prefix.length;
    return this.synced(() => scan(this.ctx.store, range, range.keys !== false ? (k, v) => visit(k.subarray(skip), v) : visit));
  }

  /**
   * Writes the entries forEach() would visit to `out` as RESP bulk strings (each sub-key with
   * `subs`, then each value with `values`), encoded by the addon: for replies that list a range
   * as it is stored. Null when this store has no such reads (no addon): use forEach().
   */
  writeRange(o: RangeOptions, out: RawSink): MaybePromise<number> | null {
    if (!respScans(this.ctx.store)) return null;
    if ((o.limit ?? Infinity) <= 0) return 0;
    const range = this.rangeOf(o);
    return this.synced(() => scanResp(this.ctx.store, range, this.prefix.length, out));
  }

  /** The LevelDB range of this version's entries that `o` bounds. */
  private rangeOf(o: RangeOptions): RangeScan {
    const prefix = this.prefix;
    const at = (sub: Buffer): Buffer => Buffer.concat([prefix, sub]);
    const end = o.before !== undefined ? at(o.before) : prefixEnd(prefix);
    const bounds: Bounds = {
      gt: o.after !== undefined ? at(o.after) : undefined,
      gte: o.after !== undefined ? undefined : o.from !== undefined ? at(o.from) : prefix,
      lt: end ?? undefined,
    };
    return scanRange(bounds, o.reverse === true, o.values !== false, o.skip ?? 0, o.limit ?? Infinity, o.subs !== false);
  }

  /** Reads up to `limit` entries (bounded by `o`) into arrays. */
  read(o: RangeOptions): MaybePromise<{ subs: Buffer[]; values: Buffer[] }> {
    const subs: Buffer[] = [];
    const values: Buffer[] = [];
    return andThen(this.forEach(o, (s, v) => {
      subs.push(s);
      values.push(v);
    }), () => ({ subs, values }));
  }

  /**
   * Visits the entries at the given positions (0-based ranks in sub-key order), in one pass that
   * stops after the last one. `positions` must be sorted ascending; repeats are visited repeatedly.
   */
  atPositions(positions: ArrayLike<number>, visit: (i: number, sub: Buffer, value: Buffer) => void, values = true): MaybePromise<void> {
    if (positions.length === 0) return;
    let next = 0;
    const first = positions[0]!;
    let rank = first;
    const last = positions[positions.length - 1]!;
    // Entries before the first position are stepped over inside LevelDB, not read out.
    return andThen(this.forEach({ skip: first, limit: last - first + 1, values }, (sub, value) => {
      while (next < positions.length && positions[next] === rank) visit(next++, sub, value);
      rank++;
      return next < positions.length;
    }), () => {
      if (next < positions.length) throw new Error(`collection size ${this.size} disagrees with its entries (${rank} read)`);
    });
  }
}

// ---------------------------------------------------------------- random picks (HRANDFIELD, SRANDMEMBER, ZRANDMEMBER)

/** A uniform random integer in [0, n). */
export function randomBelow(n: number): number {
  return Math.floor(Math.random() * n);
}

/** `count` distinct positions in [0, size) (count <= size), sorted ascending (Floyd's algorithm). */
export function distinctPositions(size: number, count: number): Float64Array {
  const picked = new Set<number>();
  for (let j = size - count; j < size; j++) {
    const t = randomBelow(j + 1);
    picked.add(picked.has(t) ? j : t);
  }
  return Float64Array.from(picked).sort();
}

/**
 * `count` positions in [0, size) drawn with replacement: `sorted` ascending for one pass over the
 * collection, and `order[i]` = the index into `sorted` of the i-th pick, so replies keep the
 * draw order (truly random, as Redis documents for negative counts).
 */
export function positionsWithReplacement(size: number, count: number): { sorted: Float64Array; order: Uint32Array } {
  const draws = new Float64Array(count);
  for (let i = 0; i < count; i++) draws[i] = randomBelow(size);
  const byPosition = new Uint32Array(count);
  for (let i = 0; i < count; i++) byPosition[i] = i;
  byPosition.sort((a, b) => draws[a]! - draws[b]!);
  const sorted = new Float64Array(count);
  const order = new Uint32Array(count);
  for (let r = 0; r < count; r++) {
    sorted[r] = draws[byPosition[r]!]!;
    order[byPosition[r]!] = r;
  }
  return { sorted, order };
}

/** Fisher-Yates shuffle in place. */
export function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randomBelow(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

// ---------------------------------------------------------------- SCAN cursors over a collection

/**
 * Cursors of HSCAN/SSCAN/ZSCAN. A collection is iterated in sub-key order, so the position of an
 * iteration is the last sub-key it returned; a cursor is an opaque number naming that sub-key in
 * a per-shard table (every call for a key reaches the same shard). The number carries a random
 * per-process epoch, so a cursor from before a restart, or any number this table never issued,
 * is simply unknown.
 *
 * An unknown cursor (never issued, evicted from the bounded table, or from before a restart)
 * restarts the iteration from the beginning. That keeps SCAN's guarantee that every element
 * present for the whole iteration is returned (elements may be returned more than once); only
 * termination is lost if a client's cursors keep being evicted, which needs more than
 * MAX_CURSORS iterations in flight on one shard. A cursor is consumed when used: each call issues
 * a new one, so a retried call (same cursor twice) restarts rather than skipping anything.
 */
export class ScanCursors {
  private readonly table = new Map<bigint, Buffer>();
  private bytes = 0;
  private counter = 0;
  private readonly epoch: bigint;

  constructor(
    private readonly maxCursors = 65536,
    private readonly maxBytes = 32 * 1024 * 1024,
  ) {
    // Bits 32..62: random per table (process); bits 0..31: a counter. Never 0, never above 2^63.
    this.epoch = (BigInt(1 + randomBelow(0x7fffffff)) << 32n);
  }

  /** Issues a cursor that resumes after `last`. */
  issue(last: Buffer): bigint {
    this.counter = (this.counter + 1) >>> 0;
    const id = this.epoch | BigInt(this.counter);
    const copy = Buffer.from(last); // `last` may be a view into a larger buffer
    this.table.set(id, copy);
    this.bytes += copy.length;
    for (const [old, sub] of this.table) {
      if (this.table.size <= this.maxCursors && this.bytes <= this.maxBytes) break;
      if (old === id) break;
      this.table.delete(old);
      this.bytes -= sub.length;
    }
    return id;
  }

  /** The position a cursor names (and forgets it): null to start from the beginning. */
  take(cursor: bigint): Buffer | null {
    if (cursor === 0n) return null;
    const last = this.table.get(cursor);
    if (last === undefined) return null;
    this.table.delete(cursor);
    this.bytes -= last.length;
    return last;
  }

  get size(): number {
    return this.table.size;
  }
}

/** This shard's cursor table (module state: one per worker thread, i.e. per shard). */
export const scanCursors = new ScanCursors();

/**
 * Redis' parseScanCursorOrReply (7.0): strtoul() over the whole argument, so an optional sign
 * (a negative value wraps around 2^64), decimal digits, nothing else; a leading space, a value
 * past 2^64-1, or no digits at all is an invalid cursor. The empty argument is cursor 0 (strtoul
 * converts nothing and ends on the terminator), and the C string ends at an embedded NUL.
 */
export function parseScanCursor(arg: Buffer): bigint {
  const nul = arg.indexOf(0);
  const s = (nul >= 0 ? arg.subarray(0, nul) : arg).toString('latin1');
  if (s.length === 0) return 0n;
  const m = /^([+-]?)([0-9]+)$/.exec(s);
  if (m === null) throw new CommandError(SCAN_INVALID_CURSOR);
  const v = BigInt(m[2]!);
  if (v > U64_MAX) throw new CommandError(SCAN_INVALID_CURSOR);
  return m[1] === '-' ? BigInt.asUintN(64, -v) : v;
}

export const SCAN_INVALID_CURSOR = 'ERR invalid cursor';
const U64_MAX = (1n << 64n) - 1n;

export interface ScanOptions {
  /** Entries to examine per call (Redis' COUNT, default 10). */
  count: number;
  /** MATCH pattern, or null for none ("*" is none, as in Redis). */
  pattern: Buffer | null;
}

/**
 * The options of HSCAN/SSCAN/ZSCAN from args[from]: COUNT n (an integer >= 1) and MATCH pattern,
 * each any number of times (the last wins). TYPE and anything else is a syntax error.
 */
export function parseScanOptions(args: Buffer[], from: number): ScanOptions {
  const o: ScanOptions = { count: 10, pattern: null };
  for (let i = from; i < args.length; i += 2) {
    const opt = lower(args[i]!);
    const hasValue = i + 1 < args.length;
    if (opt === 'count' && hasValue) {
      o.count = intArg(args[i + 1]!);
      if (o.count < 1) throw new CommandError(E.SYNTAX);
    } else if (opt === 'match' && hasValue) {
      const p = args[i + 1]!;
      o.pattern = p.length === 1 && p[0] === 0x2a ? null : p;
    } else {
      throw new CommandError(E.SYNTAX);
    }
  }
  return o;
}

/**
 * Collections up to this size are returned whole by one SCAN call with cursor 0, whatever the
 * cursor and COUNT, as Redis does for its compact encodings (128 = hash-max-listpack-entries).
 */
export const SCAN_WHOLE_MAX = 128;

/**
 * One SCAN page over `coll`: examines up to `count` entries after the cursor's position (all of
 * a small collection), keeps those whose sub-key matches the pattern, and returns them with the
 * next cursor (0 when the collection is exhausted).
 */
export function scanPage(coll: Collection, cursor: bigint, o: ScanOptions): MaybePromise<{ cursor: bigint; subs: Buffer[]; values: Buffer[] }> {
  const after = scanCursors.take(cursor);
  const subs: Buffer[] = [];
  const values: Buffer[] = [];
  const keep = (sub: Buffer, value: Buffer): void => {
    if (o.pattern !== null && !stringMatch(o.pattern, sub, false)) return;
    subs.push(sub);
    values.push(value);
  };
  if (coll.size <= SCAN_WHOLE_MAX) return andThen(coll.forEach({}, keep), () => ({ cursor: 0n, subs, values }));
  // One entry past the page tells whether anything follows it.
  let examined = 0;
  let last = after;
  const read = coll.forEach({ ...(after === null ? {} : { after }), limit: o.count + 1 }, (sub, value) => {
    if (examined === o.count) return false;
    examined++;
    last = sub;
    keep(sub, value);
  });
  return andThen(read, (n) => ({ cursor: n > o.count ? scanCursors.issue(last!) : 0n, subs, values }));
}
