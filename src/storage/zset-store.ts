/**
 * Sorted sets on a shard's LevelDB: a Collection (src/storage/collection.ts) of member -> score
 * sub-keys plus the score index of encoding.ts, kept in step by every write here:
 *
 *   Sub-key      'S' | db | key-len | key | version | member                -> score(8, sortable)
 *   Score index  'Z' | db | key-len | key | version | score(8, sortable) | member -> empty
 *
 * The sub-keys answer point questions (ZSCORE, ZADD's lookup, ZINTER's probes) and iterate in
 * member order (ZSCAN cursors); the index iterates in Redis' order, score then member bytewise,
 * forwards or backwards, and seeks to a score. Both live under the collection's version, so
 * DEL/overwrite/expiry stay O(1) and the sweep drops both record kinds of an old version.
 *
 * -0 is stored as 0 in both places (as Redis' listpack encoding does: small sorted sets print
 * "0" for a member added with score -0).
 *
 * There are no skiplist spans: a rank (ZRANK, ZRANGE by index, ZREMRANGEBYRANK) is found by
 * counting index entries, O(rank) (ranks past the middle count from the other end where the
 * command allows it). ZCOUNT counts the entries in its range likewise. With the native addon a
 * count steps over the keys inside LevelDB (scan.ts count(): nothing is copied out, about
 * 20x faster than reading them out in bench/scan.ts, yet still O(n)).
 *
 * Reads go through scan.ts: synchronous with the addon and no writes pending (the methods then
 * return plain values), else after the shard's sync() (Collection.synced) and as promises.
 */
import { Collection, type CollectionContext } from './collection.js';
import { Type, Prefix, type Meta, versionPrefix, scoreKeyAfter, prefixEnd, writeSortableDouble, readSortableDouble } from './encoding.js';
import { scan, scanResp, scanRange, respScans, count, approximateSize, andThen, type MaybePromise, type Bounds, type RawSink, type ScanOptions as RangeScan } from './scan.js';

const EMPTY = Buffer.alloc(0);

/** A score range as Redis' zrangespec: min/max with exclusive flags. */
export interface ScoreRange {
  min: number;
  minex: boolean;
  max: number;
  maxex: boolean;
}

/** One end of a lex range: the lowest or highest possible string ("-" / "+"), or a member. */
export type LexBound = { kind: 'min' } | { kind: 'max' } | { kind: 'value'; value: Buffer };

/** A lex range as Redis' zlexrangespec ("-" and "+" are exclusive, as Redis parses them). */
export interface LexRange {
  min: LexBound;
  minex: boolean;
  max: LexBound;
  maxex: boolean;
}

/** Redis' sdscmplex(): bytewise order, with "-" below and "+" above every string. */
export function compareLex(a: LexBound, b: LexBound): number {
  if (a.kind === b.kind && a.kind !== 'value') return 0;
  if (a.kind === 'min' || b.kind === 'max') return -1;
  if (a.kind === 'max' || b.kind === 'min') return 1;
  return Buffer.compare((a as { value: Buffer }).value, (b as { value: Buffer }).value);
}

export function lexGteMin(member: Buffer, r: LexRange): boolean {
  const c = compareLex({ kind: 'value', value: member }, r.min);
  return r.minex ? c > 0 : c >= 0;
}

export function lexLteMax(member: Buffer, r: LexRange): boolean {
  const c = compareLex({ kind: 'value', value: member }, r.max);
  return r.maxex ? c < 0 : c <= 0;
}

/** True when no string can be in the range (Redis' first test in zslIsInLexRange). */
export function lexRangeEmpty(r: LexRange): boolean {
  const c = compareLex(r.min, r.max);
  return c > 0 || (c === 0 && (r.minex || r.maxex));
}

export function scoreRangeEmpty(r: ScoreRange): boolean {
  return r.min > r.max || (r.min === r.max && (r.minex || r.maxex));
}

export function scoreGteMin(s: number, r: ScoreRange): boolean {
  return r.minex ? s > r.min : s >= r.min;
}

export function scoreLteMax(s: number, r: ScoreRange): boolean {
  return r.maxex ? s < r.max : s <= r.max;
}

export function encodeScore(score: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeSortableDouble(b, score, 0);
  return b;
}

export function decodeScore(b: Buffer): number {
  return readSortableDouble(b, 0);
}

export interface IndexScan extends Bounds {
  reverse?: boolean;
  /** Pass over this many entries first (stepped over inside LevelDB with the addon). */
  skip?: number;
  limit?: number;
}

/** Called per index entry in iteration order; return false to stop. */
export type ZVisitor = (member: Buffer, score: number) => boolean | void;

