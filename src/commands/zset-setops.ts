/**
 * ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (Redis 7.0's
 * zunionInterDiffGenericCommand), over sorted sets and plain sets (a set member scores 1).
 *
 * One algorithm serves both places a call can run:
 *  - every key on one shard: the shard handler reads its own collections (sources iterate
 *    through LevelDB, membership probes are point reads);
 *  - keys on several shards: the front handler reads every source whole with the internal
 *    __zread (all reads sent before the first await, so they see one moment of every shard),
 *    computes here, and for the STORE forms writes the result with __zstore while holding the
 *    shards (coordinated), so no command sees the sources change between read and write.
 *
 * Redis' arithmetic is kept exactly: inputs are processed smallest first (a stable sort by size,
 * as glibc's qsort merge sort gives) except for ZDIFF; weight * score of NaN (0 * inf) counts as
 * 0; SUM of inf and -inf is 0; MIN/MAX keep the current value against NaN.
 */
import { CommandError, E } from './errors.js';
import { lower, i64Arg } from './args.js';
import { ZE, scoreArg, scoredHeader, scoredEntry } from './zset-args.js';
import type { FrontCall, ShardCall } from './types.js';
import type { ReplyWriter } from '../server/resp/writer.js';
import { parseReply, ReplyErr, type RespValue } from '../server/resp/reply-parser.js';
import { Collection } from '../storage/collection.js';
import { ZSet, decodeScore } from '../storage/zset-store.js';
import { Type } from '../storage/encoding.js';
import { parseI64, cAtoi } from '../util/number.js';

export type SetOp = 'union' | 'inter' | 'diff';
type Aggregate = 'sum' | 'min' | 'max';

/** One command of this group: which operation, where its numkeys is, and its output. */
export interface SetOpCommand {
  /** The command's name, for "at least 1 input key is needed for '<name>' command". */
  readonly name: string;
  readonly op: SetOp;
  /** ZUNIONSTORE & co.: the destination is args[1] and numkeys args[2]; else numkeys is args[1]. */
  readonly store: boolean;
  /** ZINTERCARD: only the size of the intersection, with LIMIT. */
  readonly cardinality: boolean;
}

interface SetOpOptions {
  weights: number[];
  aggregate: Aggregate;
  withScores: boolean;
  /** ZINTERCARD LIMIT (0: none). */
  limit: number;
}

/** A sorted set (or set) as an input: its size, its entries, and point lookups. */
export interface Source {
  readonly size: number;
  /** The key, to spot the same key given twice (Redis compares the objects). */
  readonly id: string;
  forEach(visit: (member: Buffer, score: number) => void): Promise<void>;
  find(member: Buffer): number | undefined;
}

interface Entry {
  member: Buffer;
  score: number;
}

// ---------------------------------------------------------------- arguments

function numkeysAt(d: SetOpCommand): number {
  return d.store ? 2 : 1;
}

/** Positions of the input keys (errors as Redis: an integer, at least 1, no more than the arguments). */
export function parseInputKeys(args: Buffer[], d: SetOpCommand): number[] {
  const at = numkeysAt(d);
  const n = i64Arg(args[at]!);
  if (n < 1n) throw new CommandError(ZE.NO_INPUT_KEY(d.name));
  if (n > BigInt(args.length - at - 1)) throw new CommandError(E.SYNTAX);
  return Array.from({ length: Number(n) }, (_, i) => at + 1 + i);
}

/** COMMAND key positions: the destination (STORE forms) and the inputs; none when numkeys is unusable. */
export function setOpKeys(d: SetOpCommand): (args: Buffer[]) => number[] {
  return (args) => {
    const at = numkeysAt(d);
    // As Redis 7.0 reads it: a strict integer through the key specs (destination first), anything
    // else through the command's key function, which uses atoi (inputs first, then the destination).
    // Either way the count is cast to a C int.
    const n = args.length > at ? cAtoi(args[at]!) : 0;
    if (n < 1 || n > args.length - at - 1) return [];
    const keys = Array.from({ length: n }, (_, i) => at + 1 + i);
    if (!d.store) return keys;
    return parseI64(args[at]!) !== null ? [1, ...keys] : [...keys, 1];
  };
}

