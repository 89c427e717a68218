/**
 * The front thread's side of BGSAVE / SAVE: one backup at a time, its state for INFO persistence
 * and LASTSAVE, and the snapshot moment (see src/shard/backup.ts for the pool task).
 *
 * One moment across shards: the front reserves every shard (Coordinator.withShards: clients'
 * commands for them wait, a coordinated command in progress finishes first), sends `__backup sync`
 * to each and waits for every answer (each shard has then written everything it was sent before),
 * tells the pool task to take its snapshots and releases the shards as soon as it has. The pool
 * task opened the shards' locations beforehand, so the reservation lasts two short round trips;
 * the copy itself runs in the pool while clients are served.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import type { Coordinator } from './coordinator.js';
import type { CommandSpec } from '../commands/types.js';
import type { ServerStats } from './context.js';
import { CommandError } from '../commands/errors.js';
import { parseReply, ReplyErr } from './resp/reply-parser.js';
import { TEMP_PREFIX, type BackupTask, type BackupResult, type BackupProgress } from '../shard/backup.js';

export interface BackupsOptions {
  /** The compiled workers/background.js. */
  workerFile: URL;
  /** The data directory: backups go to <dir>/backups/<timestamp>. */
  dir: string;
  /** Each shard's LevelDB location, by shard index. */
  paths: readonly string[];
  coord: Coordinator;
  callShard(shard: number, db: number, args: readonly (Buffer | string)[]): Promise<Buffer>;
  /** Server stats (start time, and command calls for rdb_changes_since_last_save). */
  stats: ServerStats;
  lookupCommand(name: string): CommandSpec | undefined;
  log(level: 'info' | 'warn' | 'error', msg: string, extra?: object): void;
}

interface Running {
  startedAt: number;
  /** Keys copied so far, and keys in the snapshot (INFO current_save_keys_*). */
  keys: number;
  total: number;
  /** Set to 1 to make the pool task stop copying (shutdown). */
  abort: Int32Array;
  port: MessagePort;
  /** The snapshot moment has passed. */
  snapped: boolean;
  /** Write commands counted at the snapshot moment. */
  writes: number;
  /** Microseconds every shard was reserved for the snapshot moment (clients' commands waited). */
  pauseUsec: number;
  /** Why it failed, once it has; null while it runs or when it succeeded. */
  error: string | null;
  /** Settles (never rejects) when the backup has finished, failed or been aborted. */
  done: Promise<void>;
}

/** A backup's directory name: its start time, sortable, without ':' (e.g. 2025-01-31T12-34-56.789Z). */
function backupName(dir: string, ms: number): string {
  const base = new Date(ms).toISOString().replace(/:/g, '-');
  let name = base;
  for (let i = 2; fs.existsSync(path.join(dir, name)) || fs.existsSync(path.join(dir, TEMP_PREFIX + name)); i++) name = `${base}-${i}`;
  return name;
}

/** Waits for a message of `type` on the port; rejects if the task settles first. */
function awaitMessage<T extends BackupProgress['type']>(port: MessagePort, type: T, task: Promise<BackupResult>): Promise<Extract<BackupProgress, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: BackupProgress): void => {
      if (m.type !== type) return;
      port.off('message', onMessage);
      resolve(m as Extract<BackupProgress, { type: T }>);
    };
    port.on('message', onMessage);
    task.then(
      (r) => reject(new Error(r.aborted ? 'backup aborted' : `backup task ended before '${type}'`)),
      (e: unknown) => reject(e as Error),
    );
  });
}

const backups = new WeakMap<object, Backups>();

export class Backups {
  private pool: Piscina | null = null;
  private current: Running | null = null;
  private stopping = false;
  /** Unix ms of the last successful save (the start time until one succeeds, as Redis). */
  lastSave: number;
  lastStatus: 'ok' | 'err' = 'ok';
  /** Seconds the last backup took; -1 before the first. */
  lastDurationSec = -1;
  /** Backups started since start-up (rdb_saves). */
  saves = 0;
  lastPath = '';
  lastBytes = 0;
  lastKeys = 0;
  /** How long the last successful backup's snapshot moment held clients' commands back. */
  lastPauseUsec = 0;
  /** Write commands counted at the snapshot of the last successful save. */
  private writesAtSave = 0;

  constructor(private readonly o: BackupsOptions) {
    this.lastSave = o.stats.startedAt;
  }

  /** The backups of a server (INFO and LASTSAVE read them through this). */
  static of(server: object): Backups | undefined {
    return backups.get(server);
  }

  register(server: object): void {
    backups.set(server, this);
  }

  get dir(): string {
    return path.join(this.o.dir, 'backups');
  }

  get inProgress(): boolean {
    return this.current !== null;
  }

  /** Seconds the running backup has taken so far; -1 when none runs. */
  get currentSec(): number {
    return this.current ? Math.floor((Date.now() - this.current.startedAt) / 1000) : -1;
  }

  /** Keys copied by the running backup and keys at its snapshot (0 and 0 when none runs). */
  get progress(): { keys: number; total: number } {
    return { keys: this.current?.keys ?? 0, total: this.current?.total ?? 0 };
  }

  /**
   * Write commands since the snapshot of the last successful save (Redis counts changed keys; this
   * counts write commands, from the per-command call counts, so it costs nothing per command).
   */
  get changesSinceSave(): number {
    return Math.max(0, this.writeCommands() - this.writesAtSave);
  }

  /** CONFIG RESETSTAT zeroed the call counts: count changes from zero. */
  statsReset(): void {
    this.writesAtSave = 0;
    if (this.current) this.current.writes = 0;
  }

