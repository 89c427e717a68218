/**
 * Set algebra and member access for the set family (src/commands/set.ts).
 *
 * A set is a collection whose sub-keys are its members (member -> empty value), so every stored
 * set is a stream of distinct members in byte order. The algebra works on those streams:
 *
 *  - On a shard, over stored sets (setAlgebra): nothing is loaded whole.
 *      inter: iterate the smallest set and probe every other set with point reads (Redis' way);
 *      union: k-way merge of every set (a heap of cursors), each member emitted once;
 *      diff:  Redis' two algorithms, picked by Redis' own cost estimate: iterate the first set and
 *             probe the others (O(N*M)), or merge every set (O(total size)).
 *    Results come out distinct and in byte order.
 *  - On the front thread, over the sorted member lists that shards return when the keys of one
 *    command live on several shards (intersectSorted, unionSorted, diffSorted): linear merges.
 *
 * Random members (SPOP, SRANDMEMBER) are picked by uniformly random rank: memberAt() walks to the
 * rank from the nearer end of the set, so one pick reads at most half the set (N/4 on average) and
 * holds one member. Picks are exactly uniform, whatever the members look like. Seeking to random
 * byte strings would be O(log N), but its distribution follows the gaps between members in byte
 * space, which for typical names ("user:000123") puts almost all the weight on a handful of members.
 */
import { Collection, type CollectionContext } from '../storage/collection.js';
import { Type, prefixEnd } from '../storage/encoding.js';
import { readChunk, rangeAfter, andThen, type MaybePromise, type RangeRead } from '../storage/scan.js';

export type SetOp = 'inter' | 'union' | 'diff';

/** Receives each member of a result; returning false stops the computation (SINTERCARD LIMIT). */
export type MemberSink = (member: Buffer) => boolean | void;

// ---------------------------------------------------------------- lookups

/**
 * The sets at `keys`, as SINTER/SUNION/SDIFF (and their STORE forms) look them up in Redis 7.0:
 * every key in order with a read lookup (keyspace hits/misses), a missing key is an empty set
 * (null), and a key of another type is WRONGTYPE even after a missing one.
 */
export function lookupSets(ctx: CollectionContext, keys: readonly Buffer[]): (Collection | null)[] {
  return keys.map((k) => Collection.find(ctx, k, Type.SET, true));
}

// ---------------------------------------------------------------- cursors over stored sets

/**
 * A pull cursor over one set's members in byte order: chunks of the range reads of scan.ts,
 * bounded to the set's prefix and version. Open it only with no writes pending (after sync());
 * writes made while it runs (a STORE form's new version) are elsewhere and never seen.
 */
class MemberCursor {
  /** The current member; null before the first advance() and after the end. */
  head: Buffer | null = null;
  private chunk: Buffer[] = [];
  private at = 0;
  private ended = false;
  private range: RangeRead;
  private readonly skip: number;

  constructor(private readonly coll: Collection) {
    const prefix = coll.prefix;
    this.skip = prefix.length;
    this.range = { gte: prefix, lt: prefixEnd(prefix)!, values: false };
  }

  /** Moves to the next member (the first one on the first call); false at the end. */
  advance(): MaybePromise<boolean> {
    if (this.at < this.chunk.length) return this.step();
    if (this.ended) return this.stop();
    return andThen(readChunk(this.coll.ctx.store, this.range), (c) => {
      this.chunk = c.keys;
      this.at = 0;
      this.ended = c.ended;
      if (c.keys.length === 0) return this.stop();
      this.range = rangeAfter(this.range, c.keys[c.keys.length - 1]!);
      return this.step();
    });
  }

  private step(): boolean {
    this.head = this.chunk[this.at++]!.subarray(this.skip);
    return true;
  }

  private stop(): boolean {
    this.head = null;
    return false;
  }
}

/** A min-heap of cursor indexes ordered by (head member, index). */
class CursorHeap {
  private readonly a: number[] = [];
  constructor(private readonly cursors: MemberCursor[]) {}

