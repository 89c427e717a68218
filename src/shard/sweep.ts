/**
 * The background sweep: deletes the sub-keys and score entries of dead collection versions.
 *
 * DEL, overwrite, expiry and FLUSHDB of a collection only change its meta record and leave a
 * 'G' record naming the dead version (Store.markGarbage). Nothing reads a dead version again, so
 * its records can be deleted at leisure, from any thread, in any number of separate batches.
 *
 * Three parts, one per thread kind:
 *
 *  - Pool side (sweepGarbage, compactDatabases; run by workers/background.ts in the piscina pool,
 *    Cairn's "bio"): opens the shard's LevelDB location (classic-level shares the shard's handle:
 *    both open it with `multithreading: true`), walks the 'G' records in key order, and deletes
 *    each version's 'S' and 'Z' records in batches of SWEEP_BATCH keys straight into LevelDB.
 *    A task is bounded by a key budget and a time budget and returns a cursor to resume from.
 *    A swept version of COMPACT_MIN_KEYS or more records gets compactRange over its own ranges, so
 *    the disk space comes back now rather than whenever LevelDB's compactions pass by. The shard
 *    thread itself does none of this work, so it keeps answering while a huge collection goes.
 *
 *  - Shard side (`__sweep`, sweepState): the shard stays the only writer of its 'G' records. The
 *    pool reports the versions it finished; the shard deletes their 'G' records through its own
 *    group commit and keeps the backlog count exact: 'G' records found at open + those written
 *    since - versions finished. A 'G' record goes only after its sub-keys are gone, so a sweep cut
 *    short by a crash or restart resumes from the records that are still there.
 *
 *  - Front side (Sweeper): owns the pool, one lane per shard: asks the shard for its backlog
 *    (`__sweep stat`), runs sweep tasks while there is one, then the compaction a FLUSHDB or
 *    FLUSHALL asked for, and polls again every POLL_MS when idle.
 *
 * A version is never swept while it is live: a 'G' record whose key has a meta record of the same
 * version is dropped without deleting anything (it would be a bug elsewhere; counted and logged).
 * A 'G' record carrying this process's boot id names a version staged by a cross-shard RENAME/COPY
 * in progress (see encoding.ts) and is skipped.
 */
import { randomBytes } from 'node:crypto';
import { ClassicLevel } from 'classic-level';
import type { Piscina } from 'piscina';
import { command, type CommandSpec, type ShardCall } from '../commands/types.js';
import { CommandError, E } from '../commands/errors.js';
import { lower } from '../commands/args.js';
import { parseReply, ReplyErr, type RespValue } from '../server/resp/reply-parser.js';
import type { Db, Store } from '../storage/store.js';
import {
  Prefix, Type, VERSIONED_PREFIXES, EXPIRY_DB_OFFSET, decodeGarbageKey, decodeMeta, metaKey, prefixEnd, versionPrefix,
} from '../storage/encoding.js';

/** Keys deleted per LevelDB batch: small enough that a shard's own batch never waits long behind one. */
export const SWEEP_BATCH = 1000;
/** A swept version with at least this many records gets its ranges compacted at once. */
export const COMPACT_MIN_KEYS = 4096;
/** Budgets of one pool task (the front re-queues the next one; other shards' lanes interleave). */
const TASK_MAX_KEYS = 200_000;
const TASK_MAX_MS = 50;
/** How often an idle lane asks its shard for garbage, and waits after a failure. */
const POLL_MS = 100;
const RETRY_MS = 1000;
/** The longest shutdown waits for a running task (a compaction) before the pool is destroyed. */
const STOP_WAIT_MS = 10_000;

const GARBAGE_START = Buffer.from([Prefix.GARBAGE]);
const GARBAGE_END = Buffer.from([Prefix.GARBAGE + 1]);

// ================================================================ pool side

/** Where a sweep resumes: after a finished 'G' record, or inside one (a kind and its last deleted key). */
export type SweepCursor =
  | { after: Uint8Array }
  | { within: Uint8Array; kind: number; last: Uint8Array; deleted: number };

export interface SweepTask {
  /** The shard's LevelDB location. */
  path: string;
  /** The shard's boot id: 'G' records carrying it are copies in progress. */
  bootId: Uint8Array;
  resume: SweepCursor | null;
  maxKeys: number;
  maxMs: number;
}

