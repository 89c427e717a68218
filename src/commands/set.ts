/**
 * Set commands (Redis 7.0). A set is a collection (src/storage/collection.ts): one meta record plus
 * one sub-key per member (member -> empty value) under the set's current version, so a set can be
 * far larger than memory and DEL/overwrite/expiry of one is O(1).
 *
 * Where they run:
 *  - Point commands (SADD, SREM, SISMEMBER, SMISMEMBER, SCARD, SMOVE on one shard) run
 *    synchronously on the shard through the pending-write overlay.
 *  - Commands that walk a set (SMEMBERS, SSCAN, SPOP, SRANDMEMBER, and SINTER/SUNION/SDIFF/
 *    SINTERCARD and the STORE forms when all their keys are on one shard) are async shard handlers
 *    streaming from LevelDB (set-ops.ts): SINTER iterates the smallest set and probes the others
 *    with point reads, SUNION merges the sets' member streams, SDIFF picks Redis' algorithm.
 *  - Keys on several shards:
 *      SINTER/SUNION/SDIFF/SINTERCARD: one-shot reads. The front sends __setread to every shard
 *        involved before its first await (atomic by per-shard FIFO order); each shard returns its
 *        keys' partial result as a sorted list (SDIFF: the first key's shard subtracts its other
 *        keys, every other shard returns the union of its keys), and the front combines them.
 *      SINTERSTORE/SUNIONSTORE/SDIFFSTORE: coordinated. With the shards reserved, the same reads,
 *        then __setstore replaces the destination with a new version (the old one becomes garbage).
 *      SMOVE: coordinated: __settype on the destination, __smovecheck on the source (Redis' checks
 *        in Redis' order), then SADD on the destination and SREM on the source as one cross-shard
 *        write (src/server/cross-write.ts).
 *
 * Replies: members come in byte order (Redis' order is its hash table's, unspecified). SMEMBERS,
 * SINTER, SUNION, SDIFF and SPOP with a count reply with RESP3 sets; SRANDMEMBER with a count,
 * SMISMEMBER and SSCAN with arrays, as Redis 7.0 does. SSCAN uses the collection layer's cursors
 * (sets up to 128 members come back whole with cursor 0).
 */
import { accessSets, command, oneKey, allKeys, twoKeys, type CommandSpec, type FrontCall, type ShardCall } from './types.js';
import { CommandError, E } from './errors.js';
import { i64Arg, lower } from './args.js';
import { partsByShard, firstError, restArePositions } from './fanout.js';
import { crossWrite } from '../server/cross-write.js';
import { MAX_RANDOM_REPLY } from './hash.js';
import { parseI64, cAtoi } from '../util/number.js';
import { ReplyWriter } from '../server/resp/writer.js';
import { parseReply, ReplyErr, type RespValue } from '../server/resp/reply-parser.js';
import { Type } from '../storage/encoding.js';
import {
  Collection, parseScanCursor, parseScanOptions, scanPage, randomBelow, distinctPositions, positionsWithReplacement, shuffle,
} from '../storage/collection.js';
import {
  type SetOp, lookupSets, setAlgebra, memberAt, intersectSorted, unionSorted, diffSorted,
} from './set-ops.js';

/** Exact Redis texts used only by this family. */
export const SE = {
  POSITIVE: 'ERR value is out of range, must be positive',
  COUNT_RANGE: 'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807',
  OUT_OF_RANGE: 'ERR value is out of range',
  NUMKEYS: 'ERR numkeys should be greater than 0',
  TOO_MANY_KEYS: "ERR Number of keys can't be greater than number of args",
  LIMIT_NEGATIVE: "ERR LIMIT can't be negative",
} as const;

const I64_MAX = 9223372036854775807n;
const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------- lookups

/** The set at args[i] for a read command (counts keyspace hits/misses), or null; WRONGTYPE for another type. */
function readSet(c: ShardCall, i = 1): Collection | null {
  return Collection.find(c, c.args[i]!, Type.SET, true);
}

/** The set at args[i] for a write command, or null. */
function findSetForWrite(c: ShardCall, i = 1): Collection | null {
  return Collection.find(c, c.args[i]!, Type.SET, false);
}

// ---------------------------------------------------------------- point commands

function sadd(c: ShardCall): void {
  const s = Collection.findOrCreate(c, c.args[1]!, Type.SET);
  let added = 0;
  for (let i = 2; i < c.args.length; i++) if (s.set(c.args[i]!, EMPTY)) added++;
  s.save();
  c.w.int(added);
}

