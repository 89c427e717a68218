/**
 * Generic key-space commands (Redis 7.0's "generic" group, plus DBSIZE, FLUSHDB and FLUSHALL).
 *
 * Where they run:
 *  - one key (TYPE, TTL, EXPIRE, MOVE, ...) and same-shard RENAME/COPY: a shard handler;
 *  - DEL/UNLINK/EXISTS/TOUCH over several shards: one-shot fan-out (sumOverShards);
 *  - RENAME/RENAMENX/COPY whose keys live on two shards: a coordinated front handler that reserves
 *    both shards and moves the value with the internal __dump / __restore commands (a collection's
 *    records stream in chunks with __vread / __vwrite under a version staged by __vstage);
 *  - KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL: front handlers over every shard, with
 *    internal shard commands that iterate the db's meta records in LevelDB.
 *
 * Everything here works on meta records, so it is type-agnostic; the places that need more for
 * collections (their sub-keys embed the user key and db) are transferValue() and writeAcross().
 */
import { accessSets, command, allKeys, oneKey, twoKeys, type CommandSpec, type FrontCall, type ShardCall, type ShardHandler } from './types.js';
import { sumOverShards, restArePositions, firstError } from './fanout.js';
import { crossWrite, crossWriteAll, type Part } from '../server/cross-write.js';
import { CommandError, E, errorArg } from './errors.js';
import { lower, i64Arg, dbArg } from './args.js';
import { parseReply, ReplyErr, type RespValue } from '../server/resp/reply-parser.js';
import type { ServerState } from '../server/context.js';
import {
  Type, TYPE_NAMES, type Meta, metaKey, metaPrefix, prefixEnd, decodeMeta, encodeMeta, metaExpire,
  versionPrefix, garbageKey, VERSIONED_PREFIXES,
} from '../storage/encoding.js';
import { Sweeper, sweepState, markFlushed } from '../shard/sweep.js';
import { scan, andThen, type MaybePromise } from '../storage/scan.js';
import { stringMatchLen, literalPrefix } from '../util/glob.js';
import { ttlFigure } from '../util/number.js';

// ---------------------------------------------------------------- this family's error texts

const ERR_INVALID_CURSOR = 'ERR invalid cursor';
const ERR_NX_WITH_OTHERS = 'ERR NX and XX, GT or LT options at the same time are not compatible';
const ERR_GT_AND_LT = 'ERR GT and LT options at the same time are not compatible';
const errUnsupportedOption = (opt: Buffer): string => `ERR Unsupported option ${errorArg(opt, opt.length)}`;

const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;
const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------- small helpers

/** Runs `next` after `r`, synchronously when `r` is not a promise (handlers stay sync for strings). */
function then(r: void | Promise<void>, next: () => void): void | Promise<void> {
  if (r instanceof Promise) return r.then(next);
  next();
}

/** Bounds of the meta records of `db` that can match `pattern` (its literal prefix narrows them). */
function metaRange(db: number, pattern: Buffer | null): { gte: Buffer; lt: Buffer } {
  const gte = pattern ? metaKey(db, Buffer.from(literalPrefix(pattern))) : metaPrefix(db);
  return { gte, lt: prefixEnd(gte)! };
}

/** A pattern that matches every key needs no matching (Redis' "*" fast path). */
function effectivePattern(p: Buffer | null): Buffer | null {
  return p !== null && p.length === 1 && p[0] === 0x2a ? null : p;
}

function isExpired(raw: Buffer, now: number): boolean {
  const e = metaExpire(raw);
  return e !== 0 && e <= now;
}

/** Sends `args` to every shard now (before any await) and parses the replies. */
async function callAllShards(c: FrontCall, args: (Buffer | string)[]): Promise<RespValue[]> {
  const { server, client } = c.ctx;
  const calls: Promise<Buffer>[] = [];
  for (let s = 0; s < server.shards.count; s++) calls.push(server.callShard(s, client.db, args));
  return (await Promise.all(calls)).map(parseReply);
}

/**
 * callAllShards for a write (FLUSHDB, FLUSHALL, SWAPDB): one cross-shard write, so a crash cannot
 * leave some shards flushed or swapped and others not (src/server/cross-write.ts).
 */
function writeAllShards(c: FrontCall, args: (Buffer | string)[]): Promise<RespValue[]> {
  const { server, client } = c.ctx;
  return crossWriteAll(server, Array.from({ length: server.shards.count }, (_, shard) => ({ shard, db: client.db, args })));
}

function throwIfError(r: RespValue): void {
  if (r instanceof ReplyErr) throw new CommandError(r.message);
}

// ---------------------------------------------------------------- moving values between keys

interface Source {
  db: number;
  key: Buffer;
  m: Meta;
}

interface Target {
  db: number;
  key: Buffer;
  /** The target's current meta (from lookup), replaced by the value. */
  old: Meta | null;
}

/**
 * Writes the value (and expiry) of `src` as `dst`, and with `move` deletes `src`: RENAME, COPY
 * and MOVE on one shard. Strings are one meta record; a collection's sub-keys embed its user key
 * and db, so they are copied under a fresh version (O(N), asynchronous: it iterates LevelDB).
 */
function transferValue(c: ShardCall, src: Source, dst: Target, move: boolean): void | Promise<void> {
  if (src.m.type !== Type.STRING) return transferCollection(c, src, dst, move);
  c.store.putMeta(dst.db, dst.key, src.m, dst.old);
  if (move) c.store.deleteKey(src.db, src.key, src.m);
}