export class ZSet {
  private constructor(readonly coll: Collection) {}

  // ------------------------------------------------------------ opening

  /** The sorted set at `key`, or null; WRONGTYPE for another type. `read`: a read command (keyspace hit/miss). */
  static find(ctx: CollectionContext, key: Buffer, read: boolean): ZSet | null {
    const c = Collection.find(ctx, key, Type.ZSET, read);
    return c === null ? null : new ZSet(c);
  }

  /** find() for writes that create the key (stored only if save() finds members). */
  static findOrCreate(ctx: CollectionContext, key: Buffer): ZSet {
    return new ZSet(Collection.findOrCreate(ctx, key, Type.ZSET));
  }

  /** A new, empty sorted set that replaces `old` (any type, or null) at `key` when saved: the STORE forms. */
  static create(ctx: CollectionContext, key: Buffer, old: Meta | null): ZSet {
    return new ZSet(Collection.create(ctx, key, Type.ZSET, old));
  }

  /**
   * The STORE forms' write: `key` (of any type, or absent) becomes a new sorted set of these
   * distinct members, or is deleted when there are none. Returns the new size.
   */
  static replace(ctx: CollectionContext, key: Buffer, members: readonly Buffer[], scores: readonly number[]): number {
    const z = ZSet.create(ctx, key, ctx.store.lookup(ctx.db, key));
    for (let i = 0; i < members.length; i++) z.set(members[i]!, scores[i]!, undefined);
    z.save();
    return z.size;
  }

  get size(): number {
    return this.coll.size;
  }

  // ------------------------------------------------------------ point access and writes

  /** The member's score, or undefined. */
  score(member: Buffer): number | undefined {
    const v = this.coll.get(member);
    return v === undefined ? undefined : decodeScore(v);
  }

  /** See indexPrefix: built once per command, so an index key costs no BigInt write of the version. */
  private head: Buffer | null = null;

  private indexKey(score: number, member: Buffer): Buffer {
    return scoreKeyAfter(this.indexPrefix, score, member);
  }

  /**
   * Gives `member` the score `score`; `old` is its current score (from score(), undefined when it
   * is new). Writes the sub-key and moves the index entry.
   */
  set(member: Buffer, score: number, old: number | undefined): void {
    const { store } = this.coll.ctx;
    if (old !== undefined) {
      if (old === score) return; // -0 and 0 too: both are stored as 0
      store.del(this.indexKey(old, member));
    }
    this.coll.put(member, encodeScore(score), old !== undefined);
    store.put(this.indexKey(score, member), EMPTY);
  }

  /** Removes a member whose score is known (from score() or the index). */
  removeKnown(member: Buffer, score: number): void {
    if (this.coll.delete(member)) this.coll.ctx.store.del(this.indexKey(score, member));
  }

  /** Removes `member`; true when it was there. */
  remove(member: Buffer): boolean {
    const s = this.score(member);
    if (s === undefined) return false;
    this.removeKnown(member, s);
    return true;
  }

  /** Writes the meta record (see Collection.save): a sorted set left empty is deleted. */
  save(): void {
    this.coll.save();
  }

  // ------------------------------------------------------------ the score index

  /** 'Z' | db | key-len | key | version: every index entry of this version starts with it (shared: never modify it). */
  get indexPrefix(): Buffer {
    const c = this.coll;
    return (this.head ??= versionPrefix(Prefix.SCORE, c.ctx.db, c.key, c.version));
  }

  /** The index key of (score, member) under this version. */
  entryKey(score: number, member: Buffer): Buffer {
    return this.indexKey(score, member);
  }

  /** The first index key with this score (prefix | score). */
  atScore(score: number): Buffer {
    const p = this.indexPrefix;
    const out = Buffer.allocUnsafe(p.length + 8);
    p.copy(out);
    writeSortableDouble(out, score, p.length);
    return out;
  }

  /** The smallest index key after every entry with this score. */
  afterScore(score: number): Buffer {
    return prefixEnd(this.atScore(score))!;
  }

  /** Index bounds of a score range (check scoreRangeEmpty first). */
  scoreBounds(r: ScoreRange): Bounds {
    return {
      gte: r.minex ? this.afterScore(r.min) : this.atScore(r.min),
      lt: r.maxex ? this.atScore(r.max) : this.afterScore(r.max),
    };
  }

  /** Fills the version's own bounds where `o` leaves a side open. */
  private bounded(o: Bounds): Bounds {
    const prefix = this.indexPrefix;
    const b: Bounds = { ...o };
    if (b.gte === undefined && b.gt === undefined) b.gte = prefix;
    if (b.lt === undefined && b.lte === undefined) b.lt = prefixEnd(prefix)!;
    return b;
  }