  private writeCommands(): number {
    let n = 0;
    for (const [name, s] of this.o.stats.commandStats) if (this.o.lookupCommand(name)?.flags.includes('write')) n += s.calls;
    return n;
  }

  /**
   * Starts a backup. Resolves once the snapshot moment has passed (what was written before is in
   * it, nothing after), with a promise of the finished backup (rejects with the reply error if it
   * fails); rejects if it cannot start.
   */
  async start(): Promise<{ done: Promise<void> }> {
    if (this.current || this.stopping) throw new CommandError('ERR Background save already in progress');
    const { port1, port2 } = new MessageChannel();
    const run: Running = {
      startedAt: Date.now(), keys: 0, total: 0, abort: new Int32Array(new SharedArrayBuffer(4)), port: port1,
      snapped: false, writes: 0, pauseUsec: 0, error: null, done: Promise.resolve(),
    };
    this.current = run;
    this.saves++;
    let moment!: () => void;
    const snapped = new Promise<void>((resolve) => (moment = resolve));
    run.done = this.run(run, port2, moment).then(
      (r) => this.finished(run, r),
      (e: unknown) => this.failed(run, (e as Error).message),
    );
    await Promise.race([snapped, run.done]);
    if (!run.snapped) throw new CommandError(`ERR Background save failed to start: ${run.error}`);
    return {
      done: run.done.then(() => {
        if (run.error !== null) throw new CommandError(`ERR Background save failed: ${run.error}`);
      }),
    };
  }

  private async run(run: Running, port: MessagePort, moment: () => void): Promise<BackupResult & { final: string }> {
    const pool = await this.ensurePool();
    if (Atomics.load(run.abort, 0) !== 0) throw new Error('aborted');
    fs.mkdirSync(this.dir, { recursive: true });
    this.removeStaleTemps();
    const name = backupName(this.dir, run.startedAt);
    const temp = path.join(this.dir, TEMP_PREFIX + name);
    const final = path.join(this.dir, name);
    const task: BackupTask = { paths: [...this.o.paths], temp, final, port, abort: run.abort };
    const result = pool.run(task, { name: 'backup', transferList: [port as never] }) as Promise<BackupResult>;
    result.catch(() => undefined);
    run.port.on('message', (m: BackupProgress) => {
      if (m.type !== 'progress') return;
      run.keys = m.keys;
      if (m.total !== undefined) run.total = m.total;
    });
    try {
      await awaitMessage(run.port, 'opened', result);
      const all = this.o.paths.map((_, i) => i);
      await this.o.coord.withShards(all, async () => {
        const reserved = performance.now();
        await Promise.all(all.map((s) => this.barrier(s)));
        run.port.postMessage('snap');
        await awaitMessage(run.port, 'snapped', result);
        run.writes = this.writeCommands();
        run.pauseUsec = Math.round((performance.now() - reserved) * 1000);
      });
      run.snapped = true;
      moment();
      this.o.log('info', 'Background saving started', { path: final });
      return { ...(await result), final };
    } catch (e) {
      // Whatever happened, the task must not wait for a word that never comes.
      run.port.postMessage('abort');
      await result.catch(() => undefined);
      fs.rmSync(temp, { recursive: true, force: true });
      throw e;
    }
  }

  private async barrier(shard: number): Promise<void> {
    const r = parseReply(await this.o.callShard(shard, 0, ['__backup', 'sync']));
    if (r instanceof ReplyErr) throw new Error(`shard ${shard}: ${r.message}`);
  }

  private finished(run: Running, r: BackupResult & { final: string }): void {
    if (r.aborted) return this.failed(run, 'aborted');
    this.current = null;
    run.port.close();
    const now = Date.now();
    this.lastSave = now;
    this.lastStatus = 'ok';
    this.lastDurationSec = Math.floor((now - run.startedAt) / 1000);
    this.lastPath = r.final;
    this.lastBytes = r.bytes;
    this.lastKeys = r.keys;
    this.lastPauseUsec = run.pauseUsec;
    this.writesAtSave = run.writes;
    this.o.log('info', 'Background saving terminated with success', { path: r.final, keys: r.keys, records: r.records, bytes: r.bytes, pauseUsec: run.pauseUsec });
  }

  private failed(run: Running, error: string): void {
    this.current = null;
    run.port.close();
    run.error = error;
    this.lastStatus = 'err';
    this.lastDurationSec = Math.floor((Date.now() - run.startedAt) / 1000);
    if (Atomics.load(run.abort, 0) !== 0) this.o.log('warn', 'Background saving aborted');
    else this.o.log('error', 'Background saving failed', { err: error });
  }

  /** Removes backups left half-built by a crash (only one backup runs at a time). */
  private removeStaleTemps(): void {
    for (const e of fs.readdirSync(this.dir)) {
      if (e.startsWith(TEMP_PREFIX)) fs.rmSync(path.join(this.dir, e), { recursive: true, force: true });
    }
  }

  private async ensurePool(): Promise<Piscina> {
    if (this.pool) return this.pool;
    const { Piscina } = await import('piscina');
    // Its own one-thread pool (same worker file as the sweep's): a long copy never holds up the sweep.
    this.pool = new Piscina({
      filename: this.o.workerFile.href,
      minThreads: 0, maxThreads: 1, idleTimeout: 30_000, niceIncrement: 10, atomics: 'disabled', recordTiming: false,
    });
    return this.pool;
  }

  /** Shutdown: aborts a running backup (its temp directory is removed) and destroys the pool. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const run = this.current;
    if (run) {
      Atomics.store(run.abort, 0, 1);
      run.port.postMessage('abort');
      await run.done;
    }
    await this.pool?.destroy();
    this.pool = null;
  }
}