async function transferCollection(c: ShardCall, src: Source, dst: Target, move: boolean): Promise<void> {
  await synced(c);
  const version = c.store.newVersion();
  for (const kind of VERSIONED_PREFIXES) {
    const from = versionPrefix(kind, src.db, src.key, src.m.version!);
    const to = versionPrefix(kind, dst.db, dst.key, version);
    // The copy's writes go to the overlay as the source streams (they are under another version).
    // Values are copied: a range read's values are views of its whole chunk, which the row cache must not pin.
    await scan(c.store, { gte: from, lt: prefixEnd(from)! }, (k, v) => {
      c.store.put(Buffer.concat([to, k.subarray(from.length)]), Buffer.from(v));
    }, true);
  }
  // The whole copy goes out in this turn's batch, so a crash never leaves half of it referenced.
  c.store.putMeta(dst.db, dst.key, { ...src.m, version }, dst.old);
  if (move) c.store.deleteKey(src.db, src.key, src.m);
}

// ---------------------------------------------------------------- RENAME / RENAMENX / COPY

function renameShard(nx: boolean): ShardHandler {
  return (c) => {
    const src = c.args[1]!;
    const dst = c.args[2]!;
    const now = Date.now();
    const m = c.store.lookup(c.db, src, now);
    if (!m) throw new CommandError(E.NO_SUCH_KEY);
    const reply = (): void => (nx ? c.w.int(1) : c.w.ok());
    if (src.equals(dst)) return nx ? c.w.int(0) : c.w.ok();
    const old = c.store.lookup(c.db, dst, now);
    if (old && nx) return c.w.int(0);
    return then(transferValue(c, { db: c.db, key: src, m }, { db: c.db, key: dst, old }, true), reply);
  };
}

/** RENAME/RENAMENX between shards: read the source, write the target, then delete the source. */
function renameAcross(nx: boolean) {
  return async (c: FrontCall): Promise<void> => {
    const { server, client } = c.ctx;
    const src = c.args[1]!;
    const dst = c.args[2]!;
    const a = server.shardOf(src);
    const b = server.shardOf(dst);
    await server.coord.withShards([a, b], async () => {
      const payload = await dumpValue(server, a, client.db, src, 'write');
      if (payload === null) throw new CommandError(E.NO_SUCH_KEY);
      const from = { shard: a, db: client.db, key: src };
      // The source's deletion is written as part of the target's write (src/server/cross-write.ts).
      const delSource = { shard: a, db: client.db, args: ['del', src] };
      if (!(await writeAcross(server, from, { shard: b, db: client.db, key: dst }, payload, nx ? 'nx' : 'replace', [delSource]))) return c.w.int(0);
      if (nx) c.w.int(1);
      else c.w.ok();
    });
  };
}

interface CopyOptions {
  dstDb: number;
  replace: boolean;
}

/**
 * COPY's options, with its checks in Redis' order (syntax and DB first, then the same-object rule).
 * `idOf` turns the DB argument into the db `srcDb` is given as (on a shard: its database id).
 */
function parseCopyOptions(args: Buffer[], srcDb: number, databases: number, idOf = (n: number) => n): CopyOptions {
  let dstDb = srcDb;
  let replace = false;
  for (let j = 3; j < args.length; j++) {
    const opt = lower(args[j]!);
    if (opt === 'replace') replace = true;
    else if (opt === 'db' && j + 1 < args.length) dstDb = idOf(dbArg(args[++j]!, databases));
    else throw new CommandError(E.SYNTAX);
  }
  if (dstDb === srcDb && args[1]!.equals(args[2]!)) throw new CommandError(E.SAME_OBJECT);
  return { dstDb, replace };
}

const copyShard: ShardHandler = (c) => {
  const o = parseCopyOptions(c.args, c.db, c.store.databases, (n) => c.store.dbId(n));
  const src = c.args[1]!;
  const dst = c.args[2]!;
  const now = Date.now();
  const m = c.store.lookupRead(c.db, src, now);
  if (!m) return c.w.int(0);
  const old = c.store.lookup(o.dstDb, dst, now);
  if (old && !o.replace) return c.w.int(0);
  return then(transferValue(c, { db: c.db, key: src, m }, { db: o.dstDb, key: dst, old }, false), () => c.w.int(1));
};

async function copyAcross(c: FrontCall): Promise<void> {
  const { server, client } = c.ctx;
  const o = parseCopyOptions(c.args, client.db, server.config.databases as number);
  const src = c.args[1]!;
  const dst = c.args[2]!;
  const a = server.shardOf(src);
  const b = server.shardOf(dst);
  await server.coord.withShards([a, b], async () => {
    const payload = await dumpValue(server, a, client.db, src, 'read');
    if (payload === null) return c.w.int(0);
    const from = { shard: a, db: client.db, key: src };
    c.w.int((await writeAcross(server, from, { shard: b, db: o.dstDb, key: dst }, payload, o.replace ? 'replace' : 'nx')) ? 1 : 0);
  });
}

/** __dump on `shard`: the key's encoded meta value (type, expiry, value), or null. */
async function dumpValue(server: ServerState, shard: number, db: number, key: Buffer, mode: 'read' | 'write'): Promise<Buffer | null> {
  const r = parseReply(await server.callShard(shard, db, ['__dump', key, mode]));
  throwIfError(r);
  return r as Buffer | null;
}

/**
 * __restore of `dst` with the parts `also` (on other shards) as one cross-shard write: true when
 * the value was written (false: NX and the key exists; only when `also` is empty, see writeAcross).
 */
async function restoreValue(server: ServerState, dst: Place, payload: Buffer, mode: 'nx' | 'replace', also: readonly Part[]): Promise<boolean> {
  const replies = await crossWrite(server, { shard: dst.shard, db: dst.db, args: ['__restore', dst.key, payload, mode] }, also);
  firstError(replies);
  return replies[0] === 1;
}

// ---------------------------------------------------------------- collections across shards

/** Records per __vread chunk, and the bytes after which a chunk ends early. */
const COPY_CHUNK = 1024;
const COPY_CHUNK_BYTES = 1 << 20;

interface Place {
  shard: number;
  db: number;
  key: Buffer;
}

function versionBytes(v: bigint): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(v);
  return b;
}

async function callOk(server: ServerState, p: Place, args: (Buffer | string)[]): Promise<RespValue> {
  const r = parseReply(await server.callShard(p.shard, p.db, args));
  throwIfError(r);
  return r;
}

