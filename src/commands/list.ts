/**
 * List commands (Redis 7.0, the non-blocking ones). A list is a collection of index -> element
 * sub-keys with its head and tail in the meta record; src/storage/list.ts explains the layout.
 *
 * Cost in Cairn (N = list length):
 *  - LPUSH/RPUSH/LPUSHX/RPUSHX/LPOP/RPOP/LMPOP/LMOVE/RPOPLPUSH: O(1) per element pushed or popped;
 *  - LLEN, LINDEX, LSET: O(1) (one point read or write at index head + position);
 *  - LRANGE: O(M) for M elements returned (point reads, or one bounded LevelDB iterator);
 *  - LTRIM: O(removed) deletes (head/tail move, the trimmed entries are deleted);
 *  - LPOS: O(scanned) from the chosen end, bounded by MAXLEN;
 *  - LINSERT: O(P) to find the pivot at position P, plus O(min(P, N-P)) to renumber the
 *    shorter side; LREM: O(N) scan, plus O(min(N-F, L)) renumbering for first/last removed
 *    positions F and L.
 *
 * Where they run: every call whose keys sit on one shard runs there (LMOVE and LMPOP too).
 * LMOVE/RPOPLPUSH between keys on two shards and LMPOP over keys on several shards are
 * coordinated front handlers: they reserve the shards (nothing else reaches them meanwhile),
 * check the key types, then pop on one shard and push on the other with the internal
 * __lpopn / __lpush commands, so no client can see the element in neither list or in both.
 */
import { accessSets, command, oneKey, twoKeys, type CommandSpec, type FrontCall, type ShardCall, type ShardHandler } from './types.js';
import { CommandError, E } from './errors.js';
import { i64Arg, lower } from './args.js';
import { partsByShard, sendParts, firstError } from './fanout.js';
import { crossWrite } from '../server/cross-write.js';
import { parseReply, ReplyErr, type RespValue } from '../server/resp/reply-parser.js';
import type { ReplyWriter } from '../server/resp/writer.js';
import { parseI64, cAtoi } from '../util/number.js';
import { Type } from '../storage/encoding.js';
import { List, type End } from '../storage/list.js';

/** Exact Redis texts used only by this family. */
export const LE = {
  INDEX_RANGE: 'ERR index out of range',
  MUST_BE_POSITIVE: 'ERR value is out of range, must be positive',
  RANK_ZERO: "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
  COUNT_NEGATIVE: "ERR COUNT can't be negative",
  MAXLEN_NEGATIVE: "ERR MAXLEN can't be negative",
  NUMKEYS: 'ERR numkeys should be greater than 0',
  COUNT_POSITIVE: 'ERR count should be greater than 0',
} as const;

// ---------------------------------------------------------------- arguments

const I53 = 2n ** 53n;

/** A C long that only ever meets list sizes (< 2^53): values past +-2^53 behave as +-2^53. */
function clampLong(v: bigint): number {
  return Number(v > I53 ? I53 : v < -I53 ? -I53 : v);
}

/** An index or range bound (getLongFromObjectOrReply). */
function indexArg(b: Buffer): number {
  return clampLong(i64Arg(b));
}

/** getRangeLongFromObjectOrReply(min..LONG_MAX) with its message for non-integers and values below `min` alike. */
function atLeastArg(b: Buffer, min: bigint, msg: string): number {
  const v = parseI64(b);
  if (v === null || v < min) throw new CommandError(msg);
  return clampLong(v);
}

/** LEFT | RIGHT (getListPositionFromObjectOrReply). */
function endArg(b: Buffer): End {
  const s = lower(b);
  if (s === 'left') return 'left';
  if (s === 'right') return 'right';
  throw new CommandError(E.SYNTAX);
}

/**
 * Redis' conversion of a start/end pair (LRANGE, LTRIM): negative values count from the end,
 * the start is clamped at 0 and the end at the last element. The positions [from, to) they
 * name, or null when that range is empty.
 */
