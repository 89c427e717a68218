/**
 * A bounded, write-through cache of LevelDB records in the shard (RocksDB's "row cache").
 *
 * Why: a LevelDB point read through classic-level's getSync costs about 2 us for a hit and
 * 0.6 us for a miss on this machine (memtable and table lookups, a native call, a copy); SET
 * reads the old record too (for exact counts and the expiry index). A JS Map hit costs a tenth
 * of that. bench/ measures it.
 *
 * The shard is the only writer of its LevelDB and every write goes through Store.put/del, which
 * update this cache, so an entry is always the latest value (or `null`: known absent). Memory is
 * bounded by `row-cache-size` (bytes, per shard). Eviction is CLOCK (second chance): a hit only
 * sets a flag, and entries are reordered only when the cache is full. Moving an entry to the end
 * of the Map on every hit cost a quarter of a shard's time under redis-benchmark (bench/).
 */

/**
 * Per-entry bytes beyond key and value: Map slot, entry object, key string header, the value's
 * Buffer and ArrayBuffer objects. Measured with 200,000 entries (heap delta after GC): about 300
 * bytes. An estimate of 96 let the cache grow to about three times its configured size.
 */
export const ENTRY_OVERHEAD = 300;

interface Entry {
  v: Buffer | null;
  /** Used since the clock hand last passed. */
  ref: boolean;
}

export class RowCache {
  private readonly map = new Map<string, Entry>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(private readonly limit: number) {}

  get enabled(): boolean {
    return this.limit > 0;
  }

  get size(): number {
    return this.map.size;
  }

  get usedBytes(): number {
    return this.bytes;
  }

  /** The cached record, null when known absent, undefined when not cached. */
  get(k: string): Buffer | null | undefined {
    const e = this.map.get(k);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (!e.ref) e.ref = true; // no store (and no dirtied cache line) when already set
    return e.v;
  }

  set(k: string, v: Buffer | null): void {
    if (!this.enabled) return; // also for a missing limit: off, never unbounded
    // Never let a small view keep a large backing buffer (a frame, a pooled slab) alive.
    // (Buffer.from would copy into a pooled 8 KiB slab, which is the same problem.)
    if (v !== null && v.buffer.byteLength > v.length + 64) {
      const own = Buffer.allocUnsafeSlow(v.length);
      v.copy(own);
      v = own;
    }
    const e = this.map.get(k);
    if (e !== undefined) {
      this.bytes += cost(k, v) - cost(k, e.v);
      e.v = v;
      e.ref = true;
    } else {
      this.map.set(k, { v, ref: false });
      this.bytes += cost(k, v);
    }
    if (this.bytes > this.limit) this.evict();
  }

  /** The clock hand sweeps from the oldest entry: used ones get a second chance at the end. */
  private evict(): void {
    const target = this.limit * 0.9;
    for (const [k, e] of this.map) {
      this.map.delete(k);
      if (e.ref) {
        e.ref = false;
        this.map.set(k, e);
        continue;
      }
      this.bytes -= cost(k, e.v);
      if (this.bytes <= target) return;
    }
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}

function cost(k: string, v: Buffer | null): number {
  return k.length + (v === null ? 0 : v.length) + ENTRY_OVERHEAD;
}