function srem(c: ShardCall): void {
  const s = findSetForWrite(c);
  if (s === null) return c.w.int(0);
  let removed = 0;
  for (let i = 2; i < c.args.length; i++) if (s.delete(c.args[i]!)) removed++;
  s.save();
  c.w.int(removed);
}

function smismember(c: ShardCall): void {
  const s = readSet(c);
  c.w.array(c.args.length - 2);
  for (let i = 2; i < c.args.length; i++) c.w.int(s?.has(c.args[i]!) ? 1 : 0);
}

/** SMOVE with both keys on this shard (smoveCommand). */
function smove(c: ShardCall): void {
  const member = c.args[3]!;
  // As Redis: a missing source answers 0 before the destination's type is looked at.
  const src = findSetForWrite(c, 1);
  if (src === null) return c.w.int(0);
  const dst = findSetForWrite(c, 2);
  if (c.args[1]!.equals(c.args[2]!)) return c.w.int(src.has(member) ? 1 : 0);
  if (!src.delete(member)) return c.w.int(0);
  src.save();
  const target = dst ?? Collection.create(c, c.args[2]!, Type.SET, null);
  target.set(member, EMPTY);
  target.save();
  c.w.int(1);
}

// ---------------------------------------------------------------- whole-set reads

/** Streams every member of `s` (size known up front) after a header written by `header`. */
async function streamAll(c: ShardCall, s: Collection, header: (n: number) => void): Promise<void> {
  header(s.size);
  const n = await (s.writeRange({ values: false }, c.w) ?? s.forEach({ values: false }, (m) => c.w.bulk(m)));
  // The header promised `size` members: a disagreement must not reach the client as a broken reply.
  if (n !== s.size) throw new Error(`set size ${s.size} disagrees with its ${n} members`);
}

async function smembers(c: ShardCall): Promise<void> {
  const s = readSet(c);
  if (s === null) return c.w.set(0);
  await streamAll(c, s, (n) => c.w.set(n));
}

async function sscan(c: ShardCall): Promise<void> {
  // As Redis: the cursor is checked first, then the key, and the options only for a set.
  const cursor = parseScanCursor(c.args[2]!);
  const s = readSet(c);
  c.w.array(2);
  if (s === null) {
    c.w.bulk('0');
    c.w.array(0);
    return;
  }
  const page = await scanPage(s, cursor, parseScanOptions(c.args, 3));
  c.w.bulk(page.cursor.toString());
  c.w.array(page.subs.length);
  for (const m of page.subs) c.w.bulk(m);
}

// ---------------------------------------------------------------- SPOP / SRANDMEMBER

/** `count` distinct members of `s` (count < size), read in one pass, in random order. */
async function distinctMembers(s: Collection, count: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  await s.atPositions(distinctPositions(s.size, count), (_i, m) => out.push(m), false);
  return shuffle(out);
}

async function spop(c: ShardCall): Promise<void> {
  if (c.args.length > 3) throw new CommandError(E.SYNTAX);
  if (c.args.length === 3) return spopWithCount(c);
  const s = findSetForWrite(c);
  if (s === null) return c.w.nil();
  const m = await memberAt(s, randomBelow(s.size));
  s.delete(m);
  s.save();
  c.w.bulk(m);
}

/** SPOP key count (spopWithCountCommand). */
async function spopWithCount(c: ShardCall): Promise<void> {
  const l = i64Arg(c.args[2]!, SE.POSITIVE);
  if (l < 0n) throw new CommandError(SE.POSITIVE);
  const s = findSetForWrite(c);
  if (s === null || l === 0n) return c.w.set(0);
  if (l >= BigInt(s.size)) {
    // The whole set: streamed out, then dropped in O(1) (its sub-keys go to the sweep).
    await streamAll(c, s, (n) => c.w.set(n));
    c.store.deleteKey(c.db, s.key, s.meta);
    return;
  }
  const members = await distinctMembers(s, Number(l));
  c.w.set(members.length);
  for (const m of members) {
    c.w.bulk(m);
    s.delete(m);
  }
  s.save();
}

async function srandmember(c: ShardCall): Promise<void> {
  if (c.args.length > 3) throw new CommandError(E.SYNTAX);
  if (c.args.length === 3) return srandmemberWithCount(c);
  const s = readSet(c);
  if (s === null) return c.w.nil();
  c.w.bulk(await memberAt(s, randomBelow(s.size)));
}