function listRange(start: number, end: number, len: number): [number, number] | null {
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (start > end || start >= len) return null;
  if (end >= len) end = len - 1;
  return [start, end + 1];
}

/** A position argument of LINDEX/LSET: the position it names, or -1 when out of range. */
function positionOf(index: number, len: number): number {
  const p = index < 0 ? index + len : index;
  return p >= 0 && p < len ? p : -1;
}

// ---------------------------------------------------------------- replies and lookups

function replyElements(w: ReplyWriter, items: readonly Buffer[]): void {
  w.array(items.length);
  for (const v of items) w.bulk(v);
}

/** LMPOP's reply: the key, then the elements popped from it. */
function replyKeyElements(w: ReplyWriter, key: Buffer, items: readonly Buffer[]): void {
  w.array(2);
  w.bulk(key);
  replyElements(w, items);
}

function readList(c: ShardCall): List | null {
  return List.find(c, c.args[1]!, true);
}

function writeList(c: ShardCall): List | null {
  return List.find(c, c.args[1]!, false);
}

// ---------------------------------------------------------------- push / pop

/** LPUSH/RPUSH, and with `onlyExisting` LPUSHX/RPUSHX (0 when the key is missing). */
function pushCommand(end: End, onlyExisting: boolean): ShardHandler {
  return (c) => {
    const l = onlyExisting ? writeList(c) : List.findOrCreate(c, c.args[1]!);
    if (l === null) return c.w.int(0);
    for (let i = 2; i < c.args.length; i++) l.push(end, c.args[i]!);
    l.save();
    c.w.int(l.length);
  };
}

/**
 * LPOP/RPOP key [count]: one element as a bulk string (nil when missing), or with a count an
 * array (a null array when the key is missing, an empty one for count 0), as Redis 7.0.
 */
function popCommand(name: string, end: End): ShardHandler {
  return (c) => {
    if (c.args.length > 3) throw new CommandError(E.WRONG_ARGS(name));
    const count = c.args.length === 3 ? atLeastArg(c.args[2]!, 0n, LE.MUST_BE_POSITIVE) : null;
    const l = writeList(c);
    if (l === null) return count === null ? c.w.nil() : c.w.nilArray();
    if (count === null) {
      const [v] = l.pop(end, 1);
      l.save();
      return c.w.bulk(v!);
    }
    const items = l.pop(end, Math.min(count, l.length));
    l.save();
    replyElements(c.w, items);
  };
}

// ---------------------------------------------------------------- reads

function lindex(c: ShardCall): void {
  // As Redis: the key is looked up before the index is parsed.
  const l = readList(c);
  if (l === null) return c.w.nil();
  const p = positionOf(indexArg(c.args[2]!), l.length);
  if (p < 0) return c.w.nil();
  c.w.bulk(l.get(p));
}

function lrange(c: ShardCall): void | Promise<void> {
  const start = indexArg(c.args[2]!);
  const end = indexArg(c.args[3]!);
  const l = readList(c);
  const r = l === null ? null : listRange(start, end, l.length);
  if (r === null) return c.w.array(0);
  c.w.array(r[1] - r[0]);
  // The addon writes the elements as RESP itself when it can; else one range read (synchronous
  // with the addon) or, for short ranges with writes pending, point reads.
  const read = l!.writeRange(r[0], r[1], c.w) ?? l!.scan(r[0], r[1], false, (_p, v) => c.w.bulk(v));
  if (read instanceof Promise) return read.then(() => undefined);
}

interface LposOptions {
  /** RANK as given (never 0). */
  rank: bigint;
  /** COUNT, or null when not given (0 = every match). */
  count: number | null;
  /** MAXLEN (0 = no limit). */
  maxlen: number;
}

