/**
 * A bounded, write-through cache of LevelDB records in the shard (RocksDB's "row cache"), keyed
 * by the record's key bytes, held in one fixed ring buffer outside the JS heap.
 *
 * Why: a LevelDB point read through classic-level's getSync costs about 2 us for a hit and
 * 0.6 us for a miss on this machine; SET reads the old record too (exact counts, expiry index).
 * The first version of this cache was a JS Map keyed by latin1 strings: a lookup cost ~340 ns plus
 * ~250 ns to build the key string, every entry was three heap objects (about 300 bytes beyond key
 * and value, so the V8 heap held about twice the configured size), and the garbage of evicted
 * entries kept the collector busy. Here a lookup hashes the key bytes (FNV-1a), probes an
 * open-addressing index (Int32Array) and compares bytes in place; an entry is a 16-byte header and
 * its key and value bytes in the ring. The memory is allocated once: `row-cache-size` bytes per
 * shard, index included, whatever the entries look like.
 *
 * Write-through: the shard is the only writer of its LevelDB and every write goes through
 * Store.put/del, which set the entry here, so an entry is always the latest value (or `null`:
 * known absent). Such an entry is *pinned* with the number of the group-commit batch that will
 * write it: until that batch is in LevelDB (unpin), the entry is the only place a reader finds the
 * value (the store keeps a Map overlay only for writes the ring refused), so it is never evicted.
 *
 * Eviction is FIFO over the ring: a new entry is appended at the head; when the ring is full the
 * oldest entries at the tail go (skipping dead ones). A live pinned entry at the tail stops
 * eviction: the set() is refused and the store keeps that write in its overlay instead.
 *
 * The ring, its index and a small control block live in SharedArrayBuffers, so the front thread
 * can answer GET of a cached string itself (SharedRowReader, pika-style reads on the network
 * thread) without a hop to the shard. The shard stays the only writer: every change of the ring
 * or the index is bracketed by a sequence number (odd while changing, a seqlock), the reader
 * checks it before and after, and it only uses entries whose batch is written (not pinned).
 */

import { copyBytes } from '../util/bytes.js';

/** Bytes of an entry header: hash, key length + flags, value length (-1 = known absent), pin. */
const HEADER = 16;
/** A header whose key-length field says "the rest of the ring is unused, continue at 0". */
const WRAP = 0xffff;
/** Largest key stored (longer keys are not cached; LevelDB keys of Cairn are prefix + user key). */
const MAX_KEY = 0xfff0;
/** Flag in the key-length field of an entry that was replaced: eviction skips it without an index probe. */
const DEAD = 0x10000;
const EMPTY = Buffer.alloc(0);
/** Control block (Int32Array on a SharedArrayBuffer): the seqlock, the written batch, then the database ids. */
const SEQ = 0;
const WRITTEN = 1;
const IDS = 2;

/** What the front thread needs to read a shard's cache (RowCache.shared, posted at start-up). */
export interface SharedRows {
  data: SharedArrayBuffer;
  index: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
}

/** The ring and index layout and the lookup shared by the cache (shard) and its reader (front). */
abstract class RingView {
  /** The ring: entries of HEADER bytes then key and value, each padded to 4 bytes. */
  protected readonly data: Buffer;
  protected readonly i32: Int32Array;
  protected readonly cap: number;
  /** Open-addressing index, linear probing: entry offset + 1, 0 = empty slot. */
  protected readonly index: Int32Array;
  protected readonly mask: number;
  /** SEQ, WRITTEN, IDS... (see above); empty when the cache is off. */
  protected readonly ctrl: Int32Array;

  protected constructor(data: Buffer, index: Int32Array, ctrl: Int32Array) {
    this.data = data;
    this.cap = data.length;
    this.i32 = new Int32Array(data.buffer, data.byteOffset, this.cap >> 2);
    this.index = index;
    this.mask = index.length - 1;
    this.ctrl = ctrl;
  }

  /**
   * The index slot of `k` (hash `h`), or -1. Bounded by the index size: a reader racing the
   * writer may see a half-updated index (its answer is then discarded by the seqlock check).
   */
  protected find(k: Buffer, h: number): number {
    const klen = k.length;
    for (let s = h & this.mask, n = 0; n <= this.mask; s = (s + 1) & this.mask, n++) {
      const e = this.index[s]!;
      if (e === 0) return -1;
      const w = (e - 1) >> 2;
      if (this.i32[w] === h && this.i32[w + 1] === klen && this.keyEquals(e - 1 + HEADER, k)) return s;
    }
    return -1;
  }