/** SRANDMEMBER key count (srandmemberWithCountCommand): count < 0 allows repeats. */
async function srandmemberWithCount(c: ShardCall): Promise<void> {
  const l = i64Arg(c.args[2]!);
  if (l < -I64_MAX) throw new CommandError(SE.COUNT_RANGE);
  const s = readSet(c);
  if (s === null || l === 0n) return c.w.array(0);
  const size = s.size;
  if (l < 0n) {
    // Cairn's bound on one reply (Redis builds any; see hash.ts MAX_RANDOM_REPLY).
    if (-l > BigInt(MAX_RANDOM_REPLY)) throw new CommandError(SE.OUT_OF_RANGE);
    return randomWithRepeats(c, s, Number(-l));
  }
  if (l >= BigInt(size)) return streamAll(c, s, (n) => c.w.array(n));
  const members = await distinctMembers(s, Number(l));
  c.w.array(members.length);
  for (const m of members) c.w.bulk(m);
}

/** `count` independent uniform picks, in the order drawn. */
async function randomWithRepeats(c: ShardCall, s: Collection, count: number): Promise<void> {
  const size = s.size;
  c.w.array(count);
  if (count >= size) {
    // The reply holds at least as many members as the set: read it once and draw from memory.
    const { subs } = await s.read({ values: false });
    if (subs.length !== size) throw new Error(`set size ${size} disagrees with its ${subs.length} members`);
    for (let i = 0; i < count; i++) c.w.bulk(subs[randomBelow(size)]!);
    return;
  }
  const { sorted, order } = positionsWithReplacement(size, count);
  const picked: Buffer[] = new Array(count);
  await s.atPositions(sorted, (r, m) => (picked[r] = m), false);
  for (let i = 0; i < count; i++) c.w.bulk(picked[order[i]!]!);
}

// ---------------------------------------------------------------- SINTER / SUNION / SDIFF on one shard

/** The result of `op` over the sets at `keys` as a set reply (members buffered to learn the count first). */
async function replyAlgebra(c: ShardCall, op: SetOp, keys: readonly Buffer[]): Promise<void> {
  const sets = lookupSets(c, keys);
  const body = new ReplyWriter(4096);
  let n = 0;
  await setAlgebra(op, sets, (m) => {
    body.bulk(m);
    n++;
  });
  c.w.set(n);
  c.w.raw(body.buf.subarray(0, body.len));
}

/** SINTERSTORE/SUNIONSTORE/SDIFFSTORE on one shard: the result replaces args[1] as a new version. */
async function storeAlgebra(c: ShardCall, op: SetOp): Promise<void> {
  const sets = lookupSets(c, c.args.slice(2));
  const dst = Collection.create(c, c.args[1]!, Type.SET, c.store.lookup(c.db, c.args[1]!));
  // Members come out distinct: no existence check per write.
  await setAlgebra(op, sets, (m) => dst.put(m, EMPTY, false));
  // An empty result deletes the destination (save() of an empty new version).
  dst.save();
  c.w.int(dst.size);
}

// ---------------------------------------------------------------- SINTERCARD

interface SintercardArgs {
  numkeys: number;
  /** 0: no limit. */
  limit: number;
}

/** SINTERCARD numkeys key [key ...] [LIMIT limit], checked in Redis' order (sinterCardCommand). */
function parseSintercard(args: Buffer[]): SintercardArgs {
  const n = parseI64(args[1]!);
  if (n === null || n < 1n) throw new CommandError(SE.NUMKEYS);
  if (n > BigInt(args.length - 2)) throw new CommandError(SE.TOO_MANY_KEYS);
  const numkeys = Number(n);
  let limit = 0;
  for (let j = 2 + numkeys; j < args.length; j++) {
    if (lower(args[j]!) === 'limit' && j + 1 < args.length) {
      const v = parseI64(args[++j]!);
      if (v === null || v < 0n) throw new CommandError(SE.LIMIT_NEGATIVE);
      // Any limit past what a set can hold is no limit.
      limit = v > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(v);
    } else {
      throw new CommandError(E.SYNTAX);
    }
  }
  return { numkeys, limit };
}

/** Key positions of SINTERCARD; none when numkeys is invalid (the front handler then replies the error). */
function sintercardKeys(args: Buffer[]): number[] {
  const n = cAtoi(args[1]!); // as Redis' key functions read numkeys
  if (n < 1 || n > args.length - 2) return [];
  return restArePositions(args.slice(0, 2 + n), 2);
}