/** The options after the keys, as Redis parses them (after it has looked the keys up). */
function parseOptions(args: Buffer[], from: number, nkeys: number, d: SetOpCommand): SetOpOptions {
  const o: SetOpOptions = { weights: new Array<number>(nkeys).fill(1), aggregate: 'sum', withScores: false, limit: 0 };
  const weighted = d.op !== 'diff' && !d.cardinality;
  for (let j = from; j < args.length;) {
    const remaining = args.length - j;
    const opt = lower(args[j]!);
    if (weighted && remaining >= nkeys + 1 && opt === 'weights') {
      for (let i = 0; i < nkeys; i++) o.weights[i] = scoreArg(args[j + 1 + i]!, ZE.WEIGHT_NOT_FLOAT);
      j += nkeys + 1;
    } else if (weighted && remaining >= 2 && opt === 'aggregate') {
      const a = lower(args[j + 1]!);
      if (a !== 'sum' && a !== 'min' && a !== 'max') throw new CommandError(E.SYNTAX);
      o.aggregate = a;
      j += 2;
    } else if (!d.store && !d.cardinality && opt === 'withscores') {
      o.withScores = true;
      j++;
    } else if (d.cardinality && remaining >= 2 && opt === 'limit') {
      const v = parseI64(args[j + 1]!);
      if (v === null || v < 0n) throw new CommandError(ZE.LIMIT_NEGATIVE);
      o.limit = Number(v);
      j += 2;
    } else {
      throw new CommandError(E.SYNTAX);
    }
  }
  return o;
}

// ---------------------------------------------------------------- the algorithm

/** zunionInterAggregate(): `target` combined with `value`. */
function aggregate(target: number, value: number, how: Aggregate): number {
  if (how === 'sum') {
    const s = target + value;
    return Number.isNaN(s) ? 0 : s;
  }
  if (how === 'min') return value < target ? value : target;
  return value > target ? value : target;
}

interface Weighted {
  src: Source;
  weight: number;
}

/** Inputs smallest first (stable), as Redis sorts them for ZUNION and ZINTER. */
function bySize(srcs: Source[], weights: number[]): Weighted[] {
  const w = srcs.map((src, i) => ({ src, weight: weights[i]! }));
  return w.sort((a, b) => a.src.size - b.src.size);
}

async function union(inputs: Weighted[], how: Aggregate): Promise<Entry[]> {
  const acc = new Map<string, Entry>();
  for (const { src, weight } of inputs) {
    if (src.size === 0) continue;
    await src.forEach((member, s) => {
      let score = weight * s;
      if (Number.isNaN(score)) score = 0;
      const id = member.toString('latin1');
      const e = acc.get(id);
      if (e === undefined) acc.set(id, { member, score });
      else e.score = aggregate(e.score, score, how);
    });
  }
  return [...acc.values()];
}

/**
 * Members of the smallest input found in every other, with their aggregated score; with
 * `limit` (ZINTERCARD) only counted, stopping at the limit. The smallest input is streamed; the
 * others are probed.
 */
async function inter(inputs: Weighted[], how: Aggregate, out: Entry[] | null, limit = 0): Promise<number> {
  const [first, ...rest] = inputs;
  if (first === undefined || first.src.size === 0) return 0;
  let found = 0;
  let done = false;
  await first.src.forEach((member, s) => {
    if (done) return;
    let score = first.weight * s;
    if (Number.isNaN(score)) score = 0;
    for (const { src, weight } of rest) {
      const v = src.id === first.src.id ? s : src.find(member);
      if (v === undefined) return;
      score = aggregate(score, v * weight, how);
    }
    found++;
    out?.push({ member, score });
    if (limit > 0 && found >= limit) done = true;
  });
  return found;
}

/** Members of the first input in none of the others, with their own scores. */
async function diff(srcs: Source[]): Promise<Entry[]> {
  const [first, ...rest] = srcs;
  const out: Entry[] = [];
  if (first === undefined || first.size === 0) return out;
  await first.forEach((member, score) => {
    for (const src of rest) if (src.id === first.id || src.find(member) !== undefined) return;
    out.push({ member, score });
  });
  return out;
}

/** Redis' sorted set order: score, then member bytewise. */
function sortEntries(entries: Entry[]): Entry[] {
  return entries.sort((a, b) => (a.score < b.score ? -1 : a.score > b.score ? 1 : Buffer.compare(a.member, b.member)));
}

/** The result of a ZUNION/ZINTER/ZDIFF, sorted. */
async function compute(d: SetOpCommand, srcs: Source[], o: SetOpOptions): Promise<Entry[]> {
  if (d.op === 'union') return sortEntries(await union(bySize(srcs, o.weights), o.aggregate));
  if (d.op === 'inter') {
    const out: Entry[] = [];
    await inter(bySize(srcs, o.weights), o.aggregate, out);
    return sortEntries(out);
  }
  return sortEntries(await diff(srcs));
}

