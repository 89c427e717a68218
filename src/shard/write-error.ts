/**
 * A shard's write-error state (Redis' MISCONF): entered when a LevelDB write fails (disk full,
 * I/O error), left when a probe proves that LevelDB takes writes again.
 *
 * While it lasts the executor refuses every command flagged `write` with the MISCONF error below
 * and writes nothing to LevelDB; reads keep working on what LevelDB holds (the failed batch and
 * everything computed on top of it were discarded, src/shard/executor.ts).
 *
 * Why a close and reopen: LevelDB 1.20 keeps a failed log sync or background compaction as a
 * sticky error (DBImpl::bg_error_) that only a reopen clears. A failed log append is not sticky,
 * but it may have left part of a record in the log, and a log written on after that is misread
 * from that point at recovery: acknowledged writes behind it would be lost. A reopen replays the
 * log (a torn last record is dropped, it was never acknowledged) into a table and starts a new
 * log. So the probe, once a second, runs between commands: enough free space to reopen, a file
 * write with fsync, close + open (checked: a new log file), then a one-record write with sync.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Store } from '../storage/store.js';
import { resyncSweepState } from './sweep.js';

/** The error a write gets while its shard cannot write (worded like Redis' AOF MISCONF error). */
export function misconfError(reason: string): string {
  return `MISCONF Errors writing to disk: ${reason.replace(/[\r\n]+/g, ' ')}. Commands that may modify the data set are disabled ` +
    'until Cairn can write to its LevelDB store again. Please check the Cairn logs for details about the error.';
}

export interface ProbeOptions {
  /** The shard's LevelDB directory. */
  path: string;
  /** LevelDB's write buffer: a reopen writes up to two memtables out as tables. */
  writeBufferSize: number;
}

const PROBE_FILE = 'CAIRN-WRITE-PROBE';
const PROBE_BYTES = 64 * 1024;
/** Room asked for beyond the memtables (manifest, table overhead). */
const REOPEN_MARGIN = 4 * 1024 * 1024;

/** The number of LevelDB's newest log file in `dir` (0 if none). */
function newestLog(dir: string): number {
  let n = 0;
  for (const f of fs.readdirSync(dir)) {
    const m = /^(\d+)\.log$/.exec(f);
    if (m) n = Math.max(n, Number(m[1]));
  }
  return n;
}

/** Can the file system take a write and an fsync? Returns why not, or null. */
async function fileProbe(dir: string, need: number): Promise<string | null> {
  const st = await fs.promises.statfs(dir);
  const free = st.bavail * st.bsize;
  if (free < need) return `${free} bytes free, ${need} needed to reopen LevelDB`;
  const file = path.join(dir, PROBE_FILE);
  try {
    const fh = await fs.promises.open(file, 'w');
    try {
      await fh.write(Buffer.alloc(PROBE_BYTES));
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    return (e as Error).message;
  } finally {
    await fs.promises.rm(file, { force: true }).catch(() => undefined);
  }
  return null;
}

/**
 * One recovery attempt; must run between commands (an executor job). Resolves with null when
 * LevelDB was reopened and took a write, else with why not (the shard stays in the state).
 */
export async function probeWrites(store: Store, o: ProbeOptions): Promise<string | null> {
  if (store.injectedFault !== null) return store.injectedFault;
  const notReady = await fileProbe(o.path, 2 * o.writeBufferSize + REOPEN_MARGIN);
  if (notReady !== null) return notReady;
  const before = newestLog(o.path);
  // A failed reopen leaves the database closed; the next probe opens it.
  if (store.db.status === 'open') await store.db.close();
  await store.db.open();
  // The handle is shared with the background pool (multithreading): if a pool task held it, the
  // close only dropped this thread's reference and LevelDB did not restart. Try again later.
  if (newestLog(o.path) <= before) return 'LevelDB was not restarted (its handle is in use by a background task)';
  try {
    await store.writeProbe();
  } catch (e) {
    return (e as Error).message;
  }
  store.discardUnwritten();
  await resyncSweepState(store);
  return null;
}