/**
 * Writes a value dumped from `src` (its encoded meta) as `dst` on another shard; the caller holds
 * both shards. A string is its meta record. A collection's records are streamed in bounded chunks
 * under a fresh version staged on the destination (its 'G' record carries the shard's boot id, so
 * the sweep leaves it alone, and a crash leaves it to the sweep); the version becomes visible only
 * when __restore writes its meta at the end, so no client ever sees a half-copied key. The parts
 * `also` (RENAME: the source's deletion) are written with that meta as one cross-shard write.
 * Returns false when `mode` is nx and `dst` exists.
 */
async function writeAcross(server: ServerState, src: Place, dst: Place, payload: Buffer, mode: 'nx' | 'replace', also: readonly Part[] = []): Promise<boolean> {
  // Checked first, so a refused copy streams nothing and no part of `also` is ever written (the
  // reservation keeps the answer true). A lone string's __restore checks for itself.
  const lone = payload[0] === Type.STRING && also.length === 0;
  if (mode === 'nx' && !lone && (await dumpValue(server, dst.shard, dst.db, dst.key, 'write')) !== null) return false;
  if (payload[0] === Type.STRING) return restoreValue(server, dst, payload, mode, also);
  const m = decodeMeta(payload);
  const staged = (await callOk(server, dst, ['__vstage', 'begin', dst.key])) as Buffer;
  let settled = false;
  try {
    await streamVersion(server, src, m.version!, dst, staged);
    const written = await restoreValue(server, dst, encodeMeta({ ...m, version: staged.readBigUInt64BE(0) }), mode, also);
    settled = true; // __restore committed the staged version or left it to the sweep
    return written;
  } finally {
    if (!settled) await server.callShard(dst.shard, dst.db, ['__vstage', 'abort', dst.key, staged]);
  }
}

/** Copies every record of `src`'s version `from` to `dst`'s staged version, one chunk in flight each way. */
async function streamVersion(server: ServerState, src: Place, from: bigint, dst: Place, staged: Buffer): Promise<void> {
  const version = versionBytes(from);
  for (const kind of VERSIONED_PREFIXES) {
    let after: Buffer = EMPTY;
    let writing: Promise<RespValue> | null = null;
    for (;;) {
      const chunk = (await callOk(server, src, ['__vread', src.key, String(kind), version, after])) as Buffer[];
      if (writing) await writing;
      if (chunk.length === 0) break;
      writing = callOk(server, dst, ['__vwrite', dst.key, String(kind), staged, ...chunk]);
      writing.catch(() => undefined); // awaited with the next chunk; a failure must not go unhandled meanwhile
      after = chunk[chunk.length - 2]!;
    }
  }
}

/** The record kind argument of __vread / __vwrite (one of VERSIONED_PREFIXES). */
function kindArg(b: Buffer): number {
  const kind = Number(b.toString('latin1'));
  if (!(VERSIONED_PREFIXES as readonly number[]).includes(kind)) throw new CommandError(E.SYNTAX);
  return kind;
}

/** __vread <key> <kind> <version> <after>: [suffix, value, ...] of up to COPY_CHUNK records after <after>. */
const vreadShard: ShardHandler = async (c) => {
  const prefix = versionPrefix(kindArg(c.args[2]!), c.db, c.args[1]!, c.args[3]!.readBigUInt64BE(0));
  const after = c.args[4]!;
  await synced(c);
  const start = after.length > 0 ? { gt: Buffer.concat([prefix, after]) } : { gte: prefix };
  const out: Buffer[] = [];
  let bytes = 0;
  await scan(c.store, { ...start, lt: prefixEnd(prefix)!, limit: COPY_CHUNK }, (k, v) => {
    out.push(k.subarray(prefix.length), v);
    bytes += k.length + v.length;
    return bytes < COPY_CHUNK_BYTES;
  });
  c.w.array(out.length);
  for (const b of out) c.w.bulk(b);
};

/** The 'G' record of a version staged by __vstage on this shard, or a CommandError. */
function stagedRecord(c: ShardCall, key: Buffer, version: bigint): Buffer {
  const g = garbageKey(c.db, key, version);
  if (!c.store.get(g)?.equals(sweepState(c.store).bootId)) throw new CommandError('ERR no such staged version');
  return g;
}

/** __vwrite <key> <kind> <version> <suffix> <value> ...: writes records into a staged version. */
const vwriteShard: ShardHandler = (c) => {
  if (c.args.length % 2 !== 0) throw new CommandError(E.WRONG_ARGS('__vwrite'));
  const version = c.args[3]!.readBigUInt64BE(0);
  stagedRecord(c, c.args[1]!, version);
  const prefix = versionPrefix(kindArg(c.args[2]!), c.db, c.args[1]!, version);
  for (let i = 4; i < c.args.length; i += 2) c.store.put(Buffer.concat([prefix, c.args[i]!]), c.args[i + 1]!);
  c.w.int((c.args.length - 4) / 2);
};

/**
 * __vstage BEGIN <key>: a fresh version for <key>, marked as being staged (its 'G' record carries
 * this shard's boot id); answers the version (8 bytes). __vstage ABORT <key> <version>: the staged
 * version becomes garbage (a no-op when __restore already settled it).
 */
const vstageShard: ShardHandler = (c) => {
  const key = c.args[2]!;
  const sub = lower(c.args[1]!);
  if (sub === 'begin' && c.args.length === 3) {
    const version = c.store.newVersion();
    c.store.put(garbageKey(c.db, key, version), sweepState(c.store).bootId);
    return c.w.bulk(versionBytes(version));
  }
  if (sub === 'abort' && c.args.length === 4) {
    const version = c.args[3]!.readBigUInt64BE(0);
    if (c.store.get(garbageKey(c.db, key, version))?.equals(sweepState(c.store).bootId)) c.store.markGarbage(c.db, key, version);
    return c.w.ok();
  }
  throw new CommandError(E.SYNTAX);
};