function parseLpos(args: Buffer[]): LposOptions {
  const o: LposOptions = { rank: 1n, count: null, maxlen: 0 };
  for (let j = 3; j < args.length; j++) {
    const opt = lower(args[j]!);
    const hasValue = j + 1 < args.length;
    if (opt === 'rank' && hasValue) {
      o.rank = i64Arg(args[++j]!);
      if (o.rank === 0n) throw new CommandError(LE.RANK_ZERO);
    } else if (opt === 'count' && hasValue) {
      o.count = atLeastArg(args[++j]!, 0n, LE.COUNT_NEGATIVE);
    } else if (opt === 'maxlen' && hasValue) {
      o.maxlen = atLeastArg(args[++j]!, 0n, LE.MAXLEN_NEGATIVE);
    } else {
      throw new CommandError(E.SYNTAX);
    }
  }
  return o;
}

/**
 * LPOS key element [RANK r] [COUNT n] [MAXLEN m]. Matches are counted with Redis' C long
 * arithmetic, so RANK -9223372036854775808 (whose negation overflows) behaves as in Redis:
 * a search from the right where every match qualifies and COUNT never stops it.
 */
async function lpos(c: ShardCall): Promise<void> {
  const o = parseLpos(c.args);
  const l = readList(c);
  if (l === null) return o.count === null ? c.w.nil() : c.w.array(0);
  const element = c.args[2]!;
  const reverse = o.rank < 0n;
  const rank = reverse ? BigInt.asIntN(64, -o.rank) : o.rank;
  const count = o.count === null ? 0n : BigInt(o.count);
  const n = l.length;
  const scanned = o.maxlen === 0 ? n : Math.min(o.maxlen, n);
  const found: number[] = [];
  let matches = 0n;
  const visit = (pos: number, v: Buffer): boolean => {
    if (!v.equals(element)) return true;
    matches++;
    if (matches < rank) return true;
    found.push(pos);
    if (o.count === null) return false;
    return count === 0n || BigInt.asIntN(64, matches - rank + 1n) < count;
  };
  await l.scan(reverse ? n - scanned : 0, reverse ? n : scanned, reverse, visit);
  if (o.count !== null) return replyPositions(c.w, found);
  if (found.length === 0) c.w.nil();
  else c.w.int(found[0]!);
}

function replyPositions(w: ReplyWriter, positions: readonly number[]): void {
  w.array(positions.length);
  for (const p of positions) w.int(p);
}

// ---------------------------------------------------------------- writes in place

function lset(c: ShardCall): void {
  const l = writeList(c);
  if (l === null) throw new CommandError(E.NO_SUCH_KEY);
  const p = positionOf(indexArg(c.args[2]!), l.length);
  if (p < 0) throw new CommandError(LE.INDEX_RANGE);
  l.set(p, c.args[3]!);
  c.w.ok();
}

/** LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the pivot, 0 without the key. */
async function linsert(c: ShardCall): Promise<void> {
  const where = lower(c.args[2]!);
  if (where !== 'before' && where !== 'after') throw new CommandError(E.SYNTAX);
  const l = writeList(c);
  if (l === null) return c.w.int(0);
  const pivot = c.args[3]!;
  let at = -1;
  await l.scan(0, l.length, false, (pos, v) => {
    if (!v.equals(pivot)) return true;
    at = pos;
    return false;
  });
  if (at < 0) return c.w.int(-1);
  await l.insert(where === 'before' ? at : at + 1, c.args[4]!);
  l.save();
  c.w.int(l.length);
}

/** LREM key count element: count > 0 from the left, < 0 from the right, 0 every match. */
async function lrem(c: ShardCall): Promise<void> {
  const count = i64Arg(c.args[2]!);
  const l = writeList(c);
  if (l === null) return c.w.int(0);
  const element = c.args[3]!;
  // |LONG_MIN| is past any list size, as the overflowed -LONG_MIN is in Redis: remove every match.
  const wanted = count < 0n ? -count : count;
  const positions: number[] = [];
  await l.scan(0, l.length, count < 0n, (pos, v) => {
    if (!v.equals(element)) return true;
    positions.push(pos);
    return wanted === 0n || BigInt(positions.length) < wanted;
  });
  if (positions.length > 0) {
    if (count < 0n) positions.reverse();
    await l.removeAt(positions);
    l.save();
  }
  c.w.int(positions.length);
}

