/**
 * Hash commands (Redis 7.0). A hash is a collection (src/storage/collection.ts): one meta record
 * plus one sub-key per field (field -> value) under the hash's current version, so a hash can be
 * far larger than memory and DEL/overwrite/expiry of one is O(1).
 *
 * Point commands (HSET, HGET, HINCRBY, ...) run synchronously on the shard through the
 * pending-write overlay. Commands that walk the hash (HGETALL, HKEYS, HVALS, HRANDFIELD, HSCAN)
 * are async shard handlers: they read through a LevelDB iterator bounded to the hash's current
 * version, streaming entries into the reply. Nothing else runs on the shard while they wait, so
 * the meta they looked up stays valid.
 *
 * HSCAN resumes after the last field it returned (fields are stored in byte order); the cursor
 * is an opaque number naming that field in a per-shard table (see ScanCursors). Hashes of up to
 * 128 fields come back whole with cursor 0, as Redis' listpack-encoded hashes do.
 */
import { accessSets, command, oneKey, type CommandSpec, type ShardCall } from './types.js';
import { CommandError, E } from './errors.js';
import { i64Arg, lower } from './args.js';
import { parseI64 } from '../util/number.js';
import { parseLongDouble, addLongDouble, formatLongDoubleHuman, LD_ZERO } from '../util/long-double.js';
import { Type } from '../storage/encoding.js';
import {
  Collection, parseScanCursor, parseScanOptions, scanPage, randomBelow, distinctPositions, positionsWithReplacement,
} from '../storage/collection.js';

/** Exact Redis texts used only by this family. */
export const HE = {
  NOT_INTEGER: 'ERR hash value is not an integer',
  NOT_FLOAT: 'ERR hash value is not a float',
  INCR_NAN_INF: 'ERR value is NaN or Infinity',
  COUNT_RANGE: 'ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807',
  OUT_OF_RANGE: 'ERR value is out of range',
} as const;

const I64_MIN = -9223372036854775808n;
const I64_MAX = 9223372036854775807n;
/** HRANDFIELD's count bounds with WITHVALUES (count*2 must fit): -LONG_MAX/2 .. LONG_MAX/2. */
const HALF_MAX = I64_MAX / 2n;
const HALF_MIN = -HALF_MAX;
/**
 * Cairn's bound on the elements of one HRANDFIELD reply with a negative count. Redis has none and
 * builds any reply it is asked for (-4611686018427387903 WITHVALUES exhausts its memory); here a
 * reply past this many elements is refused with Redis' out-of-range error instead.
 */
export const MAX_RANDOM_REPLY = 1 << 24;

// ---------------------------------------------------------------- lookups

/** The hash at args[1] for a read command (counts keyspace hits/misses), or null; WRONGTYPE for another type. */
function readHash(c: ShardCall): Collection | null {
  return Collection.find(c, c.args[1]!, Type.HASH, true);
}

/** The hash at args[1] for a write that may create it (stored by save() only if it has fields). */
function writeHash(c: ShardCall): Collection {
  return Collection.findOrCreate(c, c.args[1]!, Type.HASH);
}

// ---------------------------------------------------------------- writes

/** HSET/HMSET: field-value pairs after the key; an odd count is an arity error. Returns fields created. */
function hset(c: ShardCall, cmd: string): number {
  if (c.args.length % 2 === 1) throw new CommandError(E.WRONG_ARGS(cmd));
  const h = writeHash(c);
  let created = 0;
  for (let i = 2; i < c.args.length; i += 2) if (h.set(c.args[i]!, c.args[i + 1]!)) created++;
  h.save();
  return created;
}

function hincrby(c: ShardCall): void {
  const incr = i64Arg(c.args[3]!);
  const h = writeHash(c);
  const field = c.args[2]!;
  const old = h.get(field);
  const value = old === undefined ? 0n : parseI64(old);
  if (value === null) throw new CommandError(HE.NOT_INTEGER);
  const next = value + incr;
  if (next > I64_MAX || next < I64_MIN) throw new CommandError(E.OVERFLOW);
  h.put(field, Buffer.from(next.toString(), 'latin1'), old !== undefined);
  h.save();
  c.w.int(next);
}

/** HINCRBYFLOAT in x86-64 long double arithmetic, as Redis (see util/long-double.ts). */
function hincrbyfloat(c: ShardCall): void {
  const incr = parseLongDouble(c.args[3]!);
  if (incr === null) throw new CommandError(E.NOT_FLOAT);
  if (incr.inf) throw new CommandError(HE.INCR_NAN_INF);
  const h = writeHash(c);
  const field = c.args[2]!;
  const old = h.get(field);
  const value = old === undefined ? LD_ZERO : parseLongDouble(old);
  if (value === null) throw new CommandError(HE.NOT_FLOAT);
  const sum = addLongDouble(value, incr);
  if (sum === null) throw new CommandError(E.INCR_NAN);
  const text = Buffer.from(formatLongDoubleHuman(sum), 'latin1');
  h.put(field, text, old !== undefined);
  h.save();
  c.w.bulk(text);
}

