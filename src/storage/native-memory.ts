/**
 * Process-wide memory control from the bundled addon (native/memory.cc): limitTableMmaps(n) sets
 * how many LevelDB table files may be read through mmap in this process (LevelDB's default is
 * 1000, and every touched page of a mapped file counts in RSS). It must run before the first
 * LevelDB database opens in the process; later calls have no effect. Without the addon it reports
 * false.
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

