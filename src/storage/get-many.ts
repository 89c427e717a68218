/**
 * Many point reads in one native call, overlapped when they reach the disk (native/sync_get.cc over
 * the patched LevelDB's get-many, native/leveldb-get-many.inc).
 *
 * A shard runs its commands one after the other, and each command's point read that misses every
 * cache waits for the disk (~0.2 ms on this machine's virtual disk, which serves several reads in
 * flight 2-3x faster than one at a time). Before running a frame of commands the shard collects
 * the records they will look up first (their keys' meta records) and reads the ones no cache holds
 * here, together; the commands then find them in the row cache. Reads of data in memory take a
 * microsecond or two, less than waking a helper thread, so the native side reads on the calling
 * thread until one read is slow and only then hands the rest to its pool; after a call that saw
 * slow reads the next one hands them over at once.
 *
 * Unavailable (null reader) without the addon or with classic-level's prebuild (no get-many).
 */
import { addon, classicLevelBinary, contextOf } from './native-addon.js';
import type { Db } from './store.js';
import { writeMetaKey } from './encoding.js';

/** A read slower than this went to the disk (page cache and LevelDB's caches answer in a few µs). */
const SLOW_MICROS = 50;
/**
 * While reads stay in memory the shard only samples: one frame in SAMPLE_EVERY is read ahead, to
 * notice when reads start reaching the disk (collecting and looking up a frame's keys costs a
 * shard that finds everything cached ~9% of its time under unpipelined GETs, perf). After a call
 * with a slow read every frame is read ahead, until QUIET_CALLS calls in a row had none.
 */
const SAMPLE_EVERY = 32;
const QUIET_CALLS = 16;
/** Keys per call at most (a frame of thousands of commands is read in several calls). */
export const MAX_KEYS = 256;
const HEADER = 8;

let bound: boolean | undefined;

/** Whether the patched LevelDB's get-many is there (bound once per thread). */
function available(): boolean {
  if (bound === undefined) {
    const binary = classicLevelBinary();
    bound = addon?.bindGetMany !== undefined && addon.getManySync !== undefined && binary !== null && addon.bindGetMany(binary);
  }
  return bound;
}

export interface ReadStats {
  /** Native calls, keys read through them, and reads that took longer than SLOW_MICROS. */
  calls: number;
  keys: number;
  slow: number;
}

/** Collects keys (written straight into one buffer), then reads them in one call. */
export class ManyReader {
  private buf = Buffer.allocUnsafeSlow(16 * 1024);
  private readonly ends = new Uint32Array(MAX_KEYS);
  private used = 0;
  /** Keys collected. */
  count = 0;
  private parallel = false;
  /** Calls in a row without a slow read (QUIET_CALLS or more: sampling). */
  private quiet = QUIET_CALLS;
  private tick = 0;
  /** A read slower than this counts as slow and sends the call's remaining reads to the pool. */
  slowMicros = SLOW_MICROS;
  readonly stats: ReadStats = { calls: 0, keys: 0, slow: 0 };

  /** always: read every frame ahead (leveldb-overlapped-reads always), not only while reads reach the disk. */
  private constructor(private readonly db: Db, private readonly always: boolean) {}

  static for(db: Db, always = false): ManyReader | null {
    return available() ? new ManyReader(db, always) : null;
  }

  /** Whether to read the next frame ahead: always while reads reach the disk, else a sample. */
  wanted(): boolean {
    return this.always || this.quiet < QUIET_CALLS || ++this.tick % SAMPLE_EVERY === 0;
  }

  /** A frame needed no read (everything cached): counts as a call without slow reads. */
  noteCached(): void {
    if (this.quiet < QUIET_CALLS) this.quiet++;
  }

  get full(): boolean {
    return this.count >= MAX_KEYS;
  }

  /**
   * Appends the meta key of (db, key) (encoding.ts) and returns a view of it (valid until reset or
   * the next add); drop() takes the last one back.
   */
  addMetaKey(db: number, key: Buffer): Buffer {
    const need = this.used + 2 + key.length;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    const at = this.used;
    writeMetaKey(this.buf, at, db, key);
    this.used = need;
    this.ends[this.count++] = need;
    return this.buf.subarray(at, need);
  }

  drop(): void {
    this.count--;
    this.used = this.count === 0 ? 0 : this.ends[this.count - 1]!;
  }

  reset(): void {
    this.count = 0;
    this.used = 0;
  }

  /**
   * Reads the collected keys and calls found(key, value) for each (value null: absent), in order;
   * keys whose read failed are skipped (the command's own read meets the error). Then resets.
   */
  read(found: (key: Buffer, value: Buffer | null) => void): void {
    const n = this.count;
    const out = addon!.getManySync!(contextOf(this.db), this.buf, this.ends, n, this.parallel, this.slowMicros);
    const slow = out.readUInt32LE(4);
    this.stats.calls++;
    this.stats.keys += n;
    this.stats.slow += slow;
    this.parallel = slow > 0;
    this.quiet = slow > 0 ? 0 : Math.min(this.quiet + 1, QUIET_CALLS);
    let at = HEADER + 4 * n;
    let start = 0;
    for (let i = 0; i < n; i++) {
      const len = out.readInt32LE(HEADER + 4 * i);
      const key = this.buf.subarray(start, this.ends[i]);
      start = this.ends[i]!;
      if (len === -2) continue;
      if (len < 0) {
        found(key, null);
        continue;
      }
      found(key, out.subarray(at, at + len));
      at += len;
    }
    this.reset();
  }
}