/** What the call does with its sources: reply, store, or count. `store` writes and returns the new size. */
async function finish(
  w: ReplyWriter, d: SetOpCommand, srcs: Source[], o: SetOpOptions,
  store: (members: Buffer[], scores: number[]) => Promise<number> | number,
): Promise<void> {
  if (d.cardinality) {
    w.int(await inter(bySize(srcs, o.weights), 'sum', null, o.limit));
    return;
  }
  const entries = await compute(d, srcs, o);
  if (d.store) {
    w.int(await store(entries.map((e) => e.member), entries.map((e) => e.score)));
    return;
  }
  scoredHeader(w, entries.length, o.withScores);
  for (const e of entries) scoredEntry(w, e.member, e.score, o.withScores);
}

// ---------------------------------------------------------------- on a shard

/** A key of this shard as an input: a sorted set, a set, or nothing; WRONGTYPE for other types. */
function shardSource(c: ShardCall, key: Buffer): Source {
  const m = c.store.lookupRead(c.db, key);
  const id = key.toString('latin1');
  if (m === null) return { size: 0, id, forEach: async () => undefined, find: () => undefined };
  if (m.type !== Type.ZSET && m.type !== Type.SET) throw new CommandError(E.WRONGTYPE);
  const coll = Collection.find(c, key, m.type, false)!;
  const scored = m.type === Type.ZSET;
  return {
    size: coll.size,
    id,
    forEach: async (visit) => {
      await coll.forEach({ values: scored }, (member, v) => visit(member, scored ? decodeScore(v) : 1));
    },
    find: (member) => {
      const v = coll.get(member);
      return v === undefined ? undefined : scored ? decodeScore(v) : 1;
    },
  };
}

/** The shard handler of a set operation whose keys are all on this shard. */
export async function setOpShard(c: ShardCall, d: SetOpCommand): Promise<void> {
  const keys = parseInputKeys(c.args, d);
  const srcs = keys.map((p) => shardSource(c, c.args[p]!));
  const o = parseOptions(c.args, keys[keys.length - 1]! + 1, keys.length, d);
  await finish(c.w, d, srcs, o, (members, scores) => ZSet.replace(c, c.args[1]!, members, scores));
}

// ---------------------------------------------------------------- __zread: a shard's sources, for the front

/**
 * __zread <data|type> key...: per key nil (missing), a WRONGTYPE error, or with `type` the type
 * code; with `data` [type, member, score, ...] (scores as 8-byte doubles) for a sorted set and
 * [type, member, ...] for a set.
 */
export async function zreadShard(c: ShardCall): Promise<void> {
  const data = lower(c.args[1]!) === 'data';
  const keys = c.args.slice(2);
  const colls: (Collection | null | typeof E.WRONGTYPE)[] = keys.map((key) => {
    const m = c.store.lookupRead(c.db, key);
    if (m === null) return null;
    if (m.type !== Type.ZSET && m.type !== Type.SET) return E.WRONGTYPE;
    return Collection.find(c, key, m.type, false);
  });
  // Read everything first: a reply is written in one piece, after the last await.
  const contents = new Array<{ subs: Buffer[]; values: Buffer[] } | null>(keys.length).fill(null);
  if (data) {
    for (let i = 0; i < colls.length; i++) {
      const coll = colls[i];
      if (coll instanceof Collection) contents[i] = await coll.read({ values: coll.meta.type === Type.ZSET });
    }
  }
  c.w.array(keys.length);
  for (let i = 0; i < colls.length; i++) {
    const coll = colls[i]!;
    if (coll === null) c.w.nil();
    else if (coll === E.WRONGTYPE) c.w.error(E.WRONGTYPE);
    else if (!data) c.w.int(coll.meta.type);
    else {
      const { subs, values } = contents[i]!;
      const scored = coll.meta.type === Type.ZSET;
      c.w.array(1 + subs.length * (scored ? 2 : 1));
      c.w.int(coll.meta.type);
      for (let j = 0; j < subs.length; j++) {
        c.w.bulk(subs[j]!);
        if (scored) c.w.bulk(rawDouble(decodeScore(values[j]!)));
      }
    }
  }
}

export function rawDouble(d: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeDoubleBE(d, 0);
  return b;
}

