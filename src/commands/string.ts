/**
 * String commands (Redis 7.0): GET/SET and variants, multi-key MGET/MSET/MSETNX, ranges,
 * counters, INCRBYFLOAT and LCS.
 *
 * Expiry rules, as in Redis: SET/SETNX/SETEX/GETSET/MSET replace the value and drop any TTL
 * (unless SET ... KEEPTTL); APPEND/SETRANGE/INCR/DECR/INCRBYFLOAT modify the value and keep it.
 *
 * Multi-key commands run on the shard when all their keys live there. Otherwise MGET/MSET fan
 * out from the front thread (all parts sent at once: atomic by per-shard order), MSETNX reserves
 * its shards to check then write, and LCS fetches both values with `__getstr` and computes here.
 */
import { accessSets, command, oneKey, allKeys, keyValuePairs, twoKeys, type CommandSpec, type ShardCall, type FrontCall } from './types.js';
import { CommandError, E } from './errors.js';
import { i64Arg } from './args.js';
import { partsByShard, sendParts, writeParts, firstError, restArePositions } from './fanout.js';
import {
  SE, Opt, parseStringOptions, optionsExpire, expireAtMs, getRangeBounds, checkStringLength, lcsReply,
  type ExpireUnit,
} from './string-util.js';
import { parseI64, smallInt } from '../util/number.js';
import { parseLongDouble, addLongDouble, formatLongDoubleHuman, LD_ZERO } from '../util/long-double.js';
import { EMPTY } from '../storage/store.js';
import { Type, type Meta } from '../storage/encoding.js';
import { parseReply, ReplyErr, type RespValue } from '../server/resp/reply-parser.js';

const I64_MIN = -9223372036854775808n;
const I64_MAX = 9223372036854775807n;

// ---------------------------------------------------------------- lookups

/**
 * Meta of a live string key, or null when missing; WRONGTYPE for another type. `read` counts
 * keyspace hits/misses (Redis' lookupKeyRead), otherwise a write lookup.
 */
function stringKey(c: ShardCall, key: Buffer, read: boolean): Meta | null {
  const m = read ? c.store.lookupRead(c.db, key) : c.store.lookup(c.db, key);
  if (m !== null && m.type !== Type.STRING) throw new CommandError(E.WRONGTYPE);
  return m;
}

/** Redis' getGenericCommand: replies with the value (or nil) and returns the key's meta. */
function replyGet(c: ShardCall, key: Buffer): Meta | null {
  const m = stringKey(c, key, true);
  if (m === null) c.w.nil();
  else c.w.bulk(m.value!);
  return m;
}

/** The common core of SET/SETNX/SETEX/PSETEX; `expire` is absolute ms or 0. */
function setGeneric(c: ShardCall, flags: number, value: Buffer, expire: number, okReply: () => void, abortReply: () => void): void {
  const key = c.args[1]!;
  const old = flags & Opt.GET ? replyGet(c, key) : c.store.lookup(c.db, key);
  if ((flags & Opt.NX && old) || (flags & Opt.XX && !old)) {
    if (!(flags & Opt.GET)) abortReply();
    return;
  }
  const keep = flags & Opt.KEEPTTL ? (old?.expire ?? 0) : expire;
  c.store.setString(c.db, key, value, keep, old);
  if (!(flags & Opt.GET)) okReply();
}

function setWithExpire(unit: ExpireUnit, cmd: string) {
  return (c: ShardCall): void => {
    const expire = expireAtMs(c.args[2]!, unit, true, cmd);
    setGeneric(c, 0, c.args[3]!, expire, () => c.w.ok(), () => c.w.nil());
  };
}

// ---------------------------------------------------------------- counters

/** INCR/DECR/INCRBY/DECRBY: 64-bit signed arithmetic on the value, keeping the TTL. */
/** Deltas this small keep a sum of two 15-digit integers exact as a JS number. */
const SMALL_DELTA = 1e15;

