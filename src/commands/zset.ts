/**
 * Sorted set commands (Redis 7.0). A sorted set is a collection of member -> score sub-keys plus
 * a score index (src/storage/zset-store.ts), so it can be far larger than memory and
 * DEL/overwrite/expiry of one is O(1).
 *
 * Point commands (ZADD, ZSCORE, ZREM, ...) run synchronously on the shard through the
 * pending-write overlay. Range commands read the score index through bounded range reads
 * (src/storage/scan.ts: synchronous with the native addon; nothing else runs on the shard
 * meanwhile either way). Ranks are counted along the index inside LevelDB: O(rank), not
 * O(log N) as with Redis' skiplist spans.
 *
 * Replies follow Redis' shapes: with scores, RESP2 flattens (member, score) pairs and RESP3
 * nests each pair as [member, double]. Small sorted sets come back from ZSCAN whole and in score
 * order, as Redis' listpack encoding does; larger ones are paged in member order (see ScanCursors).
 *
 * Multi-key commands whose keys sit on several shards run on the front: ZUNION/ZINTER/ZDIFF/
 * ZINTERCARD as one-shot reads (zset-setops.ts), the STORE forms, ZRANGESTORE and ZMPOP
 * coordinated (the shards are held from the first read to the last write).
 */
import { accessSets, command, oneKey, twoKeys, type CommandSpec, type FrontCall, type ShardCall } from './types.js';
import { CommandError, E } from './errors.js';
import { i64Arg, intArg, lower } from './args.js';
import { HE, MAX_RANDOM_REPLY } from './hash.js';
import { ZE, scoreArg, parseScoreRange, parseLexRange, scanScore, scoredHeader, scoredEntry } from './zset-args.js';
import { type SetOpCommand, setOpShard, setOpFront, setOpKeys, zreadShard, zstoreShard, storeOn, rawDouble } from './zset-setops.js';
import { parseReply, ReplyErr } from '../server/resp/reply-parser.js';
import { ZSet, decodeScore, scoreRangeEmpty, type ScoreRange, type LexRange, type ZVisitor } from '../storage/zset-store.js';
import {
  parseScanCursor, parseScanOptions, scanPage, SCAN_WHOLE_MAX, randomBelow, distinctPositions, positionsWithReplacement,
} from '../storage/collection.js';
import { stringMatchLen } from '../util/glob.js';
import { parseI64, cAtoi } from '../util/number.js';

const I64_MAX = 9223372036854775807n;
/** ZRANDMEMBER's count bounds with WITHSCORES (count*2 must fit): -LONG_MAX/2 .. LONG_MAX/2. */
const HALF_MAX = I64_MAX / 2n;
/** Redis keeps a sorted set as a listpack while it has at most this many members ... */
const LISTPACK_MAX_ENTRIES = 128;
/** ... of at most this many bytes each (zset-max-listpack-value). */
const LISTPACK_MAX_VALUE = 64;

/** Members with their scores, in reply order. */
interface Entries {
  members: Buffer[];
  scores: number[];
}

/** Empty entries with a visitor that gathers them. */
function entries(): Entries & { add: ZVisitor } {
  const members: Buffer[] = [];
  const scores: number[] = [];
  return {
    members,
    scores,
    add: (m, s) => {
      members.push(m);
      scores.push(s);
    },
  };
}

function replyEntries(c: ShardCall, e: Entries, withScores: boolean): void {
  scoredHeader(c.w, e.members.length, withScores);
  for (let i = 0; i < e.members.length; i++) scoredEntry(c.w, e.members[i]!, e.scores[i]!, withScores);
}

// ---------------------------------------------------------------- lookups

/** The sorted set at `key` for a read command (counts keyspace hits/misses), or null; WRONGTYPE for another type. */
function readZ(c: ShardCall, key = c.args[1]!): ZSet | null {
  return ZSet.find(c, key, true);
}

/** The sorted set at `key` for a write that does not create it. */
function writeZ(c: ShardCall, key = c.args[1]!): ZSet | null {
  return ZSet.find(c, key, false);
}