export interface SweepResult {
  /** 'G' records whose versions are gone (the shard deletes the records). */
  done: Uint8Array[];
  /** Records deleted ('S' and 'Z'). */
  deleted: number;
  /** 'G' records that named a live version (dropped without deleting anything). */
  live: number;
  /** Ranges compacted. */
  compacted: number;
  /** Where the next task continues; null: from the first 'G' record. */
  resume: SweepCursor | null;
}

export interface CompactTask {
  path: string;
  dbs: number[];
}

/** Opens a shard's location from another thread (shares the shard's handle; never creates one). */
export async function openShared(path: string): Promise<Db> {
  const db: Db = new ClassicLevel<Buffer, Buffer>(path, {
    keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false, multithreading: true,
  });
  await db.open();
  return db;
}

/** How many 'G' records a shard holds (its backlog when it opens). */
export async function countGarbage(db: Db): Promise<number> {
  const it = db.keys({ gte: GARBAGE_START, lt: GARBAGE_END, highWaterMarkBytes: 1 << 20 });
  let n = 0;
  try {
    for (let keys = await it.nextv(4096); keys.length > 0; keys = await it.nextv(4096)) n += keys.length;
  } finally {
    await it.close();
  }
  return n;
}

/** The task's budgets, spent as records are deleted. */
class Budget {
  private keys: number;
  private readonly deadline: number;

  constructor(maxKeys: number, maxMs: number) {
    this.keys = maxKeys;
    this.deadline = performance.now() + maxMs;
  }

  spend(n: number): void {
    this.keys -= n;
  }

  get spent(): boolean {
    return this.keys <= 0 || performance.now() >= this.deadline;
  }
}

/** A copy that owns its memory (structured clone would otherwise copy a view's whole backing store). */
function own(b: Buffer): Uint8Array {
  return new Uint8Array(b);
}

/** True when the key's current meta record is this very version (a 'G' record must never name it). */
function isLive(db: Db, d: number, key: Buffer, version: bigint): boolean {
  const raw = db.getSync(metaKey(d, key));
  if (raw === undefined || raw[0] === Type.STRING) return false;
  return decodeMeta(raw).version === version;
}

interface RangeSweep {
  finished: boolean;
  deleted: number;
  /** The last key passed (deleted, or left by the filter); null when none. */
  last: Buffer | null;
}

/**
 * Deletes the keys of one range (those `only` accepts, if given) in batches, at least one batch,
 * more while the budget lasts. The iterator reads a snapshot, so the deletes behind it cost it
 * nothing, and a resumed sweep starts after the last key passed instead of stepping over their
 * tombstones again.
 */
async function sweepRange(db: Db, range: { gte?: Buffer; gt?: Buffer; lt: Buffer }, budget: Budget,
  only?: (key: Buffer) => boolean): Promise<RangeSweep> {
  const it = db.keys({ ...range, highWaterMarkBytes: 1 << 20, fillCache: false });
  const out: RangeSweep = { finished: false, deleted: 0, last: null };
  try {
    do {
      const keys = await it.nextv(SWEEP_BATCH);
      if (keys.length === 0) {
        out.finished = true;
        break;
      }
      const doomed = only ? keys.filter(only) : keys;
      if (doomed.length > 0) await db.batch(doomed.map((key) => ({ type: 'del' as const, key })));
      out.deleted += doomed.length;
      out.last = keys[keys.length - 1]!;
      budget.spend(keys.length);
    } while (!budget.spent);
  } finally {
    await it.close();
  }
  return out;
}

type VersionSweep =
  | { finished: true; deleted: number; live: boolean; compact: boolean }
  | { finished: false; cursor: SweepCursor; deleted: number };

/** Sweeps one dead version (from where `within` stopped, if given). */
async function sweepVersion(db: Db, gkey: Buffer, within: Extract<SweepCursor, { within: Uint8Array }> | null,
  budget: Budget): Promise<VersionSweep> {
  const { db: d, key, version } = decodeGarbageKey(gkey);
  if (isLive(db, d, key, version)) return { finished: true, deleted: 0, live: true, compact: false };
  let total = within?.deleted ?? 0;
  let deletedNow = 0;
  for (let kind = within?.kind ?? 0; kind < VERSIONED_PREFIXES.length; kind++) {
    const prefix = versionPrefix(VERSIONED_PREFIXES[kind]!, d, key, version);
    const lt = prefixEnd(prefix)!;
    const start = within && kind === within.kind && within.last.length > 0 ? { gt: Buffer.from(within.last) } : { gte: prefix };
    const r = await sweepRange(db, { ...start, lt }, budget);
    total += r.deleted;
    deletedNow += r.deleted;
    if (!r.finished) {
      const cursor: SweepCursor = { within: own(gkey), kind, last: own(r.last!), deleted: total };
      return { finished: false, cursor, deleted: deletedNow };
    }
  }
  return { finished: true, deleted: deletedNow, live: false, compact: total >= COMPACT_MIN_KEYS };
}

