/**
 * Process-wide LevelDB controls from the bundled addon (native/memory.cc). limitTableMmaps(n) sets
 * how many LevelDB table files may be read through mmap in this process (LevelDB's default is
 * 1000, and every touched page of a mapped file counts in RSS). It must run before the first
 * LevelDB database opens in the process; later calls have no effect. setCompactionNice(n) sets the
 * nice value of LevelDB's one compaction thread and names it leveldb-bg. Without the addon they
 * report false.
 */
import { addon, classicLevelBinary } from './native-addon.js';

let mmapLimitSet: number | null = null;

/** Sets LevelDB's process-wide table mmap limit; true when applied. Call before any database opens. */
export function limitTableMmaps(limit: number): boolean {
  if (mmapLimitSet !== null) return mmapLimitSet === limit;
  const binary = addon?.setMmapLimit ? classicLevelBinary() : null;
  if (!addon?.setMmapLimit || !binary) return false;
  const ok = addon.setMmapLimit(binary, limit);
  if (ok) mmapLimitSet = limit;
  return ok;
}

/**
 * Sets the nice value (0-19) of LevelDB's background thread, which runs the compactions of every
 * shard of this process; true when queued (the thread applies it before its next compaction).
 */
export function setCompactionNice(nice: number): boolean {
  const binary = addon?.setCompactionNice ? classicLevelBinary() : null;
  if (!addon?.setCompactionNice || !binary) return false;
  return addon.setCompactionNice(binary, nice);
}

/**
 * Makes the calling thread SCHED_BATCH (or back to SCHED_OTHER): it then never preempts the
 * running thread when it wakes (see native/memory.cc). True when applied.
 */
export function setThreadBatch(on: boolean): boolean {
  return addon?.setThreadBatch?.(on) ?? false;
}

/** Names the calling thread (top -H, perf, /proc/<pid>/task/N/comm; 15 bytes kept). True when applied. */
export function setThreadName(name: string): boolean {
  return addon?.setThreadName?.(name) ?? false;
}