async function sintercard(c: ShardCall): Promise<void> {
  const { numkeys, limit } = parseSintercard(c.args);
  const sets = lookupSets(c, c.args.slice(2, 2 + numkeys));
  let n = 0;
  await setAlgebra('inter', sets, () => {
    n++;
    return limit === 0 || n < limit;
  });
  c.w.int(n);
}

// ---------------------------------------------------------------- keys on several shards (front thread)

/**
 * One-shot read of `op` over the keys at `positions`: one __setread per shard, all sent before the
 * first await; the partial results (sorted lists) are combined here. For SDIFF the shard holding
 * the first key subtracts its own other keys, and every other shard returns the union of its keys.
 */
async function readAcross(c: FrontCall, op: SetOp, positions: number[]): Promise<Buffer[]> {
  const { server, client } = c.ctx;
  const parts = partsByShard(c, positions);
  // partsByShard keeps the order of first appearance: parts[0] holds the first key, first.
  const calls = parts.map((p, i) => {
    const partOp: SetOp = op === 'diff' && i > 0 ? 'union' : op;
    return server.callShard(p.shard, client.db, ['__setread', partOp, ...p.positions.map((pos) => c.args[pos]!)]);
  });
  const replies = (await Promise.all(calls)).map(parseReply);
  firstError(replies);
  const lists = replies as Buffer[][];
  if (op === 'inter') return intersectSorted(lists);
  if (op === 'union') return unionSorted(lists);
  return diffSorted(lists[0]!, unionSorted(lists.slice(1)));
}

function readFront(op: SetOp) {
  return async (c: FrontCall): Promise<void> => {
    const members = await readAcross(c, op, restArePositions(c.args, 1));
    c.w.set(members.length);
    for (const m of members) c.w.bulk(m);
  };
}

/** SINTERSTORE/SUNIONSTORE/SDIFFSTORE across shards: reserve them, read the sources, replace the destination. */
function storeFront(op: SetOp) {
  return async (c: FrontCall): Promise<void> => {
    const { server, client } = c.ctx;
    const dst = c.args[1]!;
    const dstShard = server.shardOf(dst);
    const positions = restArePositions(c.args, 2);
    const shards = [...new Set([dstShard, ...positions.map((p) => server.shardOf(c.args[p]!))])];
    await server.coord.withShards(shards, async () => {
      const members = await readAcross(c, op, positions);
      c.w.int(expectInt(parseReply(await server.callShard(dstShard, client.db, ['__setstore', dst, ...members]))));
    });
  };
}

async function sintercardFront(c: FrontCall): Promise<void> {
  const { numkeys, limit } = parseSintercard(c.args);
  const n = (await readAcross(c, 'inter', restArePositions(c.args.slice(0, 2 + numkeys), 2))).length;
  c.w.int(limit === 0 ? n : Math.min(n, limit));
}

/** SMOVE between shards: Redis' checks in Redis' order, then the removal, then the addition. */
async function smoveFront(c: FrontCall): Promise<void> {
  const { server, client } = c.ctx;
  const [src, dst, member] = [c.args[1]!, c.args[2]!, c.args[3]!];
  const a = server.shardOf(src);
  const b = server.shardOf(dst);
  await server.coord.withShards([a, b], async () => {
    const dstType = expectInt(parseReply(await server.callShard(b, client.db, ['__settype', dst])));
    const moves = expectInt(parseReply(await server.callShard(a, client.db, ['__smovecheck', src, member, String(dstType)])));
    if (moves === 1) {
      const add = { shard: b, db: client.db, args: ['sadd', dst, member] };
      firstError(await crossWrite(server, add, [{ shard: a, db: client.db, args: ['srem', src, member] }]));
    }
    c.w.int(moves);
  });
}

/** An integer reply from a shard; an error reply becomes this command's error. */
function expectInt(r: RespValue): number {
  if (r instanceof ReplyErr) throw new CommandError(r.message);
  if (typeof r !== 'number') throw new Error(`expected an integer reply from a shard, got ${String(r)}`);
  return r;
}

/** __settype's answer for a key: missing, a set, or another type. */
const DST_MISSING = 0;
const DST_SET = 1;
const DST_OTHER = 2;

// ---------------------------------------------------------------- the table

const { RW_FAST, W_FAST, RW_SLOW, RO_FAST, RO_SLOW } = accessSets('set');