// ---------------------------------------------------------------- MOVE

const moveShard: ShardHandler = (c) => {
  const key = c.args[1]!;
  const dstDb = c.store.dbId(dbArg(c.args[2]!, c.store.databases));
  if (dstDb === c.db) throw new CommandError(E.SAME_OBJECT);
  const now = Date.now();
  const m = c.store.lookup(c.db, key, now);
  if (!m) return c.w.int(0);
  if (c.store.lookup(dstDb, key, now)) return c.w.int(0);
  return then(transferValue(c, { db: c.db, key, m }, { db: dstDb, key, old: null }, true), () => c.w.int(1));
};

// ---------------------------------------------------------------- EXPIRE family, TTL family

interface ExpireFlags {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
}

/** parseExtendedExpireArgumentsOrReply(). */
function parseExpireFlags(args: Buffer[]): ExpireFlags {
  const f: ExpireFlags = { nx: false, xx: false, gt: false, lt: false };
  for (let j = 3; j < args.length; j++) {
    const opt = lower(args[j]!);
    if (opt === 'nx' || opt === 'xx' || opt === 'gt' || opt === 'lt') f[opt] = true;
    else throw new CommandError(errUnsupportedOption(args[j]!));
  }
  if (f.nx && (f.xx || f.gt || f.lt)) throw new CommandError(ERR_NX_WITH_OTHERS);
  if (f.gt && f.lt) throw new CommandError(ERR_GT_AND_LT);
  return f;
}

/**
 * The absolute expiry (Unix ms) of an EXPIRE-family argument, with Redis' overflow checks:
 * seconds must survive *1000, and adding the base time must not pass LLONG_MAX.
 */
function expireTime(arg: Buffer, basetime: bigint, seconds: boolean, cmd: string): bigint {
  let when = i64Arg(arg);
  if (seconds) {
    if (when > LLONG_MAX / 1000n || when < LLONG_MIN / 1000n) throw new CommandError(E.INVALID_EXPIRE(cmd));
    when *= 1000n;
  }
  if (when > LLONG_MAX - basetime) throw new CommandError(E.INVALID_EXPIRE(cmd));
  return when + basetime;
}

/** NX/XX/GT/LT against the current expiry (-1: none, which counts as an infinite TTL). */
function expireAllowed(f: ExpireFlags, current: bigint, when: bigint): boolean {
  if (f.nx && current !== -1n) return false;
  if (f.xx && current === -1n) return false;
  if (f.gt && (current === -1n || when <= current)) return false;
  if (f.lt && current !== -1n && when >= current) return false;
  return true;
}

function expireShard(cmd: string, relative: boolean, seconds: boolean): ShardHandler {
  return (c) => {
    const flags = parseExpireFlags(c.args);
    const now = Date.now();
    const when = expireTime(c.args[2]!, relative ? BigInt(now) : 0n, seconds, cmd);
    const key = c.args[1]!;
    const m = c.store.lookup(c.db, key, now);
    if (!m) return c.w.int(0);
    if (!expireAllowed(flags, m.expire === 0 ? -1n : BigInt(m.expire), when)) return c.w.int(0);
    // A time already past deletes the key (checkAlreadyExpired), and still answers 1.
    // Expiry times beyond 2^53 ms (year 287396) are kept at double precision.
    if (when <= BigInt(now)) c.store.deleteKey(c.db, key, m);
    else c.store.setExpire(c.db, key, m, Number(when));
    c.w.int(1);
  };
}

/** ttlGenericCommand(): -2 missing, -1 no expiry, else the TTL or the absolute time, in s or ms. */
function ttlShard(ms: boolean, absolute: boolean): ShardHandler {
  return (c) => {
    const now = Date.now();
    const m = c.store.lookupRead(c.db, c.args[1]!, now);
    c.w.int(m ? ttlFigure(m.expire, now, ms, absolute) : -2);
  };
}

const { W_FAST: writeFast, RO_FAST: readFast } = accessSets('keyspace');

// ---------------------------------------------------------------- KEYS

type MetaRange = { gte: Buffer; lt: Buffer } | { gt: Buffer; lt: Buffer };

/** sync() when writes are pending, so that range reads (scan.ts) see every write; else nothing to wait for. */
function synced(c: ShardCall): Promise<void> | undefined {
  return c.store.hasPending ? c.sync() : undefined;
}

/**
 * Calls `each` for up to `limit` meta records in `range` (read from LevelDB in chunks: the caller
 * has synced pending writes); returns how many it saw and the user key of the last one.
 * `each` may write (delete expired keys): the rest of the range is read from LevelDB regardless.
 */
function forEachMeta(c: ShardCall, range: MetaRange, limit: number,
  each: (key: Buffer, v: Buffer) => void): MaybePromise<{ seen: number; last: Buffer | null }> {
  let last: Buffer | null = null;
  return andThen(scan(c.store, { ...range, limit }, (k, v) => {
    last = k.subarray(2);
    each(last, v);
  }), (seen) => ({ seen, last }));
}

const keysShard: ShardHandler = async (c) => {
  const pattern = effectivePattern(c.args[1]!);
  await synced(c);
  const now = Date.now();
  const out: Buffer[] = [];
  // Like Redis, KEYS skips expired keys without deleting them.
  await forEachMeta(c, metaRange(c.db, pattern), Infinity, (key, v) => {
    if ((pattern === null || stringMatchLen(pattern, key)) && !isExpired(v, now)) out.push(key);
  });
  c.w.array(out.length);
  for (const k of out) c.w.bulk(k);
};

/** KEYS over every shard: the shards' arrays joined without re-encoding their elements. */
async function keysFront(c: FrontCall): Promise<void> {
  const { server, client } = c.ctx;
  const calls: Promise<Buffer>[] = [];
  for (let s = 0; s < server.shards.count; s++) calls.push(server.callShard(s, client.db, ['__keys', c.args[1]!]));
  let total = 0;
  const bodies: Buffer[] = [];
  for (const r of await Promise.all(calls)) {
    if (r[0] !== 0x2a /* * */) {
      throwIfError(parseReply(r));
      throw new Error('__keys: unexpected reply');
    }
    const nl = r.indexOf(10);
    total += Number(r.toString('latin1', 1, nl - 1));
    bodies.push(r.subarray(nl + 1));
  }
  c.w.array(total);
  for (const b of bodies) c.w.raw(b);
}

