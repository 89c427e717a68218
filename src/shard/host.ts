/**
 * A shard: owns one LevelDB (<dir>/shard-<i>) and every key whose hash slot maps to it.
 * Receives command frames on a port, answers with reply frames. It runs in a worker thread
 * (workers/shard.ts) or, with `shard-threads no`, on the front thread behind a MessageChannel.
 */
import type { MessagePort } from 'node:worker_threads';
import { Store, type StoreOptions } from '../storage/store.js';
import { ShardExecutor } from './executor.js';
import { expireCycle } from './expiry.js';
import { openSweepState } from './sweep.js';
import { probeWrites } from './write-error.js';
import { FileReaper } from './file-reaper.js';
import { COMMAND_LIST } from '../commands/table.js';
import { setMaxStringLength } from '../commands/string-util.js';

export interface ShardWorkerData {
  index: number;
  shards: number;
  path: string;
  databases: number;
  hz: number;
  activeExpireEffort: number;
  appendfsync: 'always' | 'everysec' | 'no';
  protoMaxBulkLen: number;
  /** Free LevelDB's deleted files later, off its lock (src/shard/file-reaper.ts). */
  deferredDeletes: boolean;
  /** A shard thread runs under SCHED_BATCH (set by workers/shard.ts). */
  schedBatch: boolean;
  store: StoreOptions;
}

export type ShardControl =
  | { type: 'config'; name: 'hz' | 'active-expire-effort'; value: number }
  | { type: 'config'; name: 'appendfsync'; value: 'always' | 'everysec' | 'no' }
  | { type: 'config'; name: 'proto-max-bulk-len'; value: number }
  | { type: 'close' };

/** What a shard talks through: a worker's parentPort or one end of a MessageChannel. */
export type ShardPort = Pick<MessagePort, 'postMessage' | 'on' | 'close'>;

function describe(e: unknown): { message: string; code?: string } {
  const err = e as { message?: string; code?: string; cause?: { message?: string } };
  return { message: (err.message ?? String(e)) + (err.cause?.message ? ': ' + err.cause.message : ''), code: err.code };
}

export async function runShard(data: ShardWorkerData, port: ShardPort): Promise<void> {
  let store: Store;
  try {
    store = await Store.open(data.path, data.databases, data.index, data.shards, data.store);
    // The sweep's backlog: dead versions left by an earlier run (a sweep cut short resumes).
    await openSweepState(store);
  } catch (e) {
    port.postMessage({ type: 'error', ...describe(e) });
    return;
  }
  setMaxStringLength(data.protoMaxBulkLen);
  let reaper: FileReaper | null = null;
  if (data.deferredDeletes) {
    reaper = new FileReaper(data.path, (e) => port.postMessage({ type: 'log', level: 'warn', msg: `shard ${data.index}: deferred deletion of LevelDB files failed`, ...describe(e) }));
    reaper.start();
  }
  const exec = new ShardExecutor(store, COMMAND_LIST, {
    post: (ab) => port.postMessage(ab, [ab]),
    onError: (err, what) => port.postMessage({ type: 'log', level: 'error', msg: `shard ${data.index}: ${what} failed`, ...describe(err) }),
    onWriteState: (error) => port.postMessage({ type: 'write-state', error }),
  });

  let hz = data.hz;
  let effort = data.activeExpireEffort;
  let closing = false;
  let expiring = false;
  let timer: NodeJS.Timeout;
  const runExpiry = (): void => {
    if (expiring || closing || exec.writeError !== null) return;
    expiring = true;
    exec.enqueueJob(async () => {
      try {
        const more = await expireCycle(store, effort, exec.sync);
        if (more && !closing) setImmediate(() => { expiring = false; runExpiry(); });
        else expiring = false;
      } catch (e) {
        expiring = false;
        throw e;
      }
    });
  };
  const startTimer = (): void => {
    timer = setInterval(runExpiry, Math.max(2, Math.floor(1000 / hz)));
  };
  startTimer();

  store.fsync = data.appendfsync;
  // appendfsync everysec: once a second, fsync LevelDB's log if this shard wrote since the last
  // one, off this thread (commands go on meanwhile). A failure enters the write-error state, as a
  // job: between commands, once the pending group commit is written.
  let syncing = false;
  const fsyncTimer = setInterval(() => {
    if (store.fsync !== 'everysec' || closing || syncing || exec.writeError !== null || !store.needsFsync) return;
    syncing = true;
    store.syncLog().catch((e: unknown) => exec.enqueueJob(async () => {
      await exec.sync();
      if (exec.writeError === null) exec.failWrites(e as Error);
    })).finally(() => {
      syncing = false;
    });
  }, 1000);

  // In the write-error state: once a second, between commands, try to restore writes.
  let probing = false;
  const probeTimer = setInterval(() => {
    if (exec.writeError === null || probing || closing) return;
    probing = true;
    exec.enqueueJob(async () => {
      try {
        const why = await probeWrites(store, { path: data.path, writeBufferSize: data.store.writeBufferSize });
        if (why === null) exec.writesRestored();
      } catch (e) {
        port.postMessage({ type: 'log', level: 'warn', msg: `shard ${data.index}: reopening LevelDB after a write error failed`, ...describe(e) });
      } finally {
        probing = false;
      }
    });
  }, 1000);

  port.on('message', (m: ArrayBuffer | ShardControl) => {
    if (m instanceof ArrayBuffer) return exec.onFrame(m);
    if (m.type === 'config') {
      if (m.name === 'appendfsync') store.fsync = m.value;
      else if (m.name === 'proto-max-bulk-len') setMaxStringLength(m.value);
      else if (m.name === 'hz') {
        hz = m.value;
        clearInterval(timer);
        startTimer();
      } else effort = m.value;
    } else if (m.type === 'close') {
      closing = true;
      clearInterval(timer);
      clearInterval(fsyncTimer);
      clearInterval(probeTimer);
      void exec.drain().then(async () => {
        await reaper?.stop();
        try {
          if (store.fsync !== 'no' && exec.writeError === null) await store.flushToDisk();
          await store.close();
        } catch (e) {
          port.postMessage({ type: 'log', level: 'error', msg: `shard ${data.index}: closing LevelDB failed`, ...describe(e) });
        }
        port.postMessage({ type: 'closed' });
        port.close();
      });
    }
  });
  port.postMessage({ type: 'ready', keys: store.totalKeys, rows: store.rows.shared() });
}