  /**
   * Visits index entries in score order (reverse: from the top) within `o`'s bounds (this
   * version's entries when open), after `o.skip` of them, at most `o.limit`. Returns how many
   * were visited. Pending writes are synced first, as Collection.forEach does.
   */
  scan(o: IndexScan, visit: ZVisitor): MaybePromise<number> {
    if ((o.limit ?? Infinity) <= 0) return 0;
    const skip = this.indexPrefix.length;
    const range = this.indexRange(o);
    return this.coll.synced(() => scan(this.coll.ctx.store, range, (k) => visit(k.subarray(skip + 8), readSortableDouble(k, skip))));
  }

  /** The index range (keys only) that `o` selects. */
  private indexRange(o: IndexScan): RangeScan {
    return scanRange(this.bounded(o), o.reverse === true, false, o.skip ?? 0, o.limit ?? Infinity, true);
  }

  /**
   * Writes the members scan() would visit to `out` as RESP bulk strings, encoded by the addon (no
   * JS per member; replies without scores). Returns how many; null where the store has no such
   * reads (no addon): use scan().
   */
  writeMembers(o: IndexScan, out: RawSink, scores: 0 | 2 | 3 = 0): MaybePromise<number> | null {
    if (!respScans(this.coll.ctx.store)) return null;
    if ((o.limit ?? Infinity) <= 0) return 0;
    const range = this.indexRange(o);
    return this.coll.synced(() => scanResp(this.coll.ctx.store, range, this.indexPrefix.length + 8, out, scores));
  }

  /** Counts index entries within bounds (keys only, no decoding). */
  count(o: Bounds): MaybePromise<number> {
    const b = this.bounded(o);
    return this.coll.synced(() => count(this.coll.ctx.store, b));
  }

  /** The first (or with `last`, the last) entry in score order, or null when empty. */
  edge(last: boolean): MaybePromise<{ member: Buffer; score: number } | null> {
    let out: { member: Buffer; score: number } | null = null;
    return andThen(this.scan({ reverse: last, limit: 1 }, (member, score) => {
      out = { member, score };
    }), () => out);
  }

  /** 0-based rank of `member` in score order (reverse: from the top), or null when absent. O(rank). */
  rank(member: Buffer, reverse: boolean): MaybePromise<number | null> {
    const s = this.score(member);
    if (s === undefined) return null;
    const k = this.entryKey(s, member);
    // The rank is the number of entries before the member (after it, with `reverse`). Counting is
    // O(entries counted), so count the side LevelDB's size estimate says is smaller (both are
    // forward walks) and, if that is the other side, take the rank from the set's size.
    const countBefore = this.smallerBefore(k);
    const counted = this.count(countBefore ? { lt: k } : { gt: k });
    return countBefore !== reverse ? counted : andThen(counted, (n) => this.size - 1 - n);
  }

  /**
   * Whether the index holds fewer bytes before `k` than after it, by LevelDB's estimate (true when
   * there is none: the set is small, or still in the memtable, or the store has no addon).
   */
  private smallerBefore(k: Buffer): boolean {
    const { store } = this.coll.ctx;
    if (this.size < 4096 || store.hasPending) return true;
    const start = this.indexPrefix;
    const end = prefixEnd(start)!;
    const beforeBytes = approximateSize(store, start, k);
    const afterBytes = approximateSize(store, k, end);
    return beforeBytes === null || afterBytes === null || beforeBytes <= afterBytes;
  }

  /**
   * Visits the entries of ranks start..end (inclusive, 0-based, already clamped to the set), in
   * score order or with `reverse` from the top, in that order. A range nearer the other end of
   * the index is read from there and handed over in the asked order. LevelDB steps backwards more
   * slowly than forwards (Prev re-seeks inside blocks; 1.7x in bench/scan.ts), so a backward walk counts double.
   */
  rankRange(start: number, end: number, reverse: boolean, visit: ZVisitor): MaybePromise<void> {
    const n = end - start + 1;
    if (n <= 0) return;
    if (this.fromStart(start, end, reverse)) return andThen(this.scan({ reverse, skip: start, limit: n }, visit), () => undefined);
    const size = this.size;
    // Nearer the other end: read backwards from there, then replay in the asked order.
    const members: Buffer[] = [];
    const scores: number[] = [];
    return andThen(this.scan({ reverse: !reverse, skip: size - 1 - end, limit: n }, (m, s) => {
      members.push(m);
      scores.push(s);
    }), () => {
      for (let i = members.length - 1; i >= 0; i--) if (visit(members[i]!, scores[i]!) === false) return;
    });
  }