function incrBy(c: ShardCall, delta: bigint): void {
  const key = c.args[1]!;
  const m = stringKey(c, key, false);
  // Fast path: a stored value of at most 15 digits and a small delta add exactly as numbers.
  const small = m === null ? 0 : smallInt(m.value!);
  if (small !== undefined && delta > -SMALL_DELTA && delta < SMALL_DELTA) {
    const next = small + Number(delta);
    c.store.setString(c.db, key, Buffer.from(String(next), 'latin1'), m?.expire ?? 0, m);
    c.w.int(next);
    return;
  }
  const current = m === null ? 0n : parseI64(m.value!);
  if (current === null) throw new CommandError(E.NOT_INTEGER);
  const next = current + delta;
  if (next > I64_MAX || next < I64_MIN) throw new CommandError(E.OVERFLOW);
  c.store.setString(c.db, key, Buffer.from(next.toString(), 'latin1'), m?.expire ?? 0, m);
  c.w.int(next);
}

function incrByFloat(c: ShardCall): void {
  const key = c.args[1]!;
  const m = stringKey(c, key, false);
  const current = m === null ? LD_ZERO : parseLongDouble(m.value!);
  const incr = current === null ? null : parseLongDouble(c.args[2]!);
  if (current === null || incr === null) throw new CommandError(E.NOT_FLOAT);
  const sum = addLongDouble(current, incr);
  if (sum === null) throw new CommandError(E.INCR_NAN);
  const text = Buffer.from(formatLongDoubleHuman(sum), 'latin1');
  c.store.setString(c.db, key, text, m?.expire ?? 0, m);
  c.w.bulk(text);
}

// ---------------------------------------------------------------- ranges

function getRange(c: ShardCall): void {
  const start = i64Arg(c.args[2]!);
  const end = i64Arg(c.args[3]!);
  const m = stringKey(c, c.args[1]!, true);
  if (m === null) return c.w.bulk(EMPTY);
  const [from, to] = getRangeBounds(start, end, m.value!.length);
  c.w.bulk(m.value!.subarray(from, to));
}

function setRange(c: ShardCall): void {
  const key = c.args[1]!;
  const offset = i64Arg(c.args[2]!);
  const value = c.args[3]!;
  if (offset < 0n) throw new CommandError(E.OFFSET_RANGE);
  const m = stringKey(c, key, false);
  const oldLen = m === null ? 0 : m.value!.length;
  // Writing nothing changes nothing, and never creates the key.
  if (value.length === 0) return c.w.int(oldLen);
  checkStringLength(offset + BigInt(value.length));
  const at = Number(offset);
  const out = Buffer.alloc(Math.max(oldLen, at + value.length));
  if (m !== null) m.value!.copy(out);
  value.copy(out, at);
  c.store.setString(c.db, key, out, m?.expire ?? 0, m);
  c.w.int(out.length);
}

// ---------------------------------------------------------------- multi-key

/** MSET/MSETNX need key-value pairs: an odd number of arguments after the name is an arity error. */
function checkPairs(args: Buffer[], cmd: string): void {
  if (args.length % 2 === 0) throw new CommandError(E.WRONG_ARGS(cmd));
}

function msetHere(c: ShardCall): void {
  for (let i = 1; i < c.args.length; i += 2) {
    const key = c.args[i]!;
    c.store.setString(c.db, key, c.args[i + 1]!, 0, c.store.lookup(c.db, key));
  }
}

/** Keys among args[1..] (step 1 or 2) that exist; write lookups, as MSETNX does. */
function countExisting(c: ShardCall, step: number): number {
  let n = 0;
  for (let i = 1; i < c.args.length; i += step) if (c.store.lookup(c.db, c.args[i]!) !== null) n++;
  return n;
}

async function mgetAcrossShards(c: FrontCall): Promise<void> {
  const parts = partsByShard(c, restArePositions(c.args));
  const replies = await sendParts(c, 'mget', parts);
  firstError(replies);
  const values: RespValue[] = new Array(c.args.length);
  parts.forEach((p, i) => {
    const got = replies[i] as RespValue[];
    p.positions.forEach((pos, j) => (values[pos] = got[j]!));
  });
  c.w.array(c.args.length - 1);
  for (let i = 1; i < c.args.length; i++) {
    const v = values[i];
    if (v instanceof Buffer) c.w.bulk(v);
    else c.w.nil();
  }
}

async function msetAcrossShards(c: FrontCall): Promise<void> {
  checkPairs(c.args, 'mset');
  firstError(await writeParts(c, 'mset', partsByShard(c, restArePositions(c.args, 1, 2)), 2));
  c.w.ok();
}