// ---------------------------------------------------------------- ZADD / ZINCRBY

interface AddFlags {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
  ch: boolean;
  incr: boolean;
}

/**
 * Redis' zaddGenericCommand: options (ZINCRBY too reads them: "ZINCRBY k nx m" is a syntax
 * error), pair count, option conflicts, every score, then the key; each pair as zsetAdd().
 */
function zadd(c: ShardCall, incr: boolean): void {
  const f: AddFlags = { nx: false, xx: false, gt: false, lt: false, ch: false, incr };
  let at = 2;
  for (; at < c.args.length; at++) {
    const opt = lower(c.args[at]!);
    if (opt === 'nx' || opt === 'xx' || opt === 'gt' || opt === 'lt' || opt === 'ch' || opt === 'incr') f[opt] = true;
    else break;
  }
  const rest = c.args.length - at;
  if (rest === 0 || rest % 2 === 1) throw new CommandError(E.SYNTAX);
  if (f.nx && f.xx) throw new CommandError(ZE.XX_NX);
  if ((f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt)) throw new CommandError(ZE.GT_LT_NX);
  if (f.incr && rest > 2) throw new CommandError(ZE.INCR_PAIRS);
  const scores: number[] = [];
  for (let i = at; i < c.args.length; i += 2) scores.push(scoreArg(c.args[i]!));
  const z = ZSet.findOrCreate(c, c.args[1]!);
  let added = 0;
  let updated = 0;
  let processed = 0;
  let last = 0;
  for (let i = 0; i < scores.length; i++) {
    const member = c.args[at + 2 * i + 1]!;
    let score = scores[i]!;
    const cur = z.score(member);
    if (cur === undefined) {
      if (f.xx) continue;
      z.set(member, score, undefined);
      added++;
    } else {
      if (f.nx) continue;
      if (f.incr) {
        score += cur;
        // INCR takes one pair, so nothing was written yet.
        if (Number.isNaN(score)) throw new CommandError(ZE.NAN_SCORE);
      }
      if ((f.lt && score >= cur) || (f.gt && score <= cur)) continue;
      if (score !== cur) {
        z.set(member, score, cur);
        updated++;
      }
    }
    processed++;
    last = score;
  }
  z.save();
  if (!f.incr) c.w.int(f.ch ? added + updated : added);
  else if (processed > 0) c.w.double(last);
  else c.w.nil();
}

// ---------------------------------------------------------------- ranges: ZRANGE and its older forms

type RangeKind = 'rank' | 'score' | 'lex';

interface RangeQuery {
  kind: RangeKind;
  reverse: boolean;
  withScores: boolean;
  offset: number;
  /** -1 (or any negative): no limit. */
  limit: number;
  start: number;
  end: number;
  score: ScoreRange | null;
  lex: LexRange | null;
}

/**
 * Redis' zrangeGenericCommand argument parsing: `at` is the source key's position; `kind` and
 * `reverse` are fixed by the older commands (null: ZRANGE/ZRANGESTORE take BYSCORE/BYLEX/REV).
 */
function parseRangeQuery(args: Buffer[], at: number, store: boolean, kind: RangeKind | null, reverse: boolean | null): RangeQuery {
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = at + 3; j < args.length; j++) {
    const opt = lower(args[j]!);
    if (!store && opt === 'withscores') withScores = true;
    else if (opt === 'limit' && args.length - j - 1 >= 2) {
      offset = intArg(args[j + 1]!);
      limit = intArg(args[j + 2]!);
      j += 2;
    } else if (reverse === null && opt === 'rev') reverse = true;
    else if (kind === null && opt === 'bylex') kind = 'lex';
    else if (kind === null && opt === 'byscore') kind = 'score';
    else throw new CommandError(E.SYNTAX);
  }
  const k: RangeKind = kind ?? 'rank';
  const rev = reverse ?? false;
  // As Redis: an explicit "LIMIT x -1" is no limit, so it passes with a rank range.
  if (limit !== -1 && k === 'rank') throw new CommandError(ZE.LIMIT_NEEDS_BY);
  if (withScores && k === 'lex') throw new CommandError(ZE.WITHSCORES_BYLEX);
  // Score and lex ranges are given max first when reversed.
  const [lo, hi] = rev && k !== 'rank' ? [args[at + 2]!, args[at + 1]!] : [args[at + 1]!, args[at + 2]!];
  const q: RangeQuery = { kind: k, reverse: rev, withScores, offset, limit, start: 0, end: 0, score: null, lex: null };
  if (k === 'rank') {
    q.start = intArg(lo);
    q.end = intArg(hi);
  } else if (k === 'score') q.score = parseScoreRange(lo, hi);
  else q.lex = parseLexRange(lo, hi);
  return q;
}

