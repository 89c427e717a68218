/**
 * Lists on a shard's LevelDB, over the collection layer (collection.ts) and the format of
 * encoding.ts:
 *
 *   Sub-key  index(8, sortable i64) -> element
 *   Meta     ... | version | size | head(8, sortable i64) | tail(8, sortable i64)
 *
 * A list is DENSE: its elements sit at the indexes head .. tail-1 (tail is exclusive) and
 * size == tail - head always. Position p (0-based from the left) is index head + p, so:
 *  - push/pop at either end move head or tail by one: O(1) per element;
 *  - LINDEX/LSET are one point read/write: O(1);
 *  - a range is one bounded iterator over [head+from, head+to) (the sortable encoding makes
 *    LevelDB's byte order the list order);
 *  - trimming moves head/tail and deletes the trimmed entries: O(trimmed);
 *  - an insertion or removal in the middle renumbers the SHORTER side (the elements between
 *    the change and the nearer end move by one, or by the number of removed elements), so it
 *    costs O(min(P, N-P)) writes for an insertion at position P, plus the scan that found it.
 * A new list starts at head = tail = 0; pushes to the left go to negative indexes.
 *
 * A range is one range read of its indexes (collection.forEach: synchronous with the native
 * addon); a short range while writes are pending (or without the addon) is point reads through
 * the pending-write overlay instead, which needs no sync() of the shard's group commit.
 * Every change that rewrites entries does all its reads before its first write, so its writes
 * go out in one batch with nothing awaited in between.
 */
import { Type, writeSortableI64 } from './encoding.js';
import { Collection, type CollectionContext } from './collection.js';
import { andThen, nativeScans, type MaybePromise, type RawSink } from './scan.js';

export type End = 'left' | 'right';

/** Ranges up to this many positions may be read by point reads rather than a range read. */
export const POINT_READS_MAX = 128;

/** The sub-key of list index `i`: 8 bytes, big-endian with the sign bit flipped. */
export function indexSub(i: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeSortableI64(b, i, 0);
  return b;
}

/** Called with each element's position and value; return false to stop. */
export type PositionVisitor = (pos: number, value: Buffer) => boolean | void;

export class List {
  private constructor(private readonly coll: Collection) {
    const m = coll.meta;
    if (m.head === undefined || m.tail === undefined) {
      // A new collection version: the list starts empty at index 0.
      m.head = 0n;
      m.tail = 0n;
    }
    if (m.tail! - m.head! !== BigInt(m.size!)) {
      throw new Error(`list size ${m.size} disagrees with its head ${m.head} and tail ${m.tail}`);
    }
  }

  /**
   * The live list at `key`, or null when it is missing (or expired); WRONGTYPE for another type.
   * `read` marks a read command (counts a keyspace hit or miss).
   */
  static find(ctx: CollectionContext, key: Buffer, read: boolean): List | null {
    const c = Collection.find(ctx, key, Type.LIST, read);
    return c === null ? null : new List(c);
  }

  /** find() for a write that creates the list when missing (stored by save() only if non-empty). */
  static findOrCreate(ctx: CollectionContext, key: Buffer): List {
    return new List(Collection.findOrCreate(ctx, key, Type.LIST));
  }

  get length(): number {
    return this.coll.size;
  }

  private get head(): bigint {
    return this.coll.meta.head!;
  }

  private get tail(): bigint {
    return this.coll.meta.tail!;
  }

  private moveBounds(head: bigint, tail: bigint): void {
    this.coll.meta.head = head;
    this.coll.meta.tail = tail;
    this.coll.markChanged();
  }

  private sub(pos: number): Buffer {
    return indexSub(this.head + BigInt(pos));
  }

  /** Writes the meta record once the command's changes are done (deletes the key when empty). */
  save(): void {
    this.coll.save();
  }

  // ------------------------------------------------------------ point access (sync)

