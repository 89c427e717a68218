/**
 * The front thread's handle on the shard workers.
 *
 * Commands for a shard are appended to that shard's frame and sent as one message per event-loop
 * turn (flushed from setImmediate). Each shard answers in request order, so a per-shard FIFO of
 * reply targets matches replies to commands without ids on the wire.
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { FrameBuilder, decodeReplies } from './frame.js';
import { runShard, type ShardWorkerData, type ShardControl } from '../shard/host.js';
import { FrontReads } from './front-reads.js';
import type { SharedRows } from '../storage/row-cache.js';

/** Where a reply goes: a client's reply slot, or a promise of a front-thread caller. */
export interface ReplyTarget {
  deliver(seq: number, reply: Buffer): void;
}

class Fifo {
  targets: (ReplyTarget | ((b: Buffer) => void))[] = [];
  seqs: number[] = [];
  head = 0;

  push(t: ReplyTarget | ((b: Buffer) => void), seq: number): void {
    this.targets.push(t);
    this.seqs.push(seq);
  }

  get size(): number {
    return this.targets.length - this.head;
  }

  deliver(reply: Buffer): void {
    const i = this.head++;
    const t = this.targets[i]!;
    const seq = this.seqs[i]!;
    this.targets[i] = undefined as never;
    if (this.head === this.targets.length) {
      this.targets.length = 0;
      this.seqs.length = 0;
      this.head = 0;
    } else if (this.head > 8192) {
      this.targets = this.targets.slice(this.head);
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
    if (typeof t === 'function') t(reply);
    else t.deliver(seq, reply);
  }
}

/** A shard's end of the conversation: a Worker, or a MessagePort to a shard on this thread. */
type Endpoint = Pick<Worker, 'postMessage' | 'on' | 'once'> & { terminate(): unknown };

interface Shard {
  worker: Endpoint;
  /** The worker has exited (a dead shard must not be waited for at close). */
  exited?: boolean;
  frame: FrameBuilder;
  fifo: Fifo;
}

export interface ShardPoolHooks {
  log(level: 'info' | 'warn' | 'error', msg: string, extra?: object): void;
  /** Called once after replies from a shard were delivered (the server flushes client writes). */
  afterReplies(): void;
  /** A shard worker died: the server cannot go on without it. */
  fatal(msg: string): void;
  /** A shard entered (error: its reason) or left (null) the write-error state. */
  writeState(shard: number, error: string | null): void;
}

/**
 * A shard isolate's young generation (V8's default lets it grow to 3 x 16 MB). A shard's own
 * data lives outside the V8 heap (row-cache ring, LevelDB), so its heap is mostly short-lived
 * garbage of each turn; with 8 MB a 2-shard server under 1M redis-benchmark ZADD + HSET committed
 * 62 MB less V8 heap (RSS -56 MB) and showed no CPU cost per command (one ad-hoc probe with INFO
 * memory and /proc/<pid>/stat, not a bench/ script: re-measure with bench:large).
 */
const SHARD_YOUNG_GENERATION_MB = 8;

/** The reply to a command that reaches the pool after its shards were told to close. */
const SHUTTING_DOWN = Buffer.from('-ERR Cairn is shutting down\r\n');

/** A shard on this thread: its port pair stands in for a Worker. */
function localShard(data: ShardWorkerData): Endpoint {
  const { port1, port2 } = new MessageChannel();
  void runShard(data, port2);
  const ep = port1 as MessagePort & { terminate(): void };
  ep.terminate = () => port1.close();
  return ep as unknown as Endpoint;
}

export class ShardPool {
  private shards: Shard[] = [];
  private flushScheduled = false;
  private closing = false;
  /** Single-key reads answered here from the shards' row caches (each shard publishes its cache when ready). */
  readonly frontReads = new FrontReads();

  constructor(private readonly hooks: ShardPoolHooks) {}

  get count(): number {
    return this.shards.length;
  }

