/**
 * Background pool worker (piscina; Cairn's "bio"): slow work that must not stall a shard.
 *
 * Each task opens the shard's LevelDB location for its own duration. classic-level shares the
 * shard's open handle (both sides set `multithreading: true`), so opening costs a lookup, and
 * closing only drops this thread's reference. See src/shard/sweep.ts and src/shard/backup.ts for
 * what the tasks do.
 */
import {
  openShared, sweepGarbage, compactDatabases, purgeDatabaseId,
  type SweepTask, type SweepResult, type CompactTask, type PurgeTask, type PurgeResult,
} from '../src/shard/sweep.js';
import { copyShards, type BackupTask, type BackupResult } from '../src/shard/backup.js';
import type { Db } from '../src/storage/store.js';
import { setThreadName } from '../src/storage/native-memory.js';

setThreadName('cairn-bg');

async function withShard<T>(path: string, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openShared(path);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Sweeps dead collection versions of one shard, within the task's budgets. */
export function sweep(t: SweepTask): Promise<SweepResult> {
  return withShard(t.path, (db) => sweepGarbage(db, t));
}

/** Deletes the records of a flushed database's retired id, within the task's budgets. */
export function purge(t: PurgeTask): Promise<PurgeResult> {
  return withShard(t.path, (db) => purgeDatabaseId(db, t));
}

/** Compacts the record ranges of flushed databases; returns the ranges compacted. */
export function compact(t: CompactTask): Promise<number> {
  return withShard(t.path, (db) => compactDatabases(db, t.dbs));
}

/** BGSAVE / SAVE: one snapshot moment across every shard, copied into a new data directory. */
export function backup(t: BackupTask): Promise<BackupResult> {
  return copyShards(t);
}