export const setCommands: readonly CommandSpec[] = [
  command({
    name: 'sadd', arity: -3, ...RW_FAST, keys: oneKey,
    shard: sadd,
  }),
  command({
    name: 'srem', arity: -3, ...W_FAST, keys: oneKey,
    shard: srem,
  }),
  command({
    name: 'smembers', arity: 2, ...RO_SLOW, keys: oneKey,
    shard: smembers,
  }),
  command({
    name: 'sismember', arity: 3, ...RO_FAST, keys: oneKey,
    shard: (c) => c.w.int(readSet(c)?.has(c.args[2]!) ? 1 : 0),
  }),
  command({
    name: 'smismember', arity: -3, ...RO_FAST, keys: oneKey,
    shard: smismember,
  }),
  command({
    name: 'scard', arity: 2, ...RO_FAST, keys: oneKey,
    shard: (c) => c.w.int(readSet(c)?.size ?? 0),
  }),
  command({
    name: 'spop', arity: -2, ...W_FAST, keys: oneKey,
    shard: spop,
  }),
  command({
    name: 'srandmember', arity: -2, ...RO_SLOW, keys: oneKey,
    shard: srandmember,
  }),
  command({
    name: 'smove', arity: 4, ...W_FAST, keys: twoKeys, coordinated: true,
    shard: smove, front: smoveFront,
  }),
  command({
    name: 'sinter', arity: -2, ...RO_SLOW, keys: allKeys,
    shard: (c) => replyAlgebra(c, 'inter', c.args.slice(1)), front: readFront('inter'),
  }),
  command({
    name: 'sintercard', arity: -3, ...RO_SLOW, keys: null, keyFn: sintercardKeys,
    shard: sintercard, front: sintercardFront,
  }),
  command({
    name: 'sinterstore', arity: -3, ...RW_SLOW, keys: allKeys, coordinated: true,
    shard: (c) => storeAlgebra(c, 'inter'), front: storeFront('inter'),
  }),
  command({
    name: 'sunion', arity: -2, ...RO_SLOW, keys: allKeys,
    shard: (c) => replyAlgebra(c, 'union', c.args.slice(1)), front: readFront('union'),
  }),
  command({
    name: 'sunionstore', arity: -3, ...RW_SLOW, keys: allKeys, coordinated: true,
    shard: (c) => storeAlgebra(c, 'union'), front: storeFront('union'),
  }),
  command({
    name: 'sdiff', arity: -2, ...RO_SLOW, keys: allKeys,
    shard: (c) => replyAlgebra(c, 'diff', c.args.slice(1)), front: readFront('diff'),
  }),
  command({
    name: 'sdiffstore', arity: -3, ...RW_SLOW, keys: allKeys, coordinated: true,
    shard: (c) => storeAlgebra(c, 'diff'), front: storeFront('diff'),
  }),
  command({
    name: 'sscan', arity: -3, ...RO_SLOW, keys: oneKey,
    shard: sscan,
  }),
  // ------------------------------------------------ internal helpers of the cross-shard forms
  command({
    name: '__setread', arity: -3, flags: ['readonly'], acl: [], keys: null, internal: true,
    shard: (c) => replyAlgebra(c, lower(c.args[1]!) as SetOp, c.args.slice(2)),
  }),
  command({
    name: '__setstore', arity: -2, flags: ['write', 'denyoom'], acl: [], keys: null, internal: true,
    shard: (c) => {
      const dst = Collection.create(c, c.args[1]!, Type.SET, c.store.lookup(c.db, c.args[1]!));
      for (let i = 2; i < c.args.length; i++) dst.put(c.args[i]!, EMPTY, false);
      dst.save();
      c.w.int(dst.size);
    },
  }),
  command({
    name: '__settype', arity: 2, flags: ['readonly', 'fast'], acl: [], keys: null, internal: true,
    shard: (c) => {
      const m = c.store.lookup(c.db, c.args[1]!);
      c.w.int(m === null ? DST_MISSING : m.type === Type.SET ? DST_SET : DST_OTHER);
    },
  }),
  command({
    name: '__smovecheck', arity: 4, flags: ['write', 'fast'], acl: [], keys: null, internal: true,
    shard: (c) => {
      const src = findSetForWrite(c, 1);
      if (src === null) return c.w.int(0);
      if (Number(c.args[3]!.toString('latin1')) === DST_OTHER) throw new CommandError(E.WRONGTYPE);
      c.w.int(src.has(c.args[2]!) ? 1 : 0);
    },
  }),
];