function ltrim(c: ShardCall): void {
  const start = indexArg(c.args[2]!);
  const end = indexArg(c.args[3]!);
  const l = writeList(c);
  if (l !== null) {
    const r = listRange(start, end, l.length) ?? [0, 0];
    l.trim(r[0], r[1]);
    l.save();
  }
  c.w.ok();
}

// ---------------------------------------------------------------- LMOVE / RPOPLPUSH

/**
 * One element from the `from` end of src to the `to` end of dst, on one shard (src == dst
 * rotates). Redis' order: a missing source replies nil before the destination's type counts.
 */
function lmoveOnShard(c: ShardCall, from: End, to: End): void {
  const srcKey = c.args[1]!;
  const dstKey = c.args[2]!;
  const src = List.find(c, srcKey, false);
  if (src === null) return c.w.nil();
  const dst = srcKey.equals(dstKey) ? src : List.findOrCreate(c, dstKey);
  const [v] = src.pop(from, 1);
  dst.push(to, v!);
  src.save();
  if (dst !== src) dst.save();
  c.w.bulk(v!);
}

/** What __ltypes reports for a key. */
const Kind = { MISSING: 0, LIST: 1, OTHER: 2 } as const;

async function kindsOn(c: FrontCall, shard: number, keys: Buffer[]): Promise<number[]> {
  const r = parseReply(await c.ctx.server.callShard(shard, c.ctx.client.db, ['__ltypes', ...keys]));
  throwIfError(r);
  return r as number[];
}

function throwIfError(r: RespValue): void {
  if (r instanceof ReplyErr) throw new CommandError(r.message);
}

/** __lpopn on `shard`: the popped elements, or null when the key is missing. */
async function popOn(c: FrontCall, shard: number, key: Buffer, end: End, count: number): Promise<Buffer[] | null> {
  const r = parseReply(await c.ctx.server.callShard(shard, c.ctx.client.db, ['__lpopn', key, end, String(count)]));
  throwIfError(r);
  return r as Buffer[] | null;
}

/**
 * LMOVE between two shards, with both reserved: check both types, read the element, then push it
 * on one and pop it on the other as one cross-shard write (src/server/cross-write.ts).
 */
async function lmoveAcross(c: FrontCall, from: End, to: End): Promise<void> {
  const { server } = c.ctx;
  const db = c.ctx.client.db;
  const srcKey = c.args[1]!;
  const dstKey = c.args[2]!;
  const a = server.shardOf(srcKey);
  const b = server.shardOf(dstKey);
  await server.coord.withShards([a, b], async () => {
    const [[src], [dst]] = await Promise.all([kindsOn(c, a, [srcKey]), kindsOn(c, b, [dstKey])]);
    if (src === Kind.MISSING) return c.w.nil();
    if (src === Kind.OTHER || dst === Kind.OTHER) throw new CommandError(E.WRONGTYPE);
    const v = parseReply(await server.callShard(a, db, ['__lpeek', srcKey, from]));
    throwIfError(v);
    if (v === null) return c.w.nil(); // expired between the two calls
    const push = { shard: b, db, args: ['__lpush', dstKey, to, v as Buffer] };
    firstError(await crossWrite(server, push, [{ shard: a, db, args: ['__lpopn', srcKey, from, '1'] }]));
    c.w.bulk(v as Buffer);
  });
}

function lmoveEnds(c: { args: Buffer[] }): [End, End] {
  return [endArg(c.args[3]!), endArg(c.args[4]!)];
}

// ---------------------------------------------------------------- LMPOP

interface LmpopArgs {
  /** Indices into args of the keys. */
  keys: number[];
  end: End;
  count: number;
}

/** LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count], checked in Redis' order. */
function parseLmpop(args: Buffer[]): LmpopArgs {
  const numkeys = atLeastArg(args[1]!, 1n, LE.NUMKEYS);
  const whereIdx = 1 + numkeys + 1;
  if (whereIdx >= args.length) throw new CommandError(E.SYNTAX);
  const end = endArg(args[whereIdx]!);
  let count = -1;
  for (let j = whereIdx + 1; j < args.length; j++) {
    if (count === -1 && lower(args[j]!) === 'count' && j + 1 < args.length) {
      count = atLeastArg(args[++j]!, 1n, LE.COUNT_POSITIVE);
    } else {
      throw new CommandError(E.SYNTAX);
    }
  }
  const keys: number[] = [];
  for (let i = 2; i < whereIdx; i++) keys.push(i);
  return { keys, end, count: count === -1 ? 1 : count };
}

/** Key positions of LMPOP for routing: none when numkeys is not valid (the handler replies the error). */
function lmpopKeys(args: Buffer[]): number[] {
  const n = args.length > 1 ? cAtoi(args[1]!) : 0; // as Redis' key functions read numkeys
  if (n < 1 || n > args.length - 2) return [];
  const keys: number[] = [];
  for (let i = 2; i < 2 + n; i++) keys.push(i);
  return keys;
}

/** Pops from the first non-empty list among the keys, in argument order; a key of another type before it is WRONGTYPE. */
function lmpopOnShard(c: ShardCall): void {
  const o = parseLmpop(c.args);
  for (const p of o.keys) {
    const l = List.find(c, c.args[p]!, false);
    if (l === null) continue;
    const items = l.pop(o.end, Math.min(o.count, l.length));
    l.save();
    return replyKeyElements(c.w, c.args[p]!, items);
  }
  c.w.nilArray();
}

/**
 * LMPOP over keys on several shards, all reserved: ask every shard for the types of its keys
 * (all in one step), then pop from the first key in argument order that holds something.
 */
async function lmpopAcross(c: FrontCall): Promise<void> {
  const o = parseLmpop(c.args);
  const { server } = c.ctx;
  const shards = partsByShard(c, o.keys).map((p) => p.shard);
  await server.coord.withShards(shards, async () => {
    // A key that expires between the two steps is skipped like a missing one.
    for (let first = 0; first < o.keys.length;) {
      const positions = o.keys.slice(first);
      const parts = partsByShard(c, positions);
      const replies = await sendParts(c, '__ltypes', parts);
      firstError(replies);
      const kinds = new Map<number, number>();
      parts.forEach((part, i) => part.positions.forEach((pos, j) => kinds.set(pos, (replies[i] as number[])[j]!)));
      const at = positions.findIndex((pos) => kinds.get(pos) !== Kind.MISSING);
      if (at < 0) break;
      const pos = positions[at]!;
      if (kinds.get(pos) === Kind.OTHER) throw new CommandError(E.WRONGTYPE);
      const key = c.args[pos]!;
      const items = await popOn(c, server.shardOf(key), key, o.end, o.count);
      if (items !== null) return replyKeyElements(c.w, key, items);
      first += at + 1;
    }
    c.w.nilArray();
  });
}

// ---------------------------------------------------------------- the table

const { RW_FAST, RO_SLOW, RW_SLOW, W_FAST: POP_FAST, W_SLOW: DEL_SLOW } = accessSets('list');
const INTERNAL = { acl: [], keys: null, internal: true } as const;