  private keyEquals(at: number, k: Buffer): boolean {
    const d = this.data;
    if (at + k.length > d.length) return false;
    for (let i = 0; i < k.length; i++) if (d[at + i] !== k[i]) return false;
    return true;
  }

  /**
   * Batch numbers are int32 counters that wrap (skipping 0, which means "not pinned"): compared
   * by their difference, valid while fewer than 2^31 batches separate them.
   */
  protected pinnedBy(pin: number, written: number): boolean {
    return pin !== 0 && ((pin - written) | 0) > 0;
  }
}

export class RowCache extends RingView {
  private readonly maxEntries: number;
  private readonly maxEntryBytes: number;
  /** Next entry goes here; the oldest entry starts at tail. */
  private head = 0;
  private tail = 0;
  /** The head has wrapped behind the tail (the ring's occupied bytes are [tail, cap) + [0, head)). */
  private wrapped = false;
  private entries = 0;
  /** Batches up to this number are in LevelDB: entries pinned by them may be evicted. */
  private written = 0;
  hits = 0;
  misses = 0;
  /** The pin of the entry the last set() replaced (0: none, or not pinned). */
  replacedPin = 0;

  /**
   * `limit` bytes in all (index included); `databases`: how many database ids the control block
   * publishes to the front thread (publishIds).
   */
  constructor(limit: number, databases = 0) {
    const bytes = Math.max(0, Math.floor(limit || 0));
    if (bytes < 4096) {
      // Off (also for a missing limit: never unbounded). Writes all go to the store's overlay.
      super(EMPTY, new Int32Array(1), new Int32Array(IDS));
      this.maxEntries = 0;
      this.maxEntryBytes = 0;
      return;
    }
    // About a fifth of the budget for the index: 4-byte slots at most 3/4 full, for entries of
    // 40 bytes or more on average (smaller ones are evicted early by the entry count instead).
    let slots = 1024;
    while (slots * 4 * 2 <= bytes / 5) slots *= 2;
    const cap = (bytes - slots * 4) & ~3;
    super(Buffer.from(new SharedArrayBuffer(cap)), new Int32Array(new SharedArrayBuffer(slots * 4)),
      new Int32Array(new SharedArrayBuffer(4 * (IDS + databases))));
    this.maxEntries = Math.floor(slots * 0.75);
    this.maxEntryBytes = Math.floor(this.cap / 16);
  }

  /** The shared memory a SharedRowReader on another thread reads (null when the cache is off). */
  shared(): SharedRows | null {
    if (this.cap === 0) return null;
    return { data: this.data.buffer as SharedArrayBuffer, index: this.index.buffer as SharedArrayBuffer, ctrl: this.ctrl.buffer as SharedArrayBuffer };
  }

  /** Publishes the store's database ids (database number -> id) to the reader. */
  publishIds(ids: readonly number[]): void {
    if (this.cap === 0) return;
    this.begin();
    for (let n = 0; n < ids.length && IDS + n < this.ctrl.length; n++) this.ctrl[IDS + n] = ids[n]!;
    this.end();
  }

  /** Makes every database id unknown to the reader (-1) until the next publishIds. */
  hideIds(): void {
    if (this.cap === 0) return;
    this.begin();
    this.ctrl.fill(-1, IDS);
    this.end();
  }

  /** Seqlock: odd while the ring, index or ids change. */
  private begin(): void {
    Atomics.add(this.ctrl, SEQ, 1);
  }

  private end(): void {
    Atomics.add(this.ctrl, SEQ, 1);
  }

  get enabled(): boolean {
    return this.cap > 0;
  }

  /** Entries cached. */
  get size(): number {
    return this.entries;
  }

  /** Memory the cache holds (allocated once). */
  get usedBytes(): number {
    return this.cap + (this.cap > 0 ? this.index.byteLength : 0);
  }

  /** Whether `k` is cached (its record, or that it is absent); not counted as a hit or miss. */
  has(k: Buffer): boolean {
    return this.cap > 0 && this.find(k, hashOf(k)) >= 0;
  }