/** Compacts a swept version's ranges, so its records' space comes back now. */
async function compactVersion(db: Db, gkey: Buffer): Promise<number> {
  const { db: d, key, version } = decodeGarbageKey(gkey);
  for (const p of VERSIONED_PREFIXES) {
    const prefix = versionPrefix(p, d, key, version);
    await db.compactRange(prefix, prefixEnd(prefix)!);
  }
  return VERSIONED_PREFIXES.length;
}

/**
 * One pool task: sweeps dead versions in 'G' key order from `t.resume` until the budget is spent.
 * Returns what it finished (for the shard to delete those 'G' records) and where to resume.
 */
export async function sweepGarbage(db: Db, t: SweepTask): Promise<SweepResult> {
  const budget = new Budget(t.maxKeys, t.maxMs);
  const bootId = Buffer.from(t.bootId);
  const result: SweepResult = { done: [], deleted: 0, live: 0, compacted: 0, resume: null };
  const r = t.resume;
  const within = r !== null && 'within' in r ? r : null;
  const from = r === null ? { gte: GARBAGE_START } : 'after' in r ? { gt: Buffer.from(r.after) } : { gte: Buffer.from(r.within) };
  const toCompact: Buffer[] = [];
  const it = db.iterator({ ...from, lt: GARBAGE_END });
  try {
    scan: for (let batch = await it.nextv(64); batch.length > 0; batch = await it.nextv(64)) {
      for (const [gkey, value] of batch) {
        if (value.length > 0 && value.equals(bootId)) continue; // a cross-shard copy in progress
        const inside = within !== null && Buffer.from(within.within).equals(gkey) ? within : null;
        const v = await sweepVersion(db, gkey, inside, budget);
        result.deleted += v.deleted;
        if (!v.finished) {
          result.resume = v.cursor;
          break scan;
        }
        if (v.live) result.live++;
        if (v.compact) toCompact.push(gkey);
        result.done.push(own(gkey));
        if (budget.spent) {
          result.resume = { after: own(gkey) };
          break scan;
        }
      }
    }
    // Reached the end of the 'G' records (resume stays null): the next task starts from the first again.
  } finally {
    await it.close();
  }
  // Only once the iterator is closed: its snapshot predates the deletes, and while it is open a
  // compaction must keep every record the snapshot can still see.
  for (const gkey of toCompact) result.compacted += await compactVersion(db, gkey);
  return result;
}

/** Where the purge of a retired database id resumes: a kind (index into ID_PREFIXES, or past it: 'E') and the last key passed. */
export interface PurgeCursor {
  kind: number;
  last: Uint8Array | null;
}

export interface PurgeTask {
  path: string;
  /** The retired database id. */
  id: number;
  /** It has 'E' entries (the expiry index is read whole for them); false: none, skip it. */
  expiries: boolean;
  resume: PurgeCursor | null;
  maxKeys: number;
  maxMs: number;
}

export interface PurgeResult {
  /** Records deleted. */
  deleted: number;
  /** 'G' records among them (the shard's backlog shrinks by these). */
  garbage: number;
  /** Ranges compacted (when finished). */
  compacted: number;
  /** Where the next task continues; null: the id holds no record any more. */
  resume: PurgeCursor | null;
}

/** Record kinds with the database id right after the prefix: a retired id's are deleted by range. */
const ID_PREFIXES = [Prefix.META, Prefix.SUB, Prefix.SCORE, Prefix.GARBAGE, Prefix.COUNT] as const;
const EXPIRY_START = Buffer.from([Prefix.EXPIRY]);
const EXPIRY_END = Buffer.from([Prefix.EXPIRY + 1]);

/**
 * One pool task of a flushed database's purge (FLUSHDB gave the database a fresh id: the old id's
 * records are dead, every one). Deletes the id's ranges kind by kind, then, if it has any, its 'E'
 * entries (the index is ordered by time, so all of it is read), within the budgets; when nothing
 * is left, compacts the id's ranges.
 */