  /** rankRange()'s members (with `scores`: and scores) as RESP (writeMembers), where it reads from the asked end; else null. */
  writeRankMembers(start: number, end: number, reverse: boolean, out: RawSink, scores: 0 | 2 | 3 = 0): MaybePromise<number> | null {
    if (!this.fromStart(start, end, reverse)) return null;
    return this.writeMembers({ reverse, skip: start, limit: end - start + 1 }, out, scores);
  }

  /** Whether ranks [start, end] are nearer the asked end (read directly) than the other one (read back and replayed). */
  private fromStart(start: number, end: number, reverse: boolean): boolean {
    const fromOther = this.size - 1 - end;
    return reverse ? 2 * start <= fromOther : start <= 2 * fromOther;
  }

  /**
   * A score range in order (reverse: from max down), skipping `offset` entries and visiting at
   * most `limit` (negative: all). A negative offset visits nothing, as in Redis (its skip loop
   * runs off the end).
   */
  scoreRange(r: ScoreRange, reverse: boolean, offset: number, limit: number, visit: ZVisitor): MaybePromise<void> {
    const q = this.scoreQuery(r, reverse, offset, limit);
    if (q === null) return;
    return andThen(this.scan(q, visit), () => undefined);
  }

  /** scoreRange()'s members (with `scores`: and scores) as RESP (writeMembers); null without the addon. */
  writeScoreMembers(r: ScoreRange, reverse: boolean, offset: number, limit: number, out: RawSink, scores: 0 | 2 | 3 = 0): MaybePromise<number> | null {
    const q = this.scoreQuery(r, reverse, offset, limit);
    if (q === null) return respScans(this.coll.ctx.store) ? 0 : null;
    return this.writeMembers(q, out, scores);
  }

  /** The index scan of a score range with offset and limit (scoreRange), or null when it selects nothing. */
  private scoreQuery(r: ScoreRange, reverse: boolean, offset: number, limit: number): IndexScan | null {
    // An offset past the end selects nothing (Redis returns early too): no need to walk there.
    if (scoreRangeEmpty(r) || offset < 0 || offset >= this.size || limit === 0) return null;
    return { ...this.scoreBounds(r), reverse, skip: offset, limit: limit < 0 ? Infinity : limit };
  }

  /**
   * A lex range, walked as Redis walks a listpack (which for equal scores, the case BYLEX is
   * meant for, is member order): nothing when the lowest-scored member is above max or the
   * highest-scored one below min (reverse: mirrored); else from the first entry in score order
   * that is >= min (reverse: the last <= max), skip `offset` entries, then visit entries while
   * they stay <= max (reverse: >= min), at most `limit` (negative: all). With unequal scores this
   * gives Redis' listpack answer; its skiplist answer then depends on random node levels.
   * When every score is equal the walk seeks straight to min (or max).
   */
  lexRange(r: LexRange, reverse: boolean, offset: number, limit: number, visit: ZVisitor): MaybePromise<void> {
    if (lexRangeEmpty(r) || offset < 0 || offset >= this.size || limit === 0) return;
    return andThen(this.edge(false), (first) => andThen(this.edge(true), (last) => {
      if (first === null || last === null) return;
      if (!lexGteMin(last.member, r) || !lexLteMax(first.member, r)) return;
      const inStart = reverse ? (m: Buffer) => lexLteMax(m, r) : (m: Buffer) => lexGteMin(m, r);
      const inEnd = reverse ? (m: Buffer) => lexGteMin(m, r) : (m: Buffer) => lexLteMax(m, r);
      const scan: IndexScan = { reverse };
      if (first.score === last.score) {
        const bound = reverse ? r.max : r.min;
        if (bound.kind === 'value') {
          const k = this.entryKey(first.score, bound.value);
          if (reverse) {
            if (r.maxex) scan.lt = k;
            else scan.lte = k;
          } else if (r.minex) scan.gt = k;
          else scan.gte = k;
        }
      }
      let found = false;
      let skipped = 0;
      let left = limit < 0 ? Infinity : limit;
      return andThen(this.scan(scan, (m, s) => {
        if (!found) {
          if (!inStart(m)) return;
          found = true;
          if (!inEnd(m)) return false;
        }
        if (skipped < offset) {
          skipped++;
          return;
        }
        if (left === 0 || !inEnd(m)) return false;
        left--;
        return visit(m, s);
      }), () => undefined);
    }));
  }
}