// ---------------------------------------------------------------- whole-hash reads

type Part = 'fields' | 'values' | 'both';

/** HGETALL/HKEYS/HVALS: the whole hash streamed from LevelDB in field order. */
async function getAll(c: ShardCall, part: Part): Promise<void> {
  const h = readHash(c);
  if (h === null) return part === 'both' ? c.w.map(0) : c.w.array(0);
  if (part === 'both') c.w.map(h.size);
  else c.w.array(h.size);
  const fields = part !== 'values';
  const values = part !== 'fields';
  // The addon writes the fields and values as RESP itself when it can.
  const n = await (h.writeRange({ values, subs: fields }, c.w) ??
    h.forEach({ values }, (field, value) => {
      if (fields) c.w.bulk(field);
      if (values) c.w.bulk(value);
    }));
  // The header promised `size` entries: a disagreement must not reach the client as a broken reply.
  if (n !== h.size) throw new Error(`hash size ${h.size} disagrees with its ${n} fields`);
}

// ---------------------------------------------------------------- HRANDFIELD

/** One field (and value) of HRANDFIELD's reply: RESP3 nests each pair, RESP2 flattens. */
function replyPick(c: ShardCall, field: Buffer, value: Buffer, withValues: boolean): void {
  if (withValues && c.w.resp === 3) c.w.array(2);
  c.w.bulk(field);
  if (withValues) c.w.bulk(value);
}

function replyPicksHeader(c: ShardCall, n: number, withValues: boolean): void {
  c.w.array(withValues && c.w.resp === 2 ? n * 2 : n);
}

/** HRANDFIELD key count [WITHVALUES] (Redis' hrandfieldWithCountCommand). */
async function hrandfieldWithCount(c: ShardCall): Promise<void> {
  const l = i64Arg(c.args[2]!);
  if (l < -I64_MAX) throw new CommandError(HE.COUNT_RANGE);
  if (c.args.length > 4 || (c.args.length === 4 && lower(c.args[3]!) !== 'withvalues')) {
    throw new CommandError(E.SYNTAX);
  }
  const withValues = c.args.length === 4;
  if (withValues && (l < HALF_MIN || l > HALF_MAX)) throw new CommandError(HE.OUT_OF_RANGE);
  const h = readHash(c);
  if (h === null || l === 0n) return c.w.array(0);
  const size = h.size;
  if (l < 0n) {
    if (-l > BigInt(MAX_RANDOM_REPLY)) throw new CommandError(HE.OUT_OF_RANGE);
    return randomWithRepeats(c, h, Number(-l), withValues);
  }
  // Distinct fields: the whole hash when it has no more than asked for, else `count` distinct
  // positions read in one pass (in field order: Redis' order here is not random either).
  const count = l >= BigInt(size) ? size : Number(l);
  replyPicksHeader(c, count, withValues);
  const emit = (field: Buffer, value: Buffer): void => replyPick(c, field, value, withValues);
  if (count === size) {
    const n = await h.forEach({ values: withValues }, emit);
    if (n !== size) throw new Error(`hash size ${size} disagrees with its ${n} fields`);
  } else {
    await h.atPositions(distinctPositions(size, count), (_i, f, v) => emit(f, v), withValues);
  }
}

/** Negative count: `count` independent uniform picks, in the order drawn. */
async function randomWithRepeats(c: ShardCall, h: Collection, count: number, withValues: boolean): Promise<void> {
  replyPicksHeader(c, count, withValues);
  const size = h.size;
  if (count >= size) {
    // The reply holds at least as many entries as the hash: read it once and draw from memory.
    const { subs, values } = await h.read({ values: withValues });
    if (subs.length !== size) throw new Error(`hash size ${size} disagrees with its ${subs.length} fields`);
    for (let i = 0; i < count; i++) {
      const j = randomBelow(size);
      replyPick(c, subs[j]!, values[j]!, withValues);
    }
    return;
  }
  const { sorted, order } = positionsWithReplacement(size, count);
  const fields: Buffer[] = new Array(count);
  const values: Buffer[] = new Array(count);
  await h.atPositions(sorted, (r, f, v) => {
    fields[r] = f;
    values[r] = v;
  }, withValues);
  for (let i = 0; i < count; i++) replyPick(c, fields[order[i]!]!, values[order[i]!]!, withValues);
}