  /** The cached record (a copy), null when known absent, undefined when not cached. */
  get(k: Buffer): Buffer | null | undefined {
    if (this.cap === 0) return undefined;
    const slot = this.find(k, hashOf(k));
    if (slot < 0) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    const off = this.index[slot]! - 1;
    const vlen = this.i32[(off >> 2) + 2]!;
    let out: Buffer | null;
    if (vlen < 0) out = null;
    else if (vlen === 0) out = EMPTY;
    else {
      out = Buffer.allocUnsafe(vlen);
      copyBytes(this.data, off + HEADER + pad(k.length), out, 0, vlen);
    }
    // Second chance: an entry used while in the oldest quarter of the ring moves to the head, so
    // hot records are not evicted just because the ring came round. Only written ones: a pinned
    // entry must never be dropped by a move that finds no room.
    const age = off < this.head ? this.head - off : this.head + this.cap - off;
    if (age > this.cap - (this.cap >> 2) && !this.pinned(this.i32[(off >> 2) + 3]!)) this.set(k, out);
    return out;
  }

  /**
   * Caches `v` (null = known absent) for `k`, pinned until batch `pin` is unpinned (0 = not
   * pinned). False when refused (off, too large, or the ring is full of pinned entries); then any
   * older entry of `k` is gone too, so the cache never answers with a stale value.
   */
  set(k: Buffer, v: Buffer | null, pin = 0): boolean {
    if (this.cap === 0) return false;
    this.begin();
    const ok = this.setLocked(k, v, pin);
    this.end();
    return ok;
  }

  private setLocked(k: Buffer, v: Buffer | null, pin: number): boolean {
    const h = hashOf(k);
    const old = this.find(k, h);
    this.replacedPin = 0;
    if (old >= 0) {
      const ow = (this.index[old]! - 1) >> 2;
      this.replacedPin = this.i32[ow + 3]!;
      this.i32[ow + 1] = this.i32[ow + 1]! | DEAD;
      this.removeSlot(old);
    }
    const klen = k.length;
    const vlen = v === null ? 0 : v.length;
    const size = HEADER + pad(klen) + pad(vlen);
    if (klen > MAX_KEY || size > this.maxEntryBytes) return false;
    const off = this.allocate(size);
    if (off < 0) return false;
    const w = off >> 2;
    this.i32[w] = h;
    this.i32[w + 1] = klen;
    this.i32[w + 2] = v === null ? -1 : vlen;
    this.i32[w + 3] = pin;
    copyBytes(k, 0, this.data, off + HEADER, klen);
    if (vlen > 0) copyBytes(v!, 0, this.data, off + HEADER + pad(klen), vlen);
    this.insertSlot(h, off);
    return true;
  }

  /** Batches up to `gen` are written: their entries become ordinary (evictable) cache entries. */
  unpin(gen: number): void {
    if (((gen - this.written) | 0) > 0) {
      this.written = gen;
      Atomics.store(this.ctrl, WRITTEN, gen);
    }
  }

  private pinned(pin: number): boolean {
    return this.pinnedBy(pin, this.written);
  }

  /**
   * Drops every entry, pinned ones too. Used when a batch failed: the store discards its pending
   * writes with it (they may have been computed on the failed ones), and the cache must not run
   * ahead of LevelDB.
   */
  clear(): void {
    if (this.cap === 0) return;
    this.begin();
    this.index.fill(0);
    this.entries = 0;
    this.head = this.tail = 0;
    this.wrapped = false;
    this.end();
  }

  // ------------------------------------------------------------ ring

  /** Room for `size` bytes at the head, evicting from the tail; -1 if a pinned entry is in the way. */
  private allocate(size: number): number {
    if (this.entries === 0) {
      // Everything in the ring is dead: start over at the beginning.
      this.head = this.tail = 0;
      this.wrapped = false;
    }
    while (this.entries >= this.maxEntries) if (!this.evictTail()) return -1;
    for (;;) {
      if (!this.wrapped) {
        if (this.cap - this.head >= size) break;
        // Not enough room before the end: mark the rest unused and continue at the start.
        if (this.cap - this.head >= HEADER) this.i32[(this.head >> 2) + 1] = WRAP;
        this.head = 0;
        this.wrapped = true;
        continue;
      }
      if (this.tail - this.head >= size) break;
      if (!this.evictTail()) return -1;
    }
    const off = this.head;
    this.head += size;
    return off;
  }