/** MSETNX over several shards: reserve them, check that no key exists anywhere, then write. */
async function msetnxAcrossShards(c: FrontCall): Promise<void> {
  checkPairs(c.args, 'msetnx');
  const parts = partsByShard(c, restArePositions(c.args, 1, 2));
  await c.ctx.server.coord.withShards(parts.map((p) => p.shard), async () => {
    const counts = await sendParts(c, '__existcount', parts);
    firstError(counts);
    if (counts.some((n) => (n as number) > 0)) return c.w.int(0);
    firstError(await writeParts(c, 'mset', parts, 2));
    c.w.int(1);
  });
}

/** LCS with its keys on two shards: both values fetched in one step, computed here. */
async function lcsAcrossShards(c: FrontCall): Promise<void> {
  const { server, client } = c.ctx;
  const fetch = (key: Buffer): Promise<Buffer> => server.callShard(server.shardOf(key), client.db, ['__getstr', key]);
  const replies = (await Promise.all([fetch(c.args[1]!), fetch(c.args[2]!)])).map(parseReply);
  const values = replies.map((r) => {
    if (r instanceof ReplyErr) throw new CommandError(r.message.startsWith('WRONGTYPE') ? SE.LCS_TYPE : r.message);
    return r === null ? EMPTY : (r as Buffer);
  });
  lcsReply(c.w, values[0]!, values[1]!, c.args);
}

// ---------------------------------------------------------------- the table

const { RW_FAST, RW_SLOW, RO_FAST, RO_SLOW } = accessSets('string');