/** Redis' index sanitizing for ZRANGE and ZREMRANGEBYRANK: [start, end] within the set, or null when empty. */
function clampRanks(start: number, end: number, size: number): [number, number] | null {
  if (start < 0) start += size;
  if (end < 0) end += size;
  if (start < 0) start = 0;
  if (start > end || start >= size) return null;
  return [start, Math.min(end, size - 1)];
}

/** The entries a range query selects, in reply order. */
async function collectRange(z: ZSet, q: RangeQuery): Promise<Entries> {
  const e = entries();
  if (q.kind === 'rank') {
    const r = clampRanks(q.start, q.end, z.size);
    if (r !== null) await z.rankRange(r[0], r[1], q.reverse, e.add);
  } else if (q.kind === 'score') await z.scoreRange(q.score!, q.reverse, q.offset, q.limit, e.add);
  else await z.lexRange(q.lex!, q.reverse, q.offset, q.limit, e.add);
  return e;
}

/** ZRANGE, ZREVRANGE, ZRANGEBYSCORE, ... : a rank range streams (its length is known), the others are gathered first. */
async function zrange(c: ShardCall, kind: RangeKind | null, reverse: boolean | null): Promise<void> {
  const q = parseRangeQuery(c.args, 1, false, kind, reverse);
  const z = readZ(c);
  if (z === null) return c.w.array(0);
  // The addon writes the members (and scores) as RESP itself, where it can.
  const scores = q.withScores ? (c.w.resp === 3 ? 3 : 2) : 0;
  if (q.kind === 'score') {
    // The count is known once they are read.
    const parts: Buffer[] = [];
    const direct = z.writeScoreMembers(q.score!, q.reverse, q.offset, q.limit, { raw: (b) => parts.push(b) }, scores);
    if (direct !== null) {
      const n = await direct;
      scoredHeader(c.w, n, q.withScores);
      for (const p of parts) c.w.raw(p);
      return;
    }
  }
  if (q.kind !== 'rank') return replyEntries(c, await collectRange(z, q), q.withScores);
  const r = clampRanks(q.start, q.end, z.size);
  if (r === null) return c.w.array(0);
  const n = r[1] - r[0] + 1;
  scoredHeader(c.w, n, q.withScores);
  // Where the range is read from the asked end.
  const direct = z.writeRankMembers(r[0], r[1], q.reverse, c.w, scores);
  let sent = 0;
  if (direct !== null) sent = await direct;
  else {
    await z.rankRange(r[0], r[1], q.reverse, (m, s) => {
      sent++;
      scoredEntry(c.w, m, s, q.withScores);
    });
  }
  // The header promised n entries: a disagreement must not reach the client as a broken reply.
  if (sent !== n) throw new Error(`sorted set size ${z.size} disagrees with its index (${sent} of ${n} entries)`);
}

/** ZRANGESTORE's read: args are [name, dst, src, min, max, options...]. */
async function rangeToStore(c: ShardCall): Promise<Entries> {
  const q = parseRangeQuery(c.args, 2, true, null, null);
  const z = readZ(c, c.args[2]!);
  return z === null ? { members: [], scores: [] } : collectRange(z, q);
}