export const listCommands: readonly CommandSpec[] = [
  command({
    name: 'lpush', arity: -3, ...RW_FAST, keys: oneKey,
    shard: pushCommand('left', false),
  }),
  command({
    name: 'rpush', arity: -3, ...RW_FAST, keys: oneKey,
    shard: pushCommand('right', false),
  }),
  command({
    name: 'lpushx', arity: -3, ...RW_FAST, keys: oneKey,
    shard: pushCommand('left', true),
  }),
  command({
    name: 'rpushx', arity: -3, ...RW_FAST, keys: oneKey,
    shard: pushCommand('right', true),
  }),
  command({
    name: 'lpop', arity: -2, ...POP_FAST, keys: oneKey,
    shard: popCommand('lpop', 'left'),
  }),
  command({
    name: 'rpop', arity: -2, ...POP_FAST, keys: oneKey,
    shard: popCommand('rpop', 'right'),
  }),
  command({
    name: 'llen', arity: 2, flags: ['readonly', 'fast'], acl: ['read', 'list', 'fast'], keys: oneKey,
    shard: (c) => c.w.int(readList(c)?.length ?? 0),
  }),
  command({
    name: 'lindex', arity: 3, ...RO_SLOW, keys: oneKey,
    shard: lindex,
  }),
  command({
    name: 'lrange', arity: 4, ...RO_SLOW, keys: oneKey,
    shard: lrange,
  }),
  command({
    name: 'lset', arity: 4, ...RW_SLOW, keys: oneKey,
    shard: lset,
  }),
  command({
    name: 'linsert', arity: 5, ...RW_SLOW, keys: oneKey,
    shard: linsert,
  }),
  command({
    name: 'lrem', arity: 4, ...DEL_SLOW, keys: oneKey,
    shard: lrem,
  }),
  command({
    name: 'ltrim', arity: 4, ...DEL_SLOW, keys: oneKey,
    shard: ltrim,
  }),
  command({
    name: 'lpos', arity: -3, ...RO_SLOW, keys: oneKey,
    shard: lpos,
  }),
  command({
    name: 'lmove', arity: 5, ...RW_SLOW, keys: twoKeys,
    shard: (c) => lmoveOnShard(c, ...lmoveEnds(c)),
    front: (c) => lmoveAcross(c, ...lmoveEnds(c)),
    coordinated: true,
  }),
  command({
    name: 'rpoplpush', arity: 3, ...RW_SLOW, keys: twoKeys,
    shard: (c) => lmoveOnShard(c, 'right', 'left'),
    front: (c) => lmoveAcross(c, 'right', 'left'),
    coordinated: true,
  }),
  command({
    name: 'lmpop', arity: -4, flags: ['write'], acl: ['write', 'list', 'slow'], keys: null, keyFn: lmpopKeys,
    shard: lmpopOnShard,
    front: lmpopAcross,
    coordinated: true,
  }),
  // Internal: the shard halves of LMOVE/RPOPLPUSH/LMPOP across shards.
  command({
    name: '__ltypes', arity: -2, flags: ['readonly'], ...INTERNAL,
    shard: (c) => {
      c.w.array(c.args.length - 1);
      for (let i = 1; i < c.args.length; i++) {
        const m = c.store.lookup(c.db, c.args[i]!);
        c.w.int(m === null ? Kind.MISSING : m.type === Type.LIST ? Kind.LIST : Kind.OTHER);
      }
    },
  }),
  command({
    name: '__lpopn', arity: 4, flags: ['write'], ...INTERNAL,
    shard: (c) => {
      const end = endArg(c.args[2]!);
      const count = atLeastArg(c.args[3]!, 1n, LE.COUNT_POSITIVE);
      const l = writeList(c);
      if (l === null) return c.w.nilArray();
      const items = l.pop(end, Math.min(count, l.length));
      l.save();
      replyElements(c.w, items);
    },
  }),
  command({
    name: '__lpeek', arity: 3, flags: ['readonly'], ...INTERNAL,
    shard: (c) => {
      const end = endArg(c.args[2]!);
      const l = writeList(c);
      if (l === null || l.length === 0) return c.w.nil();
      c.w.bulk(l.get(end === 'left' ? 0 : l.length - 1));
    },
  }),
  command({
    name: '__lpush', arity: 4, flags: ['write'], ...INTERNAL,
    shard: (c) => {
      const end = endArg(c.args[2]!);
      const l = List.findOrCreate(c, c.args[1]!);
      l.push(end, c.args[3]!);
      l.save();
      c.w.int(l.length);
    },
  }),
];