// ---------------------------------------------------------------- SCAN

/**
 * SCAN cursors. Redis' cursor is a position in its hash table; a shard's keys are ordered in
 * LevelDB, so a position is (shard, last key returned), and the cursor a client sees is a number
 * that names one: id * CURSOR_SHARDS + shard. The front thread keeps the last CURSOR_CAPACITY
 * positions (as kvrocks does). Every key present for the whole scan is returned at least once:
 * shards are visited in order and each from its start or just after its last key. A cursor the
 * table forgot (evicted, or from before a restart) resumes its shard from the start: duplicates,
 * never gaps.
 */
const CURSOR_SHARDS = 256n; // the most shards a server can have (config 'shards' max)
const CURSOR_CAPACITY = 8192;

interface ScanPosition {
  shard: number;
  /** Last key returned on `shard`; null: the shard's start. */
  after: Buffer | null;
}

class CursorTable {
  private readonly positions = new Map<bigint, ScanPosition>();
  // A random start makes a cursor from an earlier run unlikely to name a position of this one.
  private nextId = BigInt(1 + Math.floor(Math.random() * 2 ** 40));

  save(p: ScanPosition): bigint {
    const cursor = this.nextId++ * CURSOR_SHARDS + BigInt(p.shard);
    this.positions.set(cursor, p);
    if (this.positions.size > CURSOR_CAPACITY) this.positions.delete(this.positions.keys().next().value!);
    return cursor;
  }

  resolve(cursor: bigint, shards: number): ScanPosition {
    if (cursor === 0n) return { shard: 0, after: null };
    const p = this.positions.get(cursor);
    if (p && p.shard < shards) return p;
    const shard = Number(cursor % CURSOR_SHARDS);
    return { shard: shard < shards ? shard : 0, after: null };
  }
}

const cursors = new CursorTable();

const ULONG_MAX = 18446744073709551615n;

/** parseScanCursorOrReply(): strtoul() rules (sign, leading zeros, "" is 0), no leading space. */
function parseScanCursor(b: Buffer): bigint {
  let s = b.toString('latin1');
  const nul = s.indexOf('\0');
  if (nul >= 0) s = s.slice(0, nul); // C stops at the NUL and sees a complete number
  if (s === '') return 0n;
  const m = /^([+-]?)([0-9]+)$/.exec(s);
  if (!m) throw new CommandError(ERR_INVALID_CURSOR);
  const v = BigInt(m[2]!);
  if (v > ULONG_MAX) throw new CommandError(ERR_INVALID_CURSOR);
  return m[1] === '-' ? (ULONG_MAX + 1n - v) % (ULONG_MAX + 1n) : v;
}

const MAX_SCAN_COUNT = 0x7fffffffn;

interface ScanOptions {
  count: number;
  pattern: Buffer | null;
  type: Buffer | null;
}

function parseScanOptions(args: Buffer[], from: number): ScanOptions {
  const o: ScanOptions = { count: 10, pattern: null, type: null };
  for (let i = from; i < args.length; i += 2) {
    const opt = lower(args[i]!);
    const hasValue = i + 1 < args.length;
    if (opt === 'count' && hasValue) {
      const n = i64Arg(args[i + 1]!);
      if (n < 1n) throw new CommandError(E.SYNTAX);
      // A hint: capped at what a LevelDB iterator limit takes (an int32; larger would wrap).
      o.count = n > MAX_SCAN_COUNT ? Number(MAX_SCAN_COUNT) : Number(n);
    } else if (opt === 'match' && hasValue) {
      o.pattern = effectivePattern(args[i + 1]!);
    } else if (opt === 'type' && hasValue) {
      o.type = args[i + 1]!;
    } else {
      throw new CommandError(E.SYNTAX);
    }
  }
  return o;
}

/** Options as __scan gets them (the same syntax as SCAN's). */
function scanOptionArgs(o: ScanOptions, count: number): Buffer[] {
  const out: Buffer[] = [Buffer.from('count'), Buffer.from(String(count))];
  if (o.pattern) out.push(Buffer.from('match'), o.pattern);
  if (o.type) out.push(Buffer.from('type'), o.type);
  return out;
}

async function scanFront(c: FrontCall): Promise<void> {
  const { server, client } = c.ctx;
  const cursor = parseScanCursor(c.args[1]!);
  const o = parseScanOptions(c.args, 2);
  const shards = server.shards.count;
  let pos: ScanPosition | null = cursors.resolve(cursor, shards);
  let budget = o.count;
  const keys: Buffer[] = [];
  // One shard at a time; a shard that runs out before COUNT hands the rest of it to the next.
  while (pos) {
    const r = parseReply(await server.callShard(pos.shard, client.db,
      ['__scan', pos.after ? 'after' : 'start', pos.after ?? EMPTY, ...scanOptionArgs(o, budget)]));
    throwIfError(r);
    const [next, examined, found] = r as [Buffer | null, number, Buffer[]];
    for (const k of found) keys.push(k);
    if (next !== null) {
      pos = { shard: pos.shard, after: Buffer.from(next) };
      break;
    }
    pos = pos.shard + 1 < shards ? { shard: pos.shard + 1, after: null } : null;
    budget -= examined;
    if (budget <= 0) break;
  }
  c.w.array(2);
  c.w.bulk(pos ? String(cursors.save(pos)) : '0');
  c.w.array(keys.length);
  for (const k of keys) c.w.bulk(k);
}