/** ZRANGESTORE with both keys on two shards: read on the source's, write on the destination's. */
async function zrangestoreFront(c: FrontCall): Promise<void> {
  const { server, client } = c.ctx;
  const from = server.shardOf(c.args[2]!);
  await server.coord.withShards([from, server.shardOf(c.args[1]!)], async () => {
    const r = parseReply(await server.callShard(from, client.db, ['__zrangestore_read', ...c.args.slice(1)]));
    if (r instanceof ReplyErr) throw new CommandError(r.message);
    const items = r as Buffer[];
    const members: Buffer[] = [];
    const scores: number[] = [];
    for (let i = 0; i < items.length; i += 2) {
      members.push(items[i]!);
      scores.push(items[i + 1]!.readDoubleBE(0));
    }
    c.w.int(await storeOn(c, c.args[1]!, members, scores));
  });
}

// ---------------------------------------------------------------- counts and ranks

async function zcount(c: ShardCall): Promise<void> {
  const r = parseScoreRange(c.args[2]!, c.args[3]!);
  const z = readZ(c);
  if (z === null || scoreRangeEmpty(r)) return c.w.int(0);
  c.w.int(await z.count(z.scoreBounds(r)));
}

async function zlexcount(c: ShardCall): Promise<void> {
  const r = parseLexRange(c.args[2]!, c.args[3]!);
  const z = readZ(c);
  if (z === null) return c.w.int(0);
  let n = 0;
  await z.lexRange(r, false, 0, -1, () => {
    n++;
  });
  c.w.int(n);
}

async function zrank(c: ShardCall, reverse: boolean): Promise<void> {
  const rank = await readZ(c)?.rank(c.args[2]!, reverse);
  if (rank === undefined || rank === null) c.w.nil();
  else c.w.int(rank);
}

// ---------------------------------------------------------------- removals

/** Removes what a range selects; returns how many. */
async function removeEntries(z: ZSet, e: Entries): Promise<number> {
  for (let i = 0; i < e.members.length; i++) z.removeKnown(e.members[i]!, e.scores[i]!);
  z.save();
  return e.members.length;
}

/** ZREMRANGEBYRANK/BYSCORE/BYLEX: the range is parsed before the key is looked up, as in Redis. */
async function zremrange(c: ShardCall, kind: RangeKind): Promise<void> {
  const q: RangeQuery = { kind, reverse: false, withScores: false, offset: 0, limit: -1, start: 0, end: 0, score: null, lex: null };
  if (kind === 'rank') {
    q.start = intArg(c.args[2]!);
    q.end = intArg(c.args[3]!);
  } else if (kind === 'score') q.score = parseScoreRange(c.args[2]!, c.args[3]!);
  else q.lex = parseLexRange(c.args[2]!, c.args[3]!);
  const z = writeZ(c);
  if (z === null) return c.w.int(0);
  c.w.int(await removeEntries(z, await collectRange(z, q)));
}

/** Takes `count` entries from the bottom (or with `max` the top) and removes them. */
async function popEntries(z: ZSet, count: number, max: boolean): Promise<Entries> {
  const e = entries();
  await z.scan({ reverse: max, limit: count }, e.add);
  await removeEntries(z, e);
  return e;
}

/** ZPOPMIN/ZPOPMAX key [count]: RESP3 nests the pairs only when a count was given. */
async function zpop(c: ShardCall, max: boolean): Promise<void> {
  if (c.args.length > 3) throw new CommandError(E.SYNTAX);
  const hasCount = c.args.length === 3;
  let count = 1;
  if (hasCount) {
    const v = parseI64(c.args[2]!);
    if (v === null || v < 0n) throw new CommandError(ZE.POSITIVE);
    count = Number(v);
  }
  const z = writeZ(c);
  if (z === null || count === 0) return c.w.array(0);
  const e = await popEntries(z, count, max);
  const nested = hasCount && c.w.resp === 3;
  c.w.array(nested ? e.members.length : e.members.length * 2);
  for (let i = 0; i < e.members.length; i++) {
    if (nested) c.w.array(2);
    c.w.bulk(e.members[i]!);
    c.w.double(e.scores[i]!);
  }
}