/** A source read by __zread: held in memory on the front. */
function memorySource(id: string, r: RespValue): Source {
  if (r instanceof ReplyErr) throw new CommandError(r.message);
  // Missing, or only its type was asked for.
  if (r === null || typeof r === 'number') return { size: 0, id, forEach: async () => undefined, find: () => undefined };
  const [type, ...items] = r as [number, ...Buffer[]];
  const scored = type === Type.ZSET;
  const scores = new Map<string, number>();
  const members: Buffer[] = [];
  for (let i = 0; i < items.length; i += scored ? 2 : 1) {
    members.push(items[i]!);
    scores.set(items[i]!.toString('latin1'), scored ? items[i + 1]!.readDoubleBE(0) : 1);
  }
  return {
    size: members.length,
    id,
    forEach: async (visit) => {
      for (const m of members) visit(m, scores.get(m.toString('latin1'))!);
    },
    find: (member) => scores.get(member.toString('latin1')),
  };
}

/**
 * Reads the inputs at `positions` from their shards: every call is sent before the first await.
 * With `typesOnly` nothing but their types (for an error reply that depends on them).
 */
async function readSources(c: FrontCall, positions: number[], typesOnly: boolean): Promise<Source[]> {
  const { server, client } = c.ctx;
  const byShard = new Map<number, number[]>();
  for (const p of positions) {
    const s = server.shardOf(c.args[p]!);
    const list = byShard.get(s);
    if (list) list.push(p);
    else byShard.set(s, [p]);
  }
  const mode = typesOnly ? 'type' : 'data';
  const calls = [...byShard].map(([shard, ps]) => server.callShard(shard, client.db, ['__zread', mode, ...ps.map((p) => c.args[p]!)]));
  const replies = (await Promise.all(calls)).map(parseReply);
  const byPosition = new Map<number, RespValue>();
  [...byShard.values()].forEach((ps, i) => {
    const r = replies[i]!;
    if (r instanceof ReplyErr) throw new CommandError(r.message);
    ps.forEach((p, j) => byPosition.set(p, (r as RespValue[])[j]!));
  });
  // In argument order, so the error reply is the first bad key's, as in Redis.
  return positions.map((p) => memorySource(c.args[p]!.toString('latin1'), byPosition.get(p)!));
}

/** The front handler: the keys span shards (or numkeys is unusable, which fails here as in Redis). */
export async function setOpFront(c: FrontCall, d: SetOpCommand): Promise<void> {
  const keys = parseInputKeys(c.args, d);
  let options: SetOpOptions | CommandError;
  try {
    options = parseOptions(c.args, keys[keys.length - 1]! + 1, keys.length, d);
  } catch (e) {
    if (!(e instanceof CommandError)) throw e;
    options = e;
  }
  const o = options;
  const run = async (): Promise<void> => {
    // Redis looks the keys up before it parses the options: a wrong type wins over a bad option.
    const srcs = await readSources(c, keys, o instanceof CommandError);
    if (o instanceof CommandError) throw o;
    await finish(c.w, d, srcs, o, (members, scores) => storeOn(c, c.args[1]!, members, scores));
  };
  if (!d.store) return run();
  const { server } = c.ctx;
  const shards = [...new Set([1, ...keys].map((p) => server.shardOf(c.args[p]!)))];
  await server.coord.withShards(shards, run);
}

/** __zstore on the destination's shard: `key` becomes these members (or is deleted); resolves with its size. */
export async function storeOn(c: FrontCall, key: Buffer, members: Buffer[], scores: number[]): Promise<number> {
  const { server, client } = c.ctx;
  const args: Buffer[] = [Buffer.from('__zstore'), key];
  for (let i = 0; i < members.length; i++) args.push(members[i]!, rawDouble(scores[i]!));
  const r = parseReply(await server.callShard(server.shardOf(key), client.db, args));
  if (r instanceof ReplyErr) throw new CommandError(r.message);
  return r as number;
}

/** __zstore key [member score8]...: the write half of a cross-shard STORE (scores as 8-byte doubles). */
export function zstoreShard(c: ShardCall): void {
  const members: Buffer[] = [];
  const scores: number[] = [];
  for (let i = 2; i + 1 < c.args.length; i += 2) {
    members.push(c.args[i]!);
    scores.push(c.args[i + 1]!.readDoubleBE(0));
  }
  c.w.int(ZSet.replace(c, c.args[1]!, members, scores));
}