  /**
   * Starts every shard and waits until each has opened its LevelDB. With `threads`, each shard is a
   * worker thread; without, it runs on this thread behind a MessageChannel (same code, no thread hop).
   */
  async start(workerFile: URL, data: Omit<ShardWorkerData, 'index' | 'path'>, pathOf: (i: number) => string, threads = true): Promise<void> {
    const ready: Promise<void>[] = [];
    for (let i = 0; i < data.shards; i++) {
      const shardData: ShardWorkerData = { ...data, index: i, path: pathOf(i) };
      const worker: Endpoint = threads ? new Worker(workerFile, { workerData: shardData, resourceLimits: { maxYoungGenerationSizeMb: SHARD_YOUNG_GENERATION_MB } }) : localShard(shardData);
      const shard: Shard = { worker, frame: new FrameBuilder(), fifo: new Fifo() };
      this.shards.push(shard);
      ready.push(new Promise((resolve, reject) => {
        let started = false;
        worker.on('message', (m: ArrayBuffer | { type: string; message?: string; level?: string; msg?: string; code?: string; error?: string | null; rows?: SharedRows | null }) => {
          if (m instanceof ArrayBuffer) {
            const replies = decodeReplies(m);
            for (const r of replies) shard.fifo.deliver(r);
            this.hooks.afterReplies();
            return;
          }
          if (m.type === 'ready') {
            this.frontReads.attach(i, m.rows ?? null);
            started = true;
            resolve();
          } else if (m.type === 'error') {
            reject(Object.assign(new Error(m.message), { code: m.code }));
          } else if (m.type === 'log') {
            this.hooks.log(m.level as 'error', m.msg ?? '', m);
          } else if (m.type === 'write-state') {
            this.hooks.writeState(i, m.error ?? null);
          }
        });
        worker.on('error', (e) => {
          if (!started) reject(e);
          else this.hooks.fatal(`shard ${i} failed: ${e.stack ?? e.message}`);
        });
        worker.on('exit', (code) => {
          shard.exited = true;
          if (!started) reject(new Error(`shard ${i} exited during start-up (code ${code})`));
          else if (!this.closing) this.hooks.fatal(`shard ${i} exited unexpectedly (code ${code})`);
        });
      }));
    }
    const results = await Promise.allSettled(ready);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) {
      this.closing = true;
      await Promise.all(this.shards.map((s) => s.worker.terminate()));
      throw failed.reason;
    }
  }

  /** Commands sent (or about to be sent) to `shard` whose reply has not come back. */
  inFlight(shard: number): number {
    return this.shards[shard]!.fifo.size;
  }

  /** Queues a client's command for `shard`; the reply goes to target.deliver(seq, ...). */
  send(shard: number, resp: number, db: number, id: number, args: readonly (Buffer | string)[], target: ReplyTarget, seq: number): void {
    if (this.closing) return target.deliver(seq, SHUTTING_DOWN);
    const s = this.shards[shard]!;
    s.frame.add(resp, db, id, args);
    s.fifo.push(target, seq);
    this.scheduleFlush();
  }

  /** A front-thread call to a shard: resolves with the raw reply bytes. */
  call(shard: number, db: number, id: number, args: readonly (Buffer | string)[], resp = 2): Promise<Buffer> {
    if (this.closing) return Promise.resolve(SHUTTING_DOWN);
    return new Promise((resolve) => {
      const s = this.shards[shard]!;
      s.frame.add(resp, db, id, args);
      s.fifo.push(resolve, 0);
      this.scheduleFlush();
    });
  }

  /** Commands sent to `shard` and not yet answered. */
  inflight(shard: number): number {
    return this.shards[shard]!.fifo.size;
  }

  control(shard: number, msg: ShardControl): void {
    this.shards[shard]!.worker.postMessage(msg);
  }

  broadcast(msg: ShardControl): void {
    for (const s of this.shards) s.worker.postMessage(msg);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  /** Sends every shard's frame for this turn (one message per shard). */
  readonly flush = (): void => {
    this.flushScheduled = false;
    for (const s of this.shards) {
      if (s.frame.count === 0) continue;
      const ab = s.frame.take();
      s.worker.postMessage(ab, [ab]);
    }
  };

  /** Sends what is queued, lets every shard finish its writes and close its LevelDB. */
  async close(): Promise<void> {
    this.flush();
    this.closing = true;
    await Promise.all(this.shards.map((s) => new Promise<void>((resolve) => {
      if (s.exited) return resolve();
      s.worker.on('message', (m: { type?: string }) => {
        if (m && m.type === 'closed') resolve();
      });
      s.worker.once('exit', () => resolve());
      s.worker.postMessage({ type: 'close' } satisfies ShardControl);
    })));
    await Promise.all(this.shards.map((s) => s.worker.terminate()));
  }
}