// ---------------------------------------------------------------- ZMPOP

interface MpopArgs {
  keys: number[];
  max: boolean;
  count: number;
}

/** ZMPOP numkeys key... MIN|MAX [COUNT count], with Redis' errors. */
function parseMpop(args: Buffer[]): MpopArgs {
  const n = parseI64(args[1]!);
  if (n === null || n < 1n) throw new CommandError(ZE.NUMKEYS);
  const whereAt = 2n + n;
  if (whereAt >= BigInt(args.length)) throw new CommandError(E.SYNTAX);
  const where = lower(args[Number(whereAt)]!);
  if (where !== 'min' && where !== 'max') throw new CommandError(E.SYNTAX);
  let count = -1;
  for (let j = Number(whereAt) + 1; j < args.length; j++) {
    if (count === -1 && lower(args[j]!) === 'count' && j + 1 < args.length) {
      const v = parseI64(args[++j]!);
      if (v === null || v < 1n) throw new CommandError(ZE.COUNT);
      count = Number(v);
    } else throw new CommandError(E.SYNTAX);
  }
  return { keys: Array.from({ length: Number(n) }, (_, i) => 2 + i), max: where === 'max', count: count === -1 ? 1 : count };
}

/**
 * ZMPOP's key positions, as Redis' key spec finds them (numkeys keys, whether or not MIN|MAX
 * follows); none when numkeys is unusable, and the command then fails on the front.
 */
function mpopKeys(args: Buffer[]): number[] {
  const n = cAtoi(args[1]!); // as Redis' key functions read numkeys
  if (n < 1 || n > args.length - 2) return [];
  return Array.from({ length: n }, (_, i) => 2 + i);
}

/** Pops from the first key holding a sorted set, in argument order; a wrong type before it fails. */
async function zmpop(c: ShardCall): Promise<void> {
  const p = parseMpop(c.args);
  for (const pos of p.keys) {
    const z = writeZ(c, c.args[pos]!);
    if (z === null) continue;
    const e = await popEntries(z, p.count, p.max);
    c.w.array(2);
    c.w.bulk(c.args[pos]!);
    c.w.array(e.members.length);
    for (let i = 0; i < e.members.length; i++) {
      c.w.array(2);
      c.w.bulk(e.members[i]!);
      c.w.double(e.scores[i]!);
    }
    return;
  }
  c.w.nilArray();
}

const NULL_REPLIES = ['*-1\r\n', '_\r\n'];

/**
 * ZMPOP over keys on several shards, holding them all: each run of consecutive keys on one shard
 * is tried in argument order with a ZMPOP of its own (in the client's protocol), and the first
 * that pops answers.
 */
async function zmpopFront(c: FrontCall): Promise<void> {
  const p = parseMpop(c.args);
  const { server, client } = c.ctx;
  const shardAt = (pos: number): number => server.shardOf(c.args[pos]!);
  await server.coord.withShards([...new Set(p.keys.map(shardAt))], async () => {
    for (let i = 0; i < p.keys.length;) {
      const shard = shardAt(p.keys[i]!);
      let j = i;
      while (j < p.keys.length && shardAt(p.keys[j]!) === shard) j++;
      const run = p.keys.slice(i, j).map((pos) => c.args[pos]!);
      const args = ['zmpop', String(run.length), ...run, p.max ? 'max' : 'min', 'count', String(p.count)];
      const reply = await server.callShard(shard, client.db, args, client.resp);
      const text = reply.toString('latin1', 0, Math.min(reply.length, 8));
      if (text.startsWith('-')) throw new CommandError(reply.toString('latin1', 1, reply.length - 2));
      if (!NULL_REPLIES.includes(text)) {
        c.w.raw(reply);
        return;
      }
      i = j;
    }
    c.w.nilArray();
  });
}

