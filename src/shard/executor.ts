/**
 * Runs commands on one shard, in arrival order, with group commit.
 *
 * Commands of a turn run synchronously against the Store (LevelDB getSync plus the pending-write
 * overlay). At the end of the turn their writes become one LevelDB batch, and their replies are
 * posted to the front thread only once that batch is written: a reply never claims a write that
 * is not in LevelDB's log. One batch is in flight at a time; turns that end while it is written
 * are merged into the next batch.
 *
 * An async handler (iterators) calls sync(), which closes the current segment and waits until
 * it is written, so its iterator sees every earlier write; the commands after it wait for it.
 *
 * A failed batch puts the shard in the write-error state (src/shard/write-error.ts): the batch,
 * and every write and reply computed since on top of it, is discarded (its commands get the
 * MISCONF error), and until a probe restores writes, write commands are refused and nothing is
 * written to LevelDB.
 */
import type { CommandSpec, ShardCall } from '../commands/types.js';
import { CommandError } from '../commands/errors.js';
import { ReplyWriter } from '../server/resp/writer.js';
import { decodeFrame, encodeReplies, type DecodedCommand } from '../server/frame.js';
import type { Store, BatchOp } from '../storage/store.js';
import { shardStats } from './stats.js';
import { MAX_KEYS } from '../storage/get-many.js';
import { keyIndexes, lookupCommand } from '../commands/table.js';
import { lower } from '../commands/args.js';
import { misconfError } from './write-error.js';

interface Segment {
  payload: Buffer;
  lens: number[];
  batch: { ops: BatchOp[]; done: () => void } | null;
}

type Job = () => Promise<void>;
type QueueItem = DecodedCommand | Job;

export interface ExecutorHooks {
  post(frame: ArrayBuffer): void;
  /** A bug (not a command outcome) inside a handler. */
  onError(err: unknown, what: string): void;
  /** The write-error state was entered (with its reason) or left (null). */
  onWriteState(error: string | null): void;
}

/** Reads while LevelDB is closed (a reopen after a write error failed; the next probe retries). */
const REOPENING = 'LOADING Cairn is reopening its LevelDB store after a write error';

export class ShardExecutor {
  private queue: QueueItem[] = [];
  private head = 0;
  private blocked = false;
  /** True while a handler runs synchronously inside exec() (an async one may call sync() before its first await). */
  private inHandler = false;
  private readonly w = new ReplyWriter(64 * 1024);
  private lens: number[] = [];
  private cmdStart = 0;
  private segments: Segment[] = [];
  private writing = false;
  private drainWaiters: (() => void)[] = [];
  private turnScheduled = false;
  /** The write-error state: why LevelDB writes failed, until a probe restores them (null: writes work). */
  private error: string | null = null;
  /** Discarded batches so far (sync() tells its caller when its writes were among them). */
  private failures = 0;

  constructor(
    private readonly store: Store,
    private readonly specs: readonly CommandSpec[],
    private readonly hooks: ExecutorHooks,
  ) {}

  onFrame(ab: ArrayBuffer): void {
    const cmds = decodeFrame(ab);
    if (cmds.length > 1 && this.error === null && this.store.wantsPrefetch) this.prefetch(cmds);
    for (const c of cmds) this.queue.push(c);
    this.pump();
  }

  /** The keys and databases of a frame's commands (reused; emptied after each frame). */
  private readonly frameKeys: Buffer[] = [];
  private readonly frameDbs: number[] = [];

  /**
   * Reads the meta records of the frame's keys together (Store.prefetchMeta): each command looks
   * its key up first, and a shard that meets the disk once per command waits for each read in
   * turn. Correct whenever it runs: the row cache is write-through, so a command queued before
   * these that writes one of the keys updates the cached record.
   */
  private prefetch(cmds: readonly DecodedCommand[]): void {
    const keys = this.frameKeys;
    const dbs = this.frameDbs;
    for (const c of cmds) {
      let spec = this.specs[c.id]!;
      let args = c.args;
      if (spec.wraps !== undefined) {
        // A cross-shard part (__xfirst, __xpart): the keys of the command it wraps.
        const inner = lookupCommand(lower(c.args[spec.wraps]!));
        if (inner === undefined) continue;
        args = c.args.slice(spec.wraps);
        spec = inner;
      }
      // Fixed key positions only (a command whose keys move is read as it runs).
      if (spec.keys === null || spec.shard === undefined) continue;
      const db = this.store.dbId(c.db);
      for (const i of keyIndexes(spec, args)) {
        if (keys.length >= MAX_KEYS) break;
        keys.push(args[i]!);
        dbs.push(db);
      }
    }
    if (keys.length > 1) this.store.prefetchMeta(dbs, keys, keys.length);
    keys.length = 0;
    dbs.length = 0;
  }