  /** The element at position `pos` (0 <= pos < length). */
  get(pos: number): Buffer {
    const v = this.coll.get(this.sub(pos));
    if (v === undefined) throw new Error(`list entry ${pos} of ${this.length} is missing`);
    return v;
  }

  /** Replaces the element at position `pos` (0 <= pos < length). */
  set(pos: number, value: Buffer): void {
    this.coll.put(this.sub(pos), value, true);
  }

  push(end: End, value: Buffer): void {
    if (end === 'left') {
      const head = this.head - 1n;
      this.coll.put(indexSub(head), value, false);
      this.moveBounds(head, this.tail);
    } else {
      this.coll.put(indexSub(this.tail), value, false);
      this.moveBounds(this.head, this.tail + 1n);
    }
  }

  /** Removes and returns `count` (<= length) elements from one end, nearest first. */
  pop(end: End, count: number): Buffer[] {
    const out: Buffer[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const index = end === 'left' ? this.head : this.tail - 1n;
      const sub = indexSub(index);
      const v = this.coll.get(sub);
      if (v === undefined) throw new Error(`list entry at index ${index} is missing`);
      this.coll.remove(sub);
      out[i] = v;
      if (end === 'left') this.moveBounds(index + 1n, this.tail);
      else this.moveBounds(this.head, index);
    }
    return out;
  }

  /** Keeps positions [from, to) (0 <= from <= to <= length) and deletes the rest: O(removed). */
  trim(from: number, to: number): void {
    const n = this.length;
    for (let p = 0; p < from; p++) this.coll.remove(this.sub(p));
    for (let p = to; p < n; p++) this.coll.remove(this.sub(p));
    const head = this.head;
    this.moveBounds(head + BigInt(from), head + BigInt(to));
  }

  // ------------------------------------------------------------ scans

  /**
   * Visits positions [from, to) with their elements, left to right, or right to left with
   * `reverse`, until `visit` returns false; returns how many positions were visited.
   * One range read bounded to the indexes of [from, to): synchronous with the native addon and no
   * writes pending. A range of up to POINT_READS_MAX positions is point reads instead when writes
   * are pending (they see the overlay, so no sync() ends the shard's group commit early) or when
   * range reads would go through the libuv pool.
   */
  scan(from: number, to: number, reverse: boolean, visit: PositionVisitor): MaybePromise<number> {
    if (from >= to) return 0;
    if (this.pointReads(from, to)) return this.scanPoints(from, to, reverse, visit);
    let pos = reverse ? to - 1 : from;
    const step = reverse ? -1 : 1;
    let stopped = false;
    const read = this.coll.forEach({ from: this.sub(from), before: this.sub(to), reverse, subs: false }, (_sub, value) => {
      const p = pos;
      pos += step;
      if (visit(p, value) === false) {
        stopped = true;
        return false;
      }
    });
    return andThen(read, (n) => (stopped ? n : checkedCount(from, to, n)));
  }

  /**
   * Writes the elements at positions [from, to), left to right, to `out` as RESP bulk strings
   * (LRANGE's reply body), encoded by the addon in one range read. Null where scan() would take
   * point reads (a short range with writes pending) or there is no addon: use scan().
   */
  writeRange(from: number, to: number, out: RawSink): MaybePromise<number> | null {
    if (from >= to) return 0;
    if (this.pointReads(from, to)) return null;
    const read = this.coll.writeRange({ from: this.sub(from), before: this.sub(to), subs: false }, out);
    return read === null ? null : andThen(read, (n) => checkedCount(from, to, n));
  }

  /** Whether scan() reads positions [from, to) with point reads rather than one range read. */
  private pointReads(from: number, to: number): boolean {
    const { store } = this.coll.ctx;
    return to - from <= POINT_READS_MAX && (store.hasPending || !nativeScans(store));
  }