// ---------------------------------------------------------------- ZRANDMEMBER

/** ZRANDMEMBER key count [WITHSCORES] (Redis' zrandmemberWithCountCommand). */
async function zrandmemberWithCount(c: ShardCall): Promise<void> {
  const l = i64Arg(c.args[2]!);
  if (l < -I64_MAX) throw new CommandError(HE.COUNT_RANGE);
  if (c.args.length > 4 || (c.args.length === 4 && lower(c.args[3]!) !== 'withscores')) throw new CommandError(E.SYNTAX);
  const withScores = c.args.length === 4;
  if (withScores && (l < -HALF_MAX || l > HALF_MAX)) throw new CommandError(HE.OUT_OF_RANGE);
  const z = readZ(c);
  if (z === null || l === 0n) return c.w.array(0);
  const size = z.size;
  if (l < 0n) {
    if (-l > BigInt(MAX_RANDOM_REPLY)) throw new CommandError(HE.OUT_OF_RANGE);
    return randomWithRepeats(c, z, Number(-l), withScores);
  }
  if (l >= BigInt(size)) {
    // The whole set, as Redis answers it: highest score first.
    scoredHeader(c.w, size, withScores);
    await z.rankRange(0, size - 1, true, (m, s) => scoredEntry(c.w, m, s, withScores));
    return;
  }
  // Distinct members at `count` random positions, read in one pass in member order.
  const count = Number(l);
  scoredHeader(c.w, count, withScores);
  await z.coll.atPositions(distinctPositions(size, count), (_i, m, v) => scoredEntry(c.w, m, withScores ? decodeScore(v) : 0, withScores), withScores);
}

/** Negative count: `count` independent uniform picks, in the order drawn. */
async function randomWithRepeats(c: ShardCall, z: ZSet, count: number, withScores: boolean): Promise<void> {
  scoredHeader(c.w, count, withScores);
  const size = z.size;
  const members: Buffer[] = new Array(count);
  const values: Buffer[] = new Array(count);
  let order: ArrayLike<number>;
  if (count >= size) {
    // The reply holds at least as many entries as the set: read it once and draw from memory.
    const all = await z.coll.read({ values: withScores });
    if (all.subs.length !== size) throw new Error(`sorted set size ${size} disagrees with its ${all.subs.length} members`);
    order = Array.from({ length: count }, () => randomBelow(size));
    all.subs.forEach((m, i) => {
      members[i] = m;
      values[i] = all.values[i]!;
    });
  } else {
    const picks = positionsWithReplacement(size, count);
    await z.coll.atPositions(picks.sorted, (r, m, v) => {
      members[r] = m;
      values[r] = v;
    }, withScores);
    order = picks.order;
  }
  for (let i = 0; i < count; i++) {
    const j = order[i]!;
    scoredEntry(c.w, members[j]!, withScores ? decodeScore(values[j]!) : 0, withScores);
  }
}

async function zrandmemberOne(c: ShardCall): Promise<void> {
  const z = readZ(c);
  if (z === null) return c.w.nil();
  await z.coll.atPositions([randomBelow(z.size)], (_i, m) => c.w.bulk(m), false);
}

// ---------------------------------------------------------------- ZSCAN

/**
 * ZSCAN: a set small enough for Redis' listpack comes back whole, in score order, with scores
 * printed as the listpack stores them; a larger one is paged in member order (so a member whose
 * score changes mid-iteration is still returned), scores printed as Redis' skiplist does.
 */