/** HRANDFIELD key: one random field, or nil. */
async function hrandfieldOne(c: ShardCall): Promise<void> {
  const h = readHash(c);
  if (h === null) return c.w.nil();
  await h.atPositions([randomBelow(h.size)], (_i, field) => c.w.bulk(field), false);
}

// ---------------------------------------------------------------- HSCAN

async function hscan(c: ShardCall): Promise<void> {
  // As Redis: the cursor is checked first, then the key, and the options only for a hash.
  const cursor = parseScanCursor(c.args[2]!);
  const h = readHash(c);
  if (h === null) {
    c.w.array(2);
    c.w.bulk('0');
    c.w.array(0);
    return;
  }
  const page = await scanPage(h, cursor, parseScanOptions(c.args, 3));
  c.w.array(2);
  c.w.bulk(page.cursor.toString());
  c.w.array(page.subs.length * 2);
  for (let i = 0; i < page.subs.length; i++) {
    c.w.bulk(page.subs[i]!);
    c.w.bulk(page.values[i]!);
  }
}

// ---------------------------------------------------------------- the table

const { RW_FAST, RO_FAST, RO_SLOW } = accessSets('hash');

export const hashCommands: readonly CommandSpec[] = [
  command({
    name: 'hset', arity: -4, ...RW_FAST, keys: oneKey,
    shard: (c) => c.w.int(hset(c, 'hset')),
  }),
  command({
    name: 'hmset', arity: -4, ...RW_FAST, keys: oneKey,
    shard: (c) => {
      hset(c, 'hmset');
      c.w.ok();
    },
  }),
  command({
    name: 'hsetnx', arity: 4, ...RW_FAST, keys: oneKey,
    shard: (c) => {
      const h = writeHash(c);
      if (h.has(c.args[2]!)) return c.w.int(0);
      h.put(c.args[2]!, c.args[3]!, false);
      h.save();
      c.w.int(1);
    },
  }),
  command({
    name: 'hget', arity: 3, ...RO_FAST, keys: oneKey,
    shard: (c) => {
      const v = readHash(c)?.get(c.args[2]!);
      if (v === undefined) c.w.nil();
      else c.w.bulk(v);
    },
  }),
  command({
    name: 'hmget', arity: -3, ...RO_FAST, keys: oneKey,
    shard: (c) => {
      const h = readHash(c);
      c.w.array(c.args.length - 2);
      for (let i = 2; i < c.args.length; i++) {
        const v = h?.get(c.args[i]!);
        if (v === undefined) c.w.nil();
        else c.w.bulk(v);
      }
    },
  }),
  command({
    name: 'hdel', arity: -3, flags: ['write', 'fast'], acl: ['write', 'hash', 'fast'], keys: oneKey,
    shard: (c) => {
      const h = Collection.find(c, c.args[1]!, Type.HASH, false);
      if (h === null) return c.w.int(0);
      let n = 0;
      for (let i = 2; i < c.args.length; i++) if (h.delete(c.args[i]!)) n++;
      h.save();
      c.w.int(n);
    },
  }),
  command({
    name: 'hexists', arity: 3, ...RO_FAST, keys: oneKey,
    shard: (c) => c.w.int(readHash(c)?.has(c.args[2]!) ? 1 : 0),
  }),
  command({
    name: 'hlen', arity: 2, ...RO_FAST, keys: oneKey,
    shard: (c) => c.w.int(readHash(c)?.size ?? 0),
  }),
  command({
    name: 'hstrlen', arity: 3, ...RO_FAST, keys: oneKey,
    shard: (c) => c.w.int(readHash(c)?.get(c.args[2]!)?.length ?? 0),
  }),
  command({
    name: 'hgetall', arity: 2, ...RO_SLOW, keys: oneKey,
    shard: (c) => getAll(c, 'both'),
  }),
  command({
    name: 'hkeys', arity: 2, ...RO_SLOW, keys: oneKey,
    shard: (c) => getAll(c, 'fields'),
  }),
  command({
    name: 'hvals', arity: 2, ...RO_SLOW, keys: oneKey,
    shard: (c) => getAll(c, 'values'),
  }),
  command({
    name: 'hincrby', arity: 4, ...RW_FAST, keys: oneKey,
    shard: hincrby,
  }),
  command({
    name: 'hincrbyfloat', arity: 4, ...RW_FAST, keys: oneKey,
    shard: hincrbyfloat,
  }),
  command({
    name: 'hrandfield', arity: -2, ...RO_SLOW, keys: oneKey,
    shard: (c) => (c.args.length >= 3 ? hrandfieldWithCount(c) : hrandfieldOne(c)),
  }),
  command({
    name: 'hscan', arity: -3, ...RO_SLOW, keys: oneKey,
    shard: hscan,
  }),
];