  /** Removes the entry at the tail (if still live) and moves the tail past it. */
  private evictTail(): boolean {
    if (!this.wrapped && this.tail === this.head) return false; // empty
    if (this.cap - this.tail < HEADER || this.i32[(this.tail >> 2) + 1] === WRAP) {
      this.tail = 0;
      this.wrapped = false;
      return true;
    }
    const w = this.tail >> 2;
    const klenField = this.i32[w + 1]!;
    // A replaced entry is marked dead: only a live one is looked up in the index (overwrite-heavy
    // loads evict mostly dead entries; the probe was ~4.5% of a shard's time under INCR -P 16, perf).
    const slot = klenField & DEAD ? -1 : this.slotOf(this.i32[w]!, this.tail);
    if (slot >= 0) {
      if (this.pinned(this.i32[w + 3]!)) return false; // its batch is not written yet
      this.removeSlot(slot);
    }
    const klen = klenField & 0xffff;
    const vlen = this.i32[w + 2]!;
    this.tail += HEADER + pad(klen) + pad(vlen < 0 ? 0 : vlen);
    if (this.tail === this.head && !this.wrapped) this.head = this.tail = 0;
    return true;
  }

  // ------------------------------------------------------------ index

  /** The slot that points at the entry at `off`, or -1 (a dead entry). */
  private slotOf(h: number, off: number): number {
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const e = this.index[s]!;
      if (e === 0) return -1;
      if (e === off + 1) return s;
    }
  }

  private insertSlot(h: number, off: number): void {
    let s = h & this.mask;
    while (this.index[s] !== 0) s = (s + 1) & this.mask;
    this.index[s] = off + 1;
    this.entries++;
  }

  /** Linear-probing deletion without tombstones: later members of the chain shift back. */
  private removeSlot(slot: number): void {
    const idx = this.index;
    const mask = this.mask;
    let i = slot;
    idx[i] = 0;
    this.entries--;
    for (let j = (i + 1) & mask; idx[j] !== 0; j = (j + 1) & mask) {
      const home = this.i32[(idx[j]! - 1) >> 2]! & mask;
      // The entry at j may move to i unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        idx[i] = idx[j]!;
        idx[j] = 0;
        i = j;
      }
    }
  }
}

/**
 * The front thread's view of a shard's RowCache (its SharedArrayBuffers). Read-only and lock-free:
 * a caller takes the sequence number (begin), locates a record and uses its bytes, then checks
 * that the sequence number has not moved (valid); otherwise what it read may be torn and must be
 * thrown away. Only records whose batch is written are located, so nothing the front reads can
 * be lost by a crash before its writer was answered.
 */
export class SharedRowReader extends RingView {
  /** Length of the record located last. */
  length = 0;

  constructor(s: SharedRows) {
    super(Buffer.from(s.data), new Int32Array(s.index), new Int32Array(s.ctrl));
  }

  /** The ring's bytes (records located by locate() start at its offsets). */
  get bytes(): Buffer {
    return this.data;
  }

  /** The sequence number to check with valid(), or -1 while the shard is changing the cache. */
  begin(): number {
    const seq = Atomics.load(this.ctrl, SEQ);
    return (seq & 1) === 0 ? seq : -1;
  }

  valid(seq: number): boolean {
    return Atomics.load(this.ctrl, SEQ) === seq;
  }

  /** The id of database `n` (inside a begin/valid window). */
  dbId(n: number): number {
    return IDS + n < this.ctrl.length ? this.ctrl[IDS + n]! : -1;
  }

  /**
   * Where the record of `k` starts in `bytes` (its length in `length`), ABSENT when it is known
   * not to exist, or UNKNOWN: not cached, or written by a batch not yet in LevelDB.
   */
  locate(k: Buffer): number {
    const slot = this.find(k, hashOf(k));
    if (slot < 0) return UNKNOWN;
    // A racing writer can leave anything here: every number is checked before use.
    const off = this.index[slot]! - 1;
    if (!(off >= 0 && off + HEADER <= this.cap)) return UNKNOWN;
    const w = off >> 2;
    if (this.pinnedBy(this.i32[w + 3]!, Atomics.load(this.ctrl, WRITTEN))) return UNKNOWN;
    const vlen = this.i32[w + 2]!;
    if (vlen === -1) return ABSENT;
    const at = off + HEADER + pad(k.length);
    if (!(vlen >= 0 && at + vlen <= this.cap)) return UNKNOWN;
    this.length = vlen;
    return at;
  }
}

/** SharedRowReader.locate: not usable (not cached, or pending). */
export const UNKNOWN = -1;
/** SharedRowReader.locate: cached as known absent. */
export const ABSENT = -2;

function pad(n: number): number {
  return (n + 3) & ~3;
}

/** FNV-1a over the key bytes. */
export function hashOf(k: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k[i]!, 0x01000193);
  return h | 0;
}