/**
 * __scan start|after <key> COUNT n [MATCH p] [TYPE t]: examines up to n meta records of the db
 * from the start or after <key>, and answers [last examined key | nil when the shard is done,
 * examined, [matching keys]]. Expired keys are deleted on the way, as Redis' SCAN does.
 */
const scanShard: ShardHandler = async (c) => {
  const after = c.args[1]!.toString('latin1') === 'after' ? c.args[2]! : null;
  const o = parseScanOptions(c.args, 3);
  const type = o.type ? o.type.toString('latin1').toLowerCase() : null;
  await synced(c);
  const now = Date.now();
  const range = metaRange(c.db, o.pattern);
  // Resume after the cursor's key, unless the pattern's range starts later.
  const resume = after ? metaKey(c.db, after) : null;
  const bounds: MetaRange = resume && Buffer.compare(resume, range.gte) >= 0 ? { gt: resume, lt: range.lt } : range;
  const found: Buffer[] = [];
  const { seen, last } = await forEachMeta(c, bounds, o.count, (key, v) => {
    if (o.pattern && !stringMatchLen(o.pattern, key)) return;
    if (isExpired(v, now)) {
      c.store.deleteKey(c.db, key, decodeMeta(v));
      c.store.expiredKeys++;
      return;
    }
    if (type !== null && TYPE_NAMES[v[0]!] !== type) return;
    found.push(key);
  });
  c.w.array(3);
  if (seen < o.count || last === null) c.w.nil();
  else c.w.bulk(last);
  c.w.int(seen);
  c.w.array(found.length);
  for (const k of found) c.w.bulk(k);
};

// ---------------------------------------------------------------- RANDOMKEY

/** Below this many keys a shard picks uniformly (by skipping); above, by seeking a random key. */
const UNIFORM_PICK_MAX = 1024;
const RANDOM_TRIES = 16;

/** A random key between `lo` and `hi` (bytewise, lo < hi): their common prefix, then random bytes. */
function randomKeyBetween(lo: Buffer, hi: Buffer): Buffer {
  let i = 0;
  while (i < lo.length && i < hi.length && lo[i] === hi[i]) i++;
  const from = i < lo.length ? lo[i]! : 0;
  const to = i < hi.length ? hi[i]! : 255;
  const out = Buffer.allocUnsafe(i + 9);
  hi.copy(out, 0, 0, i);
  out[i] = from + Math.floor(Math.random() * (to - from + 1));
  for (let j = i + 1; j < out.length; j++) out[j] = Math.floor(Math.random() * 256);
  return out;
}

/** The first key of a range (reverse: the last), or null. */
function firstKey(c: ShardCall, range: { gte: Buffer; lt: Buffer; reverse?: boolean; skip?: number }): MaybePromise<Buffer | null> {
  let found: Buffer | null = null;
  return andThen(scan(c.store, { ...range, limit: 1, values: false }, (k) => {
    found = k;
  }), () => found);
}

/** One candidate meta key of the db, chosen at random (null when the db has no records). */
async function randomCandidate(c: ShardCall): Promise<Buffer | null> {
  const { gte, lt } = metaRange(c.db, null);
  const count = c.store.counts[c.db]!;
  if (count <= UNIFORM_PICK_MAX) {
    return firstKey(c, { gte, lt, skip: Math.floor(Math.random() * count) });
  }
  const first = await firstKey(c, { gte, lt });
  const last = await firstKey(c, { gte, lt, reverse: true });
  if (!first || !last) return first ?? null;
  const hit = await firstKey(c, { gte: randomKeyBetween(first, last), lt });
  return hit ?? first; // past the last key: wrap around
}

/** __randomkey: a random live key of this shard's db, or nil. Expired picks are deleted. */
const randomKeyShard: ShardHandler = async (c) => {
  const now = Date.now();
  for (let tries = 0; tries < RANDOM_TRIES && c.store.counts[c.db]! > 0; tries++) {
    await synced(c);
    const k = await randomCandidate(c);
    if (k === null) break;
    const key = k.subarray(2);
    if (c.store.lookup(c.db, key, now)) return c.w.bulk(key);
  }
  // Unlucky with expired keys: take the first live one in key order (deleting expired ones).
  await synced(c);
  let found: Buffer | null = null;
  const { gte, lt } = metaRange(c.db, null);
  await scan(c.store, { gte, lt, values: false }, (k) => {
    if (!c.store.lookup(c.db, k.subarray(2), now)) return true;
    found = k.subarray(2);
    return false;
  });
  if (found) c.w.bulk(found);
  else c.w.nil();
};

/** RANDOMKEY: a shard chosen with probability proportional to its key count, then a key in it. */
async function randomKeyFront(c: FrontCall): Promise<void> {
  const { server, client } = c.ctx;
  const shards = server.shards.count;
  let order = [0];
  if (shards > 1) {
    const counts = (await callAllShards(c, ['__dbsize'])).map((r) => (typeof r === 'number' ? r : 0));
    const total = counts.reduce((a, b) => a + b, 0);
    if (total === 0) return c.w.nil();
    let r = Math.floor(Math.random() * total);
    let chosen = 0;
    while (r >= counts[chosen]!) r -= counts[chosen++]!;
    // Should the chosen shard hold only expired keys, the others follow in turn.
    order = [chosen, ...counts.map((_, i) => i).filter((i) => i !== chosen && counts[i]! > 0)];
  }
  for (const s of order) {
    const r = parseReply(await server.callShard(s, client.db, ['__randomkey']));
    throwIfError(r);
    if (r !== null) return c.w.bulk(r as Buffer);
  }
  c.w.nil();
}

// ---------------------------------------------------------------- FLUSHDB / FLUSHALL

const FLUSH_CHUNK = 1024;

/**
 * getFlushCommandFlags(): SYNC and ASYNC are accepted and behave alike: the keys go at once, and
 * their collections' records and the disk space go with the background sweep (neither waits).
 */
function parseFlushOptions(args: Buffer[]): void {
  if (args.length === 1) return;
  const opt = lower(args[1]!);
  if (args.length === 2 && (opt === 'sync' || opt === 'async')) return;
  throw new CommandError(E.SYNTAX);
}