export async function purgeDatabaseId(db: Db, t: PurgeTask): Promise<PurgeResult> {
  const budget = new Budget(t.maxKeys, t.maxMs);
  const out: PurgeResult = { deleted: 0, garbage: 0, compacted: 0, resume: null };
  const kinds = t.expiries ? ID_PREFIXES.length + 1 : ID_PREFIXES.length;
  for (let kind = t.resume?.kind ?? 0; kind < kinds; kind++) {
    const last = t.resume !== null && kind === t.resume.kind && t.resume.last !== null ? Buffer.from(t.resume.last) : null;
    let r: RangeSweep;
    if (kind < ID_PREFIXES.length) {
      const start = Buffer.from([ID_PREFIXES[kind]!, t.id]);
      r = await sweepRange(db, { ...(last ? { gt: last } : { gte: start }), lt: prefixEnd(start)! }, budget);
      if (ID_PREFIXES[kind] === Prefix.GARBAGE) out.garbage += r.deleted;
    } else {
      r = await sweepRange(db, { ...(last ? { gt: last } : { gte: EXPIRY_START }), lt: EXPIRY_END }, budget,
        (k) => k[EXPIRY_DB_OFFSET] === t.id);
    }
    out.deleted += r.deleted;
    if (!r.finished) {
      out.resume = { kind, last: own(r.last!) };
      return out;
    }
    if (budget.spent && kind + 1 < kinds) {
      out.resume = { kind: kind + 1, last: null };
      return out;
    }
  }
  out.compacted = await compactDatabases(db, [t.id]);
  return out;
}

/** Compacts the record ranges of flushed databases ('M', 'S', 'Z', 'G' of each), after their sweep. */
export async function compactDatabases(db: Db, dbs: readonly number[]): Promise<number> {
  let n = 0;
  for (const d of dbs) {
    for (const p of [Prefix.META, Prefix.SUB, Prefix.SCORE, Prefix.GARBAGE]) {
      const start = Buffer.from([p, d]);
      await db.compactRange(start, prefixEnd(start)!);
      n++;
    }
  }
  return n;
}

// ================================================================ shard side

/** One shard's sweep bookkeeping. */
export interface ShardSweepState {
  /** 'G' records found when the shard opened: a sweep cut short by a restart resumes with these. */
  atOpen: number;
  /** Versions finished (their 'G' records deleted) since the shard opened. */
  swept: number;
  /** Records the sweep deleted (INFO; zeroed by CONFIG RESETSTAT). */
  deleted: number;
  /** Databases flushed since their last compaction: compacted once the backlog is swept. */
  readonly flushed: Set<number>;
  /** Random per process start: marks the 'G' records of copies this process is staging. */
  readonly bootId: Buffer;
}

/** Kept beside each Store (not as module state, so several shards may share a thread). */
const states = new WeakMap<Store, ShardSweepState>();

export function sweepState(store: Store): ShardSweepState {
  let s = states.get(store);
  if (!s) states.set(store, (s = { atOpen: 0, swept: 0, deleted: 0, flushed: new Set(), bootId: randomBytes(8) }));
  return s;
}

/** Counts the backlog a shard opens with (before it serves anything). */
export async function openSweepState(store: Store): Promise<void> {
  sweepState(store).atOpen = await countGarbage(store.db);
}

/** After writes were discarded (a failed batch): makes the backlog match the 'G' records LevelDB holds. */
export async function resyncSweepState(store: Store): Promise<void> {
  const s = sweepState(store);
  s.atOpen = (await countGarbage(store.db)) - store.garbageWritten + s.swept;
}

/** Dead versions still to sweep on this shard. */
export function pendingVersions(store: Store): number {
  const s = sweepState(store);
  return s.atOpen + store.garbageWritten - s.swept;
}

/** Records that `db` was flushed, so its ranges get compacted after the sweep. */
export function markFlushed(store: Store, db: number): void {
  sweepState(store).flushed.add(db);
}

/**
 * __sweep STAT: [pending versions, boot id, [flushed dbs], [retired database id, has 'E' entries 0|1, ...]].
 * __sweep DONE <deleted> <gkey>...: the pool finished these versions and deleted <deleted> records.
 * __sweep COMPACTED <db>...: the flushed databases' ranges were compacted.
 * __sweep PURGED <id> <garbage> <deleted> <0|1>: the pool deleted <deleted> records of a retired
 *   database id, <garbage> of them 'G' records; 1: none is left, the id is free again.
 */