export const stringCommands: readonly CommandSpec[] = [
  command({
    name: 'get', arity: 2, ...RO_FAST, keys: oneKey,
    shard: (c) => void replyGet(c, c.args[1]!),
  }),
  command({
    name: 'set', arity: -3, ...RW_SLOW, keys: oneKey,
    shard: (c) => {
      const o = parseStringOptions(c.args, 3, true);
      const expire = optionsExpire(o, 'set');
      setGeneric(c, o.flags, c.args[2]!, expire, () => c.w.ok(), () => c.w.nil());
    },
  }),
  command({
    name: 'setnx', arity: 3, ...RW_FAST, keys: oneKey,
    shard: (c) => setGeneric(c, Opt.NX, c.args[2]!, 0, () => c.w.int(1), () => c.w.int(0)),
  }),
  command({
    name: 'setex', arity: 4, ...RW_SLOW, keys: oneKey,
    shard: setWithExpire('seconds', 'setex'),
  }),
  command({
    name: 'psetex', arity: 4, ...RW_SLOW, keys: oneKey,
    shard: setWithExpire('milliseconds', 'psetex'),
  }),
  command({
    name: 'getset', arity: 3, ...RW_FAST, keys: oneKey,
    shard: (c) => {
      const old = replyGet(c, c.args[1]!);
      c.store.setString(c.db, c.args[1]!, c.args[2]!, 0, old);
    },
  }),
  command({
    name: 'getdel', arity: 2, flags: ['write', 'fast'], acl: ['write', 'string', 'fast'], keys: oneKey,
    shard: (c) => {
      const m = replyGet(c, c.args[1]!);
      if (m) c.store.deleteKey(c.db, c.args[1]!, m);
    },
  }),
  command({
    name: 'getex', arity: -2, flags: ['write', 'fast'], acl: ['write', 'string', 'fast'], keys: oneKey,
    shard: (c) => {
      const key = c.args[1]!;
      const o = parseStringOptions(c.args, 2, false);
      const m = stringKey(c, key, true);
      if (m === null) return c.w.nil();
      // The expire is validated only once the key is known to exist (as Redis does).
      const expire = optionsExpire(o, 'getex');
      c.w.bulk(m.value!);
      if (o.flags & (Opt.EXAT | Opt.PXAT) && expire <= Date.now()) c.store.deleteKey(c.db, key, m);
      else if (expire !== 0) c.store.setExpire(c.db, key, m, expire);
      else if (o.flags & Opt.PERSIST && m.expire !== 0) c.store.setExpire(c.db, key, m, 0);
    },
  }),
  command({
    name: 'mget', arity: -2, ...RO_FAST, keys: allKeys,
    shard: (c) => {
      c.w.array(c.args.length - 1);
      for (let i = 1; i < c.args.length; i++) {
        // Like Redis, a key of another type reads as nil rather than an error.
        const m = c.store.lookupRead(c.db, c.args[i]!);
        if (m !== null && m.type === Type.STRING) c.w.bulk(m.value!);
        else c.w.nil();
      }
    },
    front: mgetAcrossShards,
  }),
  command({
    name: 'mset', arity: -3, ...RW_SLOW, keys: keyValuePairs,
    shard: (c) => {
      checkPairs(c.args, 'mset');
      msetHere(c);
      c.w.ok();
    },
    front: msetAcrossShards,
  }),
  command({
    name: 'msetnx', arity: -3, ...RW_SLOW, keys: keyValuePairs, coordinated: true,
    shard: (c) => {
      checkPairs(c.args, 'msetnx');
      if (countExisting(c, 2) > 0) return c.w.int(0);
      msetHere(c);
      c.w.int(1);
    },
    front: msetnxAcrossShards,
  }),
  command({
    name: 'append', arity: 3, ...RW_FAST, keys: oneKey,
    shard: (c) => {
      const key = c.args[1]!;
      const m = stringKey(c, key, false);
      if (m === null) {
        c.store.setString(c.db, key, c.args[2]!, 0, null);
        return c.w.int(c.args[2]!.length);
      }
      const total = m.value!.length + c.args[2]!.length;
      checkStringLength(total);
      c.store.setString(c.db, key, Buffer.concat([m.value!, c.args[2]!], total), m.expire, m);
      c.w.int(total);
    },
  }),
  command({
    name: 'strlen', arity: 2, ...RO_FAST, keys: oneKey,
    shard: (c) => {
      const m = stringKey(c, c.args[1]!, true);
      c.w.int(m === null ? 0 : m.value!.length);
    },
  }),
  command({
    name: 'getrange', arity: 4, ...RO_SLOW, keys: oneKey,
    shard: getRange,
  }),
  command({
    name: 'substr', arity: 4, ...RO_SLOW, keys: oneKey,
    shard: getRange,
  }),
  command({
    name: 'setrange', arity: 4, ...RW_SLOW, keys: oneKey,
    shard: setRange,
  }),
  command({
    name: 'incr', arity: 2, ...RW_FAST, keys: oneKey,
    shard: (c) => incrBy(c, 1n),
  }),
  command({
    name: 'decr', arity: 2, ...RW_FAST, keys: oneKey,
    shard: (c) => incrBy(c, -1n),
  }),
  command({
    name: 'incrby', arity: 3, ...RW_FAST, keys: oneKey,
    shard: (c) => incrBy(c, i64Arg(c.args[2]!)),
  }),
  command({
    name: 'decrby', arity: 3, ...RW_FAST, keys: oneKey,
    shard: (c) => {
      const by = i64Arg(c.args[2]!);
      // Negating the smallest 64-bit value does not fit.
      if (by === I64_MIN) throw new CommandError(SE.DECR_OVERFLOW);
      incrBy(c, -by);
    },
  }),
  command({
    name: 'incrbyfloat', arity: 3, ...RW_FAST, keys: oneKey,
    shard: incrByFloat,
  }),
  command({
    name: 'lcs', arity: -3, ...RO_SLOW, keys: twoKeys,
    shard: (c) => {
      const a = c.store.lookupRead(c.db, c.args[1]!);
      const b = c.store.lookupRead(c.db, c.args[2]!);
      if ((a && a.type !== Type.STRING) || (b && b.type !== Type.STRING)) throw new CommandError(SE.LCS_TYPE);
      lcsReply(c.w, a?.value ?? EMPTY, b?.value ?? EMPTY, c.args);
    },
    front: lcsAcrossShards,
  }),
  // ------------------------------------------------ internal helpers of the cross-shard forms
  command({
    name: '__getstr', arity: 2, flags: ['readonly', 'fast'], acl: [], keys: null, internal: true,
    shard: (c) => void replyGet(c, c.args[1]!),
  }),
  command({
    name: '__existcount', arity: -2, flags: ['readonly', 'fast'], acl: [], keys: null, internal: true,
    shard: (c) => c.w.int(countExisting(c, 1)),
  }),
];