  /** Queues internal work (active expiry) to run between commands, without a reply. */
  enqueueJob(job: Job): void {
    this.queue.push(job);
    this.pump();
  }

  get idle(): boolean {
    return !this.blocked && this.head >= this.queue.length;
  }

  private pump(): void {
    // One clock read per command: a command's end time is the next one's start (INFO commandstats).
    let started = performance.now();
    while (!this.blocked && this.head < this.queue.length) {
      const item = this.queue[this.head]!;
      // Release the slot: a finished command must not keep its arguments (and its frame) alive
      // until the queue is trimmed (with 1000-pair ZADDs that held hundreds of MB per shard).
      this.queue[this.head++] = undefined as never;
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      if (typeof item === 'function') {
        this.cmdStart = this.w.len;
        this.blocked = true;
        this.runAsync(item(), false);
        return;
      }
      this.cmdStart = this.w.len;
      const r = this.exec(item);
      if (r) {
        this.blocked = true;
        this.runAsync(r, true, item.id, started);
        return;
      }
      const now = performance.now();
      shardStats.addTime(item.id, (now - started) * 1000);
      started = now;
      this.lens.push(this.w.len - this.cmdStart);
    }
    if (this.head >= this.queue.length && !this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(this.endTurn);
    }
  }

  /** `id` and `started` (a command's id and start time) are given for commands, not for jobs. */
  private runAsync(p: Promise<void>, hasReply: boolean, id = -1, started = 0): void {
    p.catch((e: unknown) => {
      if (!hasReply) return this.hooks.onError(e, 'background job');
      this.w.len = this.cmdStart;
      this.writeFailure(e, id);
    }).finally(() => {
      if (hasReply) {
        shardStats.addTime(id, (performance.now() - started) * 1000);
        this.lens.push(this.w.len - this.cmdStart);
      }
      this.blocked = false;
      this.pump();
    });
  }

  private writeFailure(e: unknown, id: number): void {
    if (e instanceof CommandError) {
      this.w.error(e.reply);
      shardStats.addError(id, e.reply);
    } else {
      this.hooks.onError(e, 'command');
      this.w.error('ERR internal error: ' + (e instanceof Error ? e.message : String(e)));
      shardStats.addError(id, 'ERR');
    }
  }

  private exec(cmd: DecodedCommand): Promise<void> | void {
    const spec = this.specs[cmd.id]!;
    this.w.resp = cmd.resp;
    if (this.error !== null) {
      const refused = this.refusal(spec);
      if (refused !== null) {
        this.w.error(refused);
        shardStats.addError(cmd.id, refused);
        return;
      }
    }
    const call: ShardCall = { args: cmd.args, db: this.store.dbId(cmd.db), w: this.w, store: this.store, sync: this.sync };
    this.inHandler = true;
    try {
      const r = spec.shard!(call);
      if (r) return r;
    } catch (e) {
      this.w.len = this.cmdStart;
      this.writeFailure(e, cmd.id);
    } finally {
      this.inHandler = false;
    }
  }

  /** In the write-error state: the error a command gets instead of running, or null if it may run. */
  private refusal(spec: CommandSpec): string | null {
    const data = spec.flags.includes('write') || spec.flags.includes('readonly');
    if (data && this.store.db.status !== 'open') return REOPENING;
    return spec.flags.includes('write') ? misconfError(this.error!) : null;
  }

  get writeError(): string | null {
    return this.error;
  }

  /**
   * A write outside a group commit failed (the everysec fsync): enters the write-error state.
   * Only between commands (a job), when no batch is pending.
   */
  failWrites(err: Error): void {
    this.hooks.onError(err, 'LevelDB write');
    this.enterWriteError(err.message);
  }

  /** A probe wrote to LevelDB again: writes are served again. */
  writesRestored(): void {
    if (this.error === null) return;
    this.error = null;
    this.store.readOnly = false;
    this.hooks.onWriteState(null);
  }

  private enterWriteError(reason: string): void {
    this.store.discardUnwritten();
    if (this.error !== null) return;
    this.error = reason;
    this.store.readOnly = true;
    this.hooks.onWriteState(reason);
  }