  get size(): number {
    return this.a.length;
  }

  peek(): number {
    return this.a[0]!;
  }

  private less(i: number, j: number): boolean {
    const c = Buffer.compare(this.cursors[this.a[i]!]!.head!, this.cursors[this.a[j]!]!.head!);
    return c < 0 || (c === 0 && this.a[i]! < this.a[j]!);
  }

  private swap(i: number, j: number): void {
    const t = this.a[i]!;
    this.a[i] = this.a[j]!;
    this.a[j] = t;
  }

  push(x: number): void {
    this.a.push(x);
    for (let i = this.a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): number {
    const top = this.a[0]!;
    const last = this.a.pop()!;
    if (this.a.length > 0) {
      this.a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.a.length && this.less(l, m)) m = l;
        if (r < this.a.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/**
 * Merges the member streams of `sets` (byte order): `visit` gets each distinct member once, with
 * whether sets[0] holds it and how many of the sets hold it. With `untilFirstEnds`, stops once
 * sets[0] is exhausted. Returning false from `visit` stops the merge.
 */
async function merge(
  sets: Collection[],
  visit: (member: Buffer, inFirst: boolean, holders: number) => boolean | void,
  untilFirstEnds = false,
): Promise<void> {
  await syncForIteration(sets[0]!.ctx);
  const cursors = sets.map((s) => new MemberCursor(s));
  // Awaits only what is a promise: with the native addon the merge runs without yielding.
  const advance = async (i: number): Promise<boolean> => {
    const more = cursors[i]!.advance();
    return typeof more === 'boolean' ? more : await more;
  };
  const heap = new CursorHeap(cursors);
  for (let i = 0; i < cursors.length; i++) if (await advance(i)) heap.push(i);
  let firstLive = cursors[0]!.head !== null;
  while (heap.size > 0 && (firstLive || !untilFirstEnds)) {
    const member = cursors[heap.peek()]!.head!;
    let inFirst = false;
    let holders = 0;
    while (heap.size > 0 && cursors[heap.peek()]!.head!.equals(member)) {
      const i = heap.pop();
      holders++;
      if (i === 0) inFirst = true;
      if (await advance(i)) heap.push(i);
      else if (i === 0) firstLive = false;
    }
    if (visit(member, inFirst, holders) === false) return;
  }
}

/** sync() when writes are pending, then make sure range reads will see every write. */
async function syncForIteration(ctx: CollectionContext): Promise<void> {
  if (ctx.store.hasPending) await ctx.sync();
  if (ctx.store.hasPending) throw new Error('set iterated with writes pending after sync()');
}

// ---------------------------------------------------------------- the algebra on a shard

/**
 * Computes `op` over `sets` (from lookupSets; null = missing = empty) and emits the result's
 * members, distinct and in byte order. Writes made by `emit` (a STORE form filling a new version)
 * are allowed: the iterators were opened before them and never see them.
 */
export function setAlgebra(op: SetOp, sets: readonly (Collection | null)[], emit: MemberSink): Promise<void> {
  switch (op) {
    case 'inter':
      return inter(sets, emit);
    case 'union':
      return union(sets, emit);
    case 'diff':
      return diff(sets, emit);
  }
}

function live(sets: readonly (Collection | null)[]): Collection[] {
  return sets.filter((s): s is Collection => s !== null);
}

/** Every member of one set, streamed. */
async function all(set: Collection, emit: MemberSink): Promise<void> {
  await set.forEach({ values: false }, (m) => emit(m));
}

async function inter(sets: readonly (Collection | null)[], emit: MemberSink): Promise<void> {
  // Intersection with an empty (missing) set is empty.
  if (sets.some((s) => s === null)) return;
  const bySize = [...(sets as Collection[])].sort((a, b) => a.size - b.size);
  const smallest = bySize[0]!;
  // A key named twice is the same set: probing it again cannot reject anything.
  const probes = bySize.slice(1).filter((s) => !s.key.equals(smallest.key));
  await smallest.forEach({ values: false }, (m) => {
    for (const s of probes) if (!s.has(m)) return;
    return emit(m);
  });
}

async function union(sets: readonly (Collection | null)[], emit: MemberSink): Promise<void> {
  const l = live(sets);
  if (l.length === 0) return;
  if (l.length === 1) return all(l[0]!, emit);
  await merge(l, (m) => emit(m));
}

async function diff(sets: readonly (Collection | null)[], emit: MemberSink): Promise<void> {
  const first = sets[0];
  if (!first) return;
  const others = live(sets.slice(1));
  if (others.length === 0) return all(first, emit);
  // Redis' choice (sunionDiffGenericCommand): algorithm 1 costs |first| per set, halved for its
  // better constants; algorithm 2 costs the total size of the sets.
  let probeWork = first.size;
  let mergeWork = first.size;
  for (const s of others) {
    probeWork += first.size;
    mergeWork += s.size;
  }
  if (Math.floor(probeWork / 2) <= mergeWork) {
    // Larger sets first: a member is more likely to be found (and dropped) early.
    const probes = [...others].sort((a, b) => b.size - a.size);
    await first.forEach({ values: false }, (m) => {
      for (const s of probes) if (s.has(m)) return;
      return emit(m);
    });
  } else {
    await merge([first, ...others], (m, inFirst, holders) => (inFirst && holders === 1 ? emit(m) : undefined), true);
  }
}

// ---------------------------------------------------------------- random members

/**
 * The member at rank `rank` (0-based, byte order) of a non-empty set, reached from the nearer end
 * of the set: at most half of it is read.
 */
export function memberAt(set: Collection, rank: number): MaybePromise<Buffer> {
  const size = set.size;
  const reverse = rank >= size / 2;
  const steps = reverse ? size - rank : rank + 1;
  let found: Buffer | null = null;
  // The members before it are stepped over inside LevelDB (with the addon), not read out.
  return andThen(set.forEach({ reverse, skip: steps - 1, limit: 1, values: false }, (m) => {
    found = m;
  }), () => {
    if (found === null) throw new Error(`set size ${size} disagrees with its members (rank ${rank} not found)`);
    return found;
  });
}

// ---------------------------------------------------------------- the algebra on sorted lists (front thread)

/** Members of both sorted, distinct lists. */
function intersectTwo(a: readonly Buffer[], b: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    const c = Buffer.compare(a[i]!, b[j]!);
    if (c === 0) {
      out.push(a[i]!);
      i++;
      j++;
    } else if (c < 0) i++;
    else j++;
  }
  return out;
}

function unionTwo(a: readonly Buffer[], b: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const c = Buffer.compare(a[i]!, b[j]!);
    if (c <= 0) out.push(a[i++]!);
    else out.push(b[j++]!);
    if (c === 0) j++;
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

/** Intersection of sorted, distinct member lists (smallest first, so each step shrinks). */
export function intersectSorted(lists: readonly (readonly Buffer[])[]): Buffer[] {
  if (lists.length === 0) return [];
  const bySize = [...lists].sort((a, b) => a.length - b.length);
  let acc = [...bySize[0]!];
  for (let i = 1; i < bySize.length && acc.length > 0; i++) acc = intersectTwo(acc, bySize[i]!);
  return acc;
}

/** Union of sorted, distinct member lists, merged pairwise (balanced). */
export function unionSorted(lists: readonly (readonly Buffer[])[]): Buffer[] {
  if (lists.length === 0) return [];
  let level = lists.map((l) => [...l]);
  while (level.length > 1) {
    const next: Buffer[][] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? unionTwo(level[i]!, level[i + 1]!) : level[i]!);
    level = next;
  }
  return level[0]!;
}

/** Members of sorted list `a` that are not in sorted list `b`. */
export function diffSorted(a: readonly Buffer[], b: readonly Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let j = 0;
  for (const m of a) {
    while (j < b.length && Buffer.compare(b[j]!, m) < 0) j++;
    if (j < b.length && b[j]!.equals(m)) continue;
    out.push(m);
  }
  return out;
}