function sweepShard(c: ShardCall): void | Promise<void> {
  const sub = lower(c.args[1]!);
  const state = sweepState(c.store);
  if (sub === 'stat') {
    const retired = c.store.retired;
    c.w.array(4);
    c.w.int(pendingVersions(c.store));
    c.w.bulk(state.bootId);
    c.w.array(state.flushed.size);
    for (const d of state.flushed) c.w.int(d);
    c.w.array(retired.length * 2);
    for (const id of retired) {
      c.w.int(id);
      c.w.int(c.store.retiredHasExpiries(id) ? 1 : 0);
    }
  } else if (sub === 'purged' && c.args.length === 6) {
    const [id, garbage, deleted] = c.args.slice(2, 5).map((a) => Number(a.toString('latin1')));
    state.swept += garbage!;
    state.deleted += deleted!;
    if (c.args[5]!.toString('latin1') !== '1') return c.w.ok();
    return freeRetired(c, id!);
  } else if (sub === 'done' && c.args.length >= 3) {
    for (let i = 3; i < c.args.length; i++) {
      const g = c.args[i]!;
      if (g[0] !== Prefix.GARBAGE) throw new CommandError(E.SYNTAX);
      c.store.del(g);
    }
    state.swept += c.args.length - 3;
    state.deleted += Number(c.args[2]!.toString('latin1'));
    c.w.ok();
  } else if (sub === 'compacted') {
    for (let i = 2; i < c.args.length; i++) state.flushed.delete(Number(c.args[i]!.toString('latin1')));
    c.w.ok();
  } else {
    throw new CommandError(E.SYNTAX);
  }
}

/**
 * A purged id becomes free. The row cache may hold records of the id that the pool deleted behind
 * it, so it is emptied first, once every pending write is in LevelDB (nothing else runs meanwhile).
 */
async function freeRetired(c: ShardCall, id: number): Promise<void> {
  if (c.store.hasPending) await c.sync();
  c.store.rows.clear();
  c.store.freeDbId(id);
  c.w.ok();
}

export const sweepCommands: readonly CommandSpec[] = [
  command({
    name: '__sweep', arity: -2, flags: ['write'], acl: [], keys: null, internal: true,
    // Background sweep bookkeeping of this shard (STAT, DONE, COMPACTED, PURGED).
    shard: sweepShard,
  }),
];

// ================================================================ front side

export interface SweeperOptions {
  /** The compiled workers/background.js. */
  workerFile: URL;
  /** Each shard's LevelDB location, by shard index. */
  paths: readonly string[];
  callShard(shard: number, db: number, args: readonly (Buffer | string)[]): Promise<Buffer>;
  log(level: 'warn' | 'error', msg: string, extra?: object): void;
}

interface Lane {
  shard: number;
  path: string;
  resume: SweepCursor | null;
  /** The retired database id being purged, and where its purge resumes. */
  purge: { id: number; resume: PurgeCursor | null } | null;
  /** The lane has work: from the round that finds some to the first round that finds none. */
  active: boolean;
  /** Ends an idle wait early (kick, stop). */
  wake: (() => void) | null;
  loop: Promise<void>;
}

const sweepers = new WeakMap<object, Sweeper>();

/** The front thread's driver of the sweep: the piscina pool and one lane per shard. */
export class Sweeper {
  private pool: Piscina | null = null;
  private readonly lanes: Lane[];
  private stopping = false;
  /** Ranges compacted since start (INFO sweep_compactions; the shards count versions and records). */
  compactions = 0;

  constructor(private readonly o: SweeperOptions) {
    this.lanes = o.paths.map((path, shard) => ({ shard, path, resume: null, purge: null, active: false, wake: null, loop: Promise.resolve() }));
  }

  /** The sweeper registered for a server (INFO reads `running` through it). */
  static of(server: object): Sweeper | undefined {
    return sweepers.get(server);
  }

  register(server: object): void {
    sweepers.set(server, this);
  }