/**
 * Empties database number `n` on this shard. In O(1) when an id is free: the database takes a
 * fresh id and the sweep deletes the old one's records by range (Store.retireDb, encoding.ts).
 * Otherwise every key goes: meta records (with their expiry index entries and counts, through
 * deleteKey) in bounded chunks, each written before the next is read, so one batch never holds
 * the whole db; collections leave 'G' records, their records go with the background sweep, after
 * which the db's ranges are compacted. The shard runs nothing else meanwhile (FLUSHDB is atomic).
 */
async function flushDb(c: ShardCall, n: number): Promise<void> {
  if (c.store.retireDb(n)) return;
  const db = c.store.dbId(n);
  const { gte, lt } = metaRange(db, null);
  let deleted = 0;
  for (;;) {
    // Each chunk's deletes are written before the next chunk is read from the start again.
    await synced(c);
    const n = await scan(c.store, { gte, lt, limit: FLUSH_CHUNK }, (k, v) => c.store.deleteKey(db, k.subarray(2), decodeMeta(v)));
    deleted += n;
    if (n < FLUSH_CHUNK) break;
  }
  if (deleted > 0) markFlushed(c.store, db);
}

function flushFront(all: boolean) {
  return async (c: FrontCall): Promise<void> => {
    parseFlushOptions(c.args);
    for (const r of await writeAllShards(c, ['__flush', all ? 'all' : 'db'])) throwIfError(r);
    Sweeper.of(c.ctx.server)?.kick();
    c.w.ok();
  };
}

// ---------------------------------------------------------------- SWAPDB

/** getIntFromObjectOrReply() with SWAPDB's message: not an integer, or outside C's int. */
function swapDbIndex(b: Buffer, which: 'first' | 'second'): number {
  const err = `ERR invalid ${which} DB index`;
  const v = i64Arg(b, err);
  if (v < -2147483648n || v > 2147483647n) throw new CommandError(err);
  return Number(v);
}

/**
 * SWAPDB in O(1): every shard swaps the two databases' ids (Store.swapDbs). The shards get it in
 * one front turn, as FLUSHALL does, so every later command of any client sees both swapped.
 */
async function swapDbFront(c: FrontCall): Promise<void> {
  const a = swapDbIndex(c.args[1]!, 'first');
  const b = swapDbIndex(c.args[2]!, 'second');
  const databases = c.ctx.server.config.databases as number;
  if (a < 0 || a >= databases || b < 0 || b >= databases) throw new CommandError(E.DB_INDEX);
  for (const r of await writeAllShards(c, ['__swapdb', String(a), String(b)])) throwIfError(r);
  c.w.ok();
}

// ---------------------------------------------------------------- the table

const sumAcrossShards = (name: string, write = false) => (c: FrontCall): Promise<void> => sumOverShards(c, name, restArePositions(c.args), write);

/** EXISTS and TOUCH: how many of the given keys exist (repeats count again). */
const countExisting: ShardHandler = (c) => {
  let n = 0;
  const now = Date.now();
  for (let i = 1; i < c.args.length; i++) if (c.store.lookupRead(c.db, c.args[i]!, now)) n++;
  c.w.int(n);
};

const deleteKeys: ShardHandler = (c) => {
  let n = 0;
  const now = Date.now();
  for (let i = 1; i < c.args.length; i++) {
    const m = c.store.lookup(c.db, c.args[i]!, now);
    if (m) {
      c.store.deleteKey(c.db, c.args[i]!, m);
      n++;
    }
  }
  c.w.int(n);
};