async function zscan(c: ShardCall): Promise<void> {
  const cursor = parseScanCursor(c.args[2]!);
  const z = readZ(c);
  if (z === null) {
    c.w.array(2);
    c.w.bulk('0');
    c.w.array(0);
    return;
  }
  const o = parseScanOptions(c.args, 3);
  let next = 0n;
  const e = entries();
  let listpack = false;
  if (z.size <= SCAN_WHOLE_MAX) {
    listpack = z.size <= LISTPACK_MAX_ENTRIES;
    await z.scan({}, (m, s) => {
      if (m.length > LISTPACK_MAX_VALUE) listpack = false;
      if (o.pattern === null || stringMatchLen(o.pattern, m)) e.add(m, s);
    });
  } else {
    const page = await scanPage(z.coll, cursor, o);
    next = page.cursor;
    page.subs.forEach((m, i) => e.add(m, decodeScore(page.values[i]!)));
  }
  c.w.array(2);
  c.w.bulk(next.toString());
  c.w.array(e.members.length * 2);
  for (let i = 0; i < e.members.length; i++) {
    c.w.bulk(e.members[i]!);
    c.w.bulk(scanScore(e.scores[i]!, listpack));
  }
}

// ---------------------------------------------------------------- set operations

const SET_OPS: Record<string, SetOpCommand> = {
  zunion: { name: 'zunion', op: 'union', store: false, cardinality: false },
  zinter: { name: 'zinter', op: 'inter', store: false, cardinality: false },
  zdiff: { name: 'zdiff', op: 'diff', store: false, cardinality: false },
  zunionstore: { name: 'zunionstore', op: 'union', store: true, cardinality: false },
  zinterstore: { name: 'zinterstore', op: 'inter', store: true, cardinality: false },
  zdiffstore: { name: 'zdiffstore', op: 'diff', store: true, cardinality: false },
  zintercard: { name: 'zintercard', op: 'inter', store: false, cardinality: true },
};

function setOpCommand(name: string): CommandSpec {
  const d = SET_OPS[name]!;
  return command({
    name, arity: d.store ? -4 : -3,
    flags: d.store ? ['write', 'denyoom'] : ['readonly'],
    acl: [d.store ? 'write' : 'read', 'sortedset', 'slow'],
    keys: d.store ? oneKey : null, keyFn: setOpKeys(d),
    shard: (c) => setOpShard(c, d),
    front: (c) => setOpFront(c, d),
    coordinated: d.store,
  });
}

// ---------------------------------------------------------------- the table

const { RW_FAST, RO_FAST, RO_SLOW, W_FAST, W_SLOW } = accessSets('sortedset');