  async start(): Promise<void> {
    const { Piscina } = await import('piscina');
    this.pool = new Piscina({
      filename: this.o.workerFile.href,
      // One thread: sweeping is background work and must not take cores from the shards.
      minThreads: 0, maxThreads: 1, idleTimeout: 30_000,
      // Lower CPU priority than the shards (a no-op where the nice module is missing).
      niceIncrement: 10,
      // No blocking Atomics.wait between tasks: a task's LevelDB handle is closed before it returns anyway.
      atomics: 'disabled',
      recordTiming: false,
    });
    for (const lane of this.lanes) lane.loop = this.run(lane);
  }

  /** Lanes at work (sweeping or compacting): 0 with no backlog means all is swept and compacted. */
  get running(): number {
    return this.lanes.filter((l) => l.active).length;
  }

  /** Asks every idle lane to look for garbage now (after a FLUSHDB, for instance). */
  kick(): void {
    for (const l of this.lanes) l.wake?.();
  }

  /** Stops scheduling, lets running tasks finish (up to STOP_WAIT_MS), and destroys the pool. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.kick();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.lanes.map((l) => l.loop)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS))),
    ]);
    clearTimeout(timer);
    await this.pool?.destroy();
    this.pool = null;
  }

  private async run(lane: Lane): Promise<void> {
    while (!this.stopping) {
      try {
        lane.active = await this.step(lane);
        if (!lane.active) await this.idle(lane, POLL_MS);
      } catch (e) {
        lane.active = false;
        if (this.stopping) return;
        // A shard that cannot write (MISCONF, logged by the server) pauses its lane until it can.
        if (!(e as Error).message.includes('MISCONF')) {
          this.o.log('error', `background sweep of shard ${lane.shard} failed`, { err: (e as Error).message });
        }
        lane.resume = null;
        await this.idle(lane, RETRY_MS);
      }
    }
  }

  /** One round for a shard: a sweep task while it has garbage, then a flush compaction. True if it worked. */
  private async step(lane: Lane): Promise<boolean> {
    const [pending, bootId, flushed, retired] = (await this.call(lane.shard, ['__sweep', 'stat'])) as [number, Buffer, number[], number[]];
    if (this.stopping) return false;
    if (pending > 0 || flushed.length > 0 || retired.length > 0) lane.active = true;
    if (retired.length > 0) {
      // Flushed databases first: their records go by range, 'G' records included (cheaper than one by one).
      const [id, expiries] = [retired[0]!, retired[1] === 1];
      const from = lane.purge?.id === id ? lane.purge.resume : null;
      const task: PurgeTask = { path: lane.path, id, expiries, resume: from, maxKeys: TASK_MAX_KEYS, maxMs: TASK_MAX_MS };
      const r = (await this.pool!.run(task, { name: 'purge' })) as PurgeResult;
      lane.purge = r.resume === null ? null : { id, resume: r.resume };
      this.compactions += r.compacted;
      await this.call(lane.shard, ['__sweep', 'purged', String(id), String(r.garbage), String(r.deleted), r.resume === null ? '1' : '0']);
      return true;
    }
    if (pending > 0) {
      const from = lane.resume;
      const task: SweepTask = { path: lane.path, bootId, resume: from, maxKeys: TASK_MAX_KEYS, maxMs: TASK_MAX_MS };
      const r = (await this.pool!.run(task, { name: 'sweep' })) as SweepResult;
      lane.resume = r.resume;
      this.compactions += r.compacted;
      if (r.done.length > 0 || r.deleted > 0) {
        await this.call(lane.shard, ['__sweep', 'done', String(r.deleted), ...r.done.map((g) => Buffer.from(g))]);
      }
      if (r.live > 0) this.o.log('warn', `sweep: ${r.live} garbage record(s) of shard ${lane.shard} named a live version; dropped`);
      // A pass that found nothing from a cursor starts over from the first record at once.
      return r.done.length > 0 || r.deleted > 0 || from !== null;
    }
    if (flushed.length > 0) {
      const task: CompactTask = { path: lane.path, dbs: flushed };
      this.compactions += (await this.pool!.run(task, { name: 'compact' })) as number;
      await this.call(lane.shard, ['__sweep', 'compacted', ...flushed.map(String)]);
      return true;
    }
    return false;
  }

  private async call(shard: number, args: (Buffer | string)[]): Promise<RespValue> {
    const r = parseReply(await this.o.callShard(shard, 0, args));
    if (r instanceof ReplyErr) throw new Error(`${String(args[0])} ${String(args[1])}: ${r.message}`);
    return r;
  }

  private idle(lane: Lane, ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        lane.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      lane.wake = done;
    });
  }
}