  private readonly endTurn = (): void => {
    this.turnScheduled = false;
    this.cutSegment();
  };

  /** Closes the current segment: replies so far (before the running command) and this turn's writes. */
  private cutSegment(): void {
    const batch = this.store.takeOps();
    if (this.lens.length === 0 && batch === null) return;
    // Replies before cmdStart belong to finished commands; bytes after it to the running one
    // (which may have written part of its reply, e.g. an array header, before calling sync()).
    const done = this.blocked || this.inHandler ? this.cmdStart : this.w.len;
    const payload = Buffer.from(this.w.buf.subarray(0, done));
    const rest = this.w.len - done;
    if (rest > 0) this.w.buf.copy(this.w.buf, 0, done, this.w.len);
    this.w.len = rest;
    this.cmdStart = 0;
    this.segments.push({ payload, lens: this.lens, batch });
    this.lens = [];
    this.writeSegments();
  }

  /**
   * For async handlers: everything before them is written to LevelDB (and replied) when this
   * resolves. It rejects with the MISCONF error if those writes failed: what the handler read
   * before it may have come from them.
   */
  readonly sync = (): Promise<void> => {
    const failures = this.failures;
    return this.flushed().then(() => {
      if (this.failures !== failures) throw new CommandError(misconfError(this.error ?? 'unknown error'));
    });
  };

  private flushed(): Promise<void> {
    this.cutSegment();
    if (!this.writing && this.segments.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private writeSegments(): void {
    if (this.writing) return;
    if (this.segments.length === 0) {
      const ws = this.drainWaiters;
      this.drainWaiters = [];
      for (const r of ws) r();
      return;
    }
    const segs = this.segments;
    this.segments = [];
    const ops: BatchOp[] = [];
    for (const s of segs) if (s.batch) for (const op of s.batch.ops) ops.push(op);
    if (ops.length === 0) {
      this.postSegments(segs, false);
      this.writeSegments();
      return;
    }
    this.writing = true;
    // In the write-error state nothing reaches LevelDB until a probe has reopened it.
    if (this.error !== null) return this.discard(segs);
    let pending: Promise<void> | undefined;
    try {
      pending = this.store.writeBatch(ops);
    } catch (err) {
      this.writeFailed(segs, err as Error);
      return;
    }
    if (pending === undefined) {
      this.finish(segs, false);
      return;
    }
    pending.then(
      () => this.finish(segs, false),
      (err: Error) => this.writeFailed(segs, err),
    );
  }

  private writeFailed(segs: Segment[], err: Error): void {
    this.hooks.onError(err, 'LevelDB batch write');
    this.enterWriteError(err.message);
    this.discard(segs);
  }

  /**
   * Drops segments whose writes are not in LevelDB: none of their commands is acknowledged, each
   * gets the MISCONF error. Commands that ran since (segments cut meanwhile, this turn's finished
   * ones) may have read those writes through the overlay: they are failed too. Called while
   * `writing`, so cutting here only queues.
   */
  private discard(segs: Segment[]): void {
    this.cutSegment();
    const all = this.segments.length > 0 ? segs.concat(this.segments) : segs;
    this.segments = [];
    this.store.discardUnwritten();
    this.failures++;
    this.finish(all, true);
  }

  private finish(segs: Segment[], failed: boolean): void {
    for (const s of segs) s.batch?.done();
    this.postSegments(segs, failed);
    this.writing = false;
    this.writeSegments();
  }

  private postSegments(segs: Segment[], failed: boolean): void {
    if (failed) {
      const w = new ReplyWriter(256);
      const lens: number[] = [];
      const msg = misconfError(this.error ?? 'unknown error');
      for (const s of segs) {
        for (let i = 0; i < s.lens.length; i++) {
          const before = w.len;
          w.error(msg);
          lens.push(w.len - before);
        }
      }
      this.hooks.post(encodeReplies(w.take(), lens));
      return;
    }
    if (segs.length === 1) {
      this.hooks.post(encodeReplies(segs[0]!.payload, segs[0]!.lens));
      return;
    }
    const lens: number[] = [];
    for (const s of segs) for (const l of s.lens) lens.push(l);
    this.hooks.post(encodeReplies(Buffer.concat(segs.map((s) => s.payload)), lens));
  }

  /** Resolves when every queued command has run and every write is in LevelDB. */
  async drain(): Promise<void> {
    while (!this.idle) await new Promise((r) => setImmediate(r));
    await this.flushed();
  }
}