  private scanPoints(from: number, to: number, reverse: boolean, visit: PositionVisitor): number {
    for (let i = 0; i < to - from; i++) {
      const p = reverse ? to - 1 - i : from + i;
      if (visit(p, this.get(p)) === false) return i + 1;
    }
    return to - from;
  }

  /**
   * Elements at positions [from, to) in list order, as copies: they are written back (renumbered),
   * and a range read's values are views of its whole chunk, which the row cache must not pin.
   */
  readRange(from: number, to: number): MaybePromise<Buffer[]> {
    const out: Buffer[] = [];
    return andThen(this.scan(from, to, false, (_p, v) => {
      out.push(Buffer.from(v));
    }), () => out);
  }

  // ------------------------------------------------------------ middle changes (read, then write)

  /**
   * Inserts `value` so that it ends at position `pos` (0 <= pos <= length), moving the shorter
   * side out by one index: O(min(pos, length - pos)) reads and writes.
   */
  async insert(pos: number, value: Buffer): Promise<void> {
    const n = this.length;
    const head = this.head;
    if (pos <= n - pos) {
      // Positions [0, pos) move one index left; the new element takes the last freed index.
      const moved = await this.readRange(0, pos);
      for (let i = 0; i < pos; i++) this.coll.put(indexSub(head - 1n + BigInt(i)), moved[i]!, i > 0);
      this.coll.put(indexSub(head - 1n + BigInt(pos)), value, pos > 0);
      this.moveBounds(head - 1n, this.tail);
    } else {
      // Positions [pos, n) move one index right.
      const moved = await this.readRange(pos, n);
      for (let i = pos; i < n; i++) this.coll.put(indexSub(head + BigInt(i) + 1n), moved[i - pos]!, i + 1 < n);
      this.coll.put(indexSub(head + BigInt(pos)), value, pos < n);
      this.moveBounds(head, this.tail + 1n);
    }
  }

  /**
   * Removes the elements at `positions` (ascending, distinct, non-empty), closing the gaps from
   * the cheaper side: either the elements after the first removed one move left (the head
   * stays), or those before the last removed one move right (the tail stays).
   * O(min(N - first, last)) reads and writes.
   */
  async removeAt(positions: readonly number[]): Promise<void> {
    const n = this.length;
    const k = positions.length;
    const first = positions[0]!;
    const last = positions[k - 1]!;
    const head = this.head;
    if (k === n) {
      for (let p = 0; p < n; p++) this.coll.remove(this.sub(p));
      this.moveBounds(head, head);
      return;
    }
    if (n - 1 - first <= last) {
      // Survivors after `first` move left by the number of removed positions before them.
      const moved = await this.readRange(first + 1, n);
      let removedBefore = 1;
      let next = 1; // index into positions of the next removed position
      for (let p = first + 1; p < n; p++) {
        if (next < k && positions[next] === p) {
          next++;
          removedBefore++;
          continue;
        }
        this.coll.put(indexSub(head + BigInt(p - removedBefore)), moved[p - first - 1]!, true);
      }
      for (let p = n - k; p < n; p++) this.coll.remove(this.sub(p));
      this.moveBounds(head, this.tail - BigInt(k));
    } else {
      // Survivors before `last` move right by the number of removed positions after them.
      const moved = await this.readRange(0, last);
      let removedAfter = 1;
      let next = k - 2;
      for (let p = last - 1; p >= 0; p--) {
        if (next >= 0 && positions[next] === p) {
          next--;
          removedAfter++;
          continue;
        }
        this.coll.put(indexSub(head + BigInt(p + removedAfter)), moved[p]!, true);
      }
      for (let p = 0; p < k; p++) this.coll.remove(this.sub(p));
      this.moveBounds(head + BigInt(k), this.tail);
    }
  }
}

/** `n`, the entries a range read of positions [from, to) found, when it is all of them; else throws (a corrupt list). */
function checkedCount(from: number, to: number, n: number): number {
  if (n !== to - from) throw new Error(`list range [${from}, ${to}) has ${n} entries`);
  return n;
}