export const keyCommands: readonly CommandSpec[] = [
  command({
    name: 'del', arity: -2, flags: ['write'], acl: ['keyspace', 'write', 'slow'], keys: allKeys,
    shard: deleteKeys,
    front: sumAcrossShards('del', true),
  }),
  command({
    // Deleting is O(1) per key for every type here (sub-keys go with the sweep), as UNLINK promises.
    name: 'unlink', arity: -2, ...writeFast, keys: allKeys,
    shard: deleteKeys,
    front: sumAcrossShards('unlink', true),
  }),
  command({
    name: 'exists', arity: -2, ...readFast, keys: allKeys,
    shard: countExisting,
    front: sumAcrossShards('exists'),
  }),
  command({
    name: 'touch', arity: -2, ...readFast, keys: allKeys,
    shard: countExisting,
    front: sumAcrossShards('touch'),
  }),
  command({
    name: 'type', arity: 2, ...readFast, keys: oneKey,
    shard: (c) => {
      const m = c.store.lookupRead(c.db, c.args[1]!);
      c.w.simple(m ? TYPE_NAMES[m.type]! : 'none');
    },
  }),
  command({
    name: 'rename', arity: 3, flags: ['write'], acl: ['keyspace', 'write', 'slow'], keys: twoKeys,
    shard: renameShard(false), front: renameAcross(false), coordinated: true,
  }),
  command({
    name: 'renamenx', arity: 3, ...writeFast, keys: twoKeys,
    shard: renameShard(true), front: renameAcross(true), coordinated: true,
  }),
  command({
    name: 'copy', arity: -3, flags: ['write', 'denyoom'], acl: ['keyspace', 'write', 'slow'], keys: twoKeys,
    shard: copyShard, front: copyAcross, coordinated: true,
  }),
  command({
    name: 'move', arity: 3, ...writeFast, keys: oneKey,
    shard: moveShard,
  }),
  command({
    name: 'expire', arity: -3, ...writeFast, keys: oneKey,
    shard: expireShard('expire', true, true),
  }),
  command({
    name: 'pexpire', arity: -3, ...writeFast, keys: oneKey,
    shard: expireShard('pexpire', true, false),
  }),
  command({
    name: 'expireat', arity: -3, ...writeFast, keys: oneKey,
    shard: expireShard('expireat', false, true),
  }),
  command({
    name: 'pexpireat', arity: -3, ...writeFast, keys: oneKey,
    shard: expireShard('pexpireat', false, false),
  }),
  command({
    name: 'ttl', arity: 2, ...readFast, keys: oneKey,
    shard: ttlShard(false, false),
  }),
  command({
    name: 'pttl', arity: 2, ...readFast, keys: oneKey,
    shard: ttlShard(true, false),
  }),
  command({
    name: 'expiretime', arity: 2, ...readFast, keys: oneKey,
    shard: ttlShard(false, true),
  }),
  command({
    name: 'pexpiretime', arity: 2, ...readFast, keys: oneKey,
    shard: ttlShard(true, true),
  }),
  command({
    name: 'persist', arity: 2, ...writeFast, keys: oneKey,
    shard: (c) => {
      const m = c.store.lookup(c.db, c.args[1]!);
      if (!m || m.expire === 0) return c.w.int(0);
      c.store.setExpire(c.db, c.args[1]!, m, 0);
      c.w.int(1);
    },
  }),
  command({
    name: 'keys', arity: 2, flags: ['readonly'], acl: ['keyspace', 'read', 'slow', 'dangerous'], keys: null,
    allShards: true, front: keysFront,
  }),
  command({
    name: 'scan', arity: -2, flags: ['readonly'], acl: ['keyspace', 'read', 'slow'], keys: null,
    // Coordinated: it calls shards one after another, and the client's next commands must not
    // overtake it (a pipelined DEL after SCAN must not hide keys from it).
    allShards: true, front: scanFront, coordinated: true,
  }),
  command({
    name: 'randomkey', arity: 1, flags: ['readonly'], acl: ['keyspace', 'read', 'slow'], keys: null,
    allShards: true, front: randomKeyFront, coordinated: true, // two rounds of shard calls, see SCAN
  }),
  command({
    name: 'dbsize', arity: 1, ...readFast, keys: null,
    allShards: true,
    front: async (c) => {
      let n = 0;
      for (const r of await callAllShards(c, ['__dbsize'])) {
        throwIfError(r);
        n += r as number;
      }
      c.w.int(n);
    },
  }),
  command({
    name: 'swapdb', arity: 3, flags: ['write', 'fast'], acl: ['keyspace', 'write', 'fast', 'dangerous'], keys: null,
    allShards: true, front: swapDbFront,
  }),
  command({
    name: 'flushdb', arity: -1, flags: ['write'], acl: ['keyspace', 'write', 'slow', 'dangerous'], keys: null,
    allShards: true, front: flushFront(false),
  }),
  command({
    name: 'flushall', arity: -1, flags: ['write'], acl: ['keyspace', 'write', 'slow', 'dangerous'], keys: null,
    allShards: true, front: flushFront(true),
  }),

  // ------------------------------------------------------------ internal (front-to-shard) commands
  command({
    name: '__dbsize', arity: 1, flags: ['readonly', 'fast'], acl: [], keys: null, internal: true,
    shard: (c) => c.w.int(c.store.counts[c.db]!),
  }),
  command({
    name: '__keys', arity: 2, flags: ['readonly'], acl: [], keys: null, internal: true,
    shard: keysShard,
  }),
  command({
    name: '__scan', arity: -5, flags: ['readonly'], acl: [], keys: null, internal: true,
    shard: scanShard,
  }),
  command({
    name: '__randomkey', arity: 1, flags: ['readonly'], acl: [], keys: null, internal: true,
    shard: randomKeyShard,
  }),
  command({
    name: '__flush', arity: 2, flags: ['write'], acl: [], keys: null, internal: true,
    shard: async (c) => {
      if (c.args[1]!.toString('latin1') === 'all') for (let n = 0; n < c.store.databases; n++) await flushDb(c, n);
      else await flushDb(c, c.store.dbNumber(c.db));
      c.w.ok();
    },
  }),
  command({
    name: '__swapdb', arity: 3, flags: ['write'], acl: [], keys: null, internal: true,
    shard: (c) => {
      c.store.swapDbs(Number(c.args[1]!.toString('latin1')), Number(c.args[2]!.toString('latin1')));
      c.w.ok();
    },
  }),
  command({
    name: '__dump', arity: 3, flags: ['readonly'], acl: [], keys: null, internal: true,
    shard: (c) => {
      const key = c.args[1]!;
      const m = c.args[2]!.toString('latin1') === 'read' ? c.store.lookupRead(c.db, key) : c.store.lookup(c.db, key);
      if (m) c.w.bulk(encodeMeta(m));
      else c.w.nil();
    },
  }),
  command({
    name: '__restore', arity: 4, flags: ['write'], acl: [], keys: null, internal: true,
    shard: (c) => {
      const key = c.args[1]!;
      const m = decodeMeta(c.args[2]!);
      // A collection's records are already here, under a staged version: commit it or drop it.
      const staged = m.type === Type.STRING ? null : stagedRecord(c, key, m.version!);
      const drop = (): void => {
        if (staged) c.store.markGarbage(c.db, key, m.version!);
      };
      const now = Date.now();
      const old = c.store.lookup(c.db, key, now);
      if (old && c.args[3]!.toString('latin1') === 'nx') {
        drop();
        return c.w.int(0);
      }
      // Expired on its way here: as if it was written and expired at once.
      if (m.expire !== 0 && m.expire <= now) {
        if (old) c.store.deleteKey(c.db, key, old);
        drop();
      } else {
        if (staged) c.store.del(staged);
        c.store.putMeta(c.db, key, m, old);
      }
      c.w.int(1);
    },
  }),
  command({
    name: '__vstage', arity: -3, flags: ['write'], acl: [], keys: null, internal: true,
    shard: vstageShard,
  }),
  command({
    name: '__vread', arity: 5, flags: ['readonly'], acl: [], keys: null, internal: true,
    shard: vreadShard,
  }),
  command({
    name: '__vwrite', arity: -4, flags: ['write'], acl: [], keys: null, internal: true,
    shard: vwriteShard,
  }),
];