export const zsetCommands: readonly CommandSpec[] = [
  command({
    name: 'zadd', arity: -4, ...RW_FAST, keys: oneKey,
    shard: (c) => zadd(c, false),
  }),
  command({
    name: 'zincrby', arity: 4, ...RW_FAST, keys: oneKey,
    shard: (c) => zadd(c, true),
  }),
  command({
    name: 'zrem', arity: -3, ...W_FAST, keys: oneKey,
    shard: (c) => {
      const z = writeZ(c);
      if (z === null) return c.w.int(0);
      let n = 0;
      for (let i = 2; i < c.args.length; i++) if (z.remove(c.args[i]!)) n++;
      z.save();
      c.w.int(n);
    },
  }),
  command({
    name: 'zcard', arity: 2, ...RO_FAST, keys: oneKey,
    shard: (c) => c.w.int(readZ(c)?.size ?? 0),
  }),
  command({
    name: 'zcount', arity: 4, ...RO_FAST, keys: oneKey,
    shard: zcount,
  }),
  command({
    name: 'zlexcount', arity: 4, ...RO_FAST, keys: oneKey,
    shard: zlexcount,
  }),
  command({
    name: 'zscore', arity: 3, ...RO_FAST, keys: oneKey,
    shard: (c) => {
      const s = readZ(c)?.score(c.args[2]!);
      if (s === undefined) c.w.nil();
      else c.w.double(s);
    },
  }),
  command({
    name: 'zmscore', arity: -3, ...RO_FAST, keys: oneKey,
    shard: (c) => {
      const z = readZ(c);
      c.w.array(c.args.length - 2);
      for (let i = 2; i < c.args.length; i++) {
        const s = z?.score(c.args[i]!);
        if (s === undefined) c.w.nil();
        else c.w.double(s);
      }
    },
  }),
  command({
    name: 'zrank', arity: 3, ...RO_FAST, keys: oneKey,
    shard: (c) => zrank(c, false),
  }),
  command({
    name: 'zrevrank', arity: 3, ...RO_FAST, keys: oneKey,
    shard: (c) => zrank(c, true),
  }),
  command({
    name: 'zrange', arity: -4, ...RO_SLOW, keys: oneKey,
    shard: (c) => zrange(c, null, null),
  }),
  command({
    name: 'zrangestore', arity: -5, flags: ['write', 'denyoom'], acl: ['write', 'sortedset', 'slow'], keys: twoKeys,
    shard: async (c) => {
      const e = await rangeToStore(c);
      c.w.int(ZSet.replace(c, c.args[1]!, e.members, e.scores));
    },
    front: zrangestoreFront,
    coordinated: true,
  }),
  command({
    name: 'zrangebyscore', arity: -4, ...RO_SLOW, keys: oneKey,
    shard: (c) => zrange(c, 'score', false),
  }),
  command({
    name: 'zrevrangebyscore', arity: -4, ...RO_SLOW, keys: oneKey,
    shard: (c) => zrange(c, 'score', true),
  }),
  command({
    name: 'zrangebylex', arity: -4, ...RO_SLOW, keys: oneKey,
    shard: (c) => zrange(c, 'lex', false),
  }),
  command({
    name: 'zrevrangebylex', arity: -4, ...RO_SLOW, keys: oneKey,
    shard: (c) => zrange(c, 'lex', true),
  }),
  command({
    name: 'zrevrange', arity: -4, ...RO_SLOW, keys: oneKey,
    shard: (c) => zrange(c, 'rank', true),
  }),
  command({
    name: 'zremrangebyrank', arity: 4, ...W_SLOW, keys: oneKey,
    shard: (c) => zremrange(c, 'rank'),
  }),
  command({
    name: 'zremrangebyscore', arity: 4, ...W_SLOW, keys: oneKey,
    shard: (c) => zremrange(c, 'score'),
  }),
  command({
    name: 'zremrangebylex', arity: 4, ...W_SLOW, keys: oneKey,
    shard: (c) => zremrange(c, 'lex'),
  }),
  command({
    name: 'zpopmin', arity: -2, ...W_FAST, keys: oneKey,
    shard: (c) => zpop(c, false),
  }),
  command({
    name: 'zpopmax', arity: -2, ...W_FAST, keys: oneKey,
    shard: (c) => zpop(c, true),
  }),
  command({
    name: 'zmpop', arity: -4, flags: ['write'], acl: ['write', 'sortedset', 'slow'], keys: null, keyFn: mpopKeys,
    shard: zmpop,
    front: zmpopFront,
    coordinated: true,
  }),
  command({
    name: 'zrandmember', arity: -2, ...RO_SLOW, keys: oneKey,
    shard: (c) => (c.args.length >= 3 ? zrandmemberWithCount(c) : zrandmemberOne(c)),
  }),
  ...['zunion', 'zinter', 'zdiff', 'zunionstore', 'zinterstore', 'zdiffstore', 'zintercard'].map(setOpCommand),
  command({
    name: 'zscan', arity: -3, ...RO_SLOW, keys: oneKey,
    shard: zscan,
  }),
  // Internal: the halves of cross-shard set operations and ZRANGESTORE.
  command({
    name: '__zread', arity: -3, flags: ['readonly'], acl: [], keys: null, internal: true,
    shard: zreadShard,
  }),
  command({
    name: '__zstore', arity: -2, flags: ['write'], acl: [], keys: null, internal: true,
    shard: zstoreShard,
  }),
  command({
    name: '__zrangestore_read', arity: -5, flags: ['readonly'], acl: [], keys: null, internal: true,
    shard: async (c) => {
      const e = await rangeToStore(c);
      c.w.array(e.members.length * 2);
      for (let i = 0; i < e.members.length; i++) {
        c.w.bulk(e.members[i]!);
        c.w.bulk(rawDouble(e.scores[i]!));
      }
    },
  }),
];
