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

/**
 * glibc malloc settings for the whole process (native/memory.cc has why): at most MALLOC_ARENA_MAX
 * arenas, and blocks from MALLOC_MMAP_THRESHOLD bytes up mapped on their own (returned to the
 * system when freed). `npm start` sets them from the start of the process (GLIBC_TUNABLES in
 * package.json), so Node's own threads share the two arenas too; a server started otherwise sets
 * them here, at start-up before any worker thread or LevelDB database exists (the arenas Node's
 * threads made before stay). A GLIBC_TUNABLES setting of glibc.malloc in the environment wins.
 */
export const MALLOC_ARENA_MAX = 2;
export const MALLOC_MMAP_THRESHOLD = 1024 * 1024;

/** The allocator settings in effect (0: glibc's own). */
const allocator = { arenaMax: 0, mmapThreshold: 0 };

/** Applies the settings unless the environment gives its own; true when these are in effect. */
export function tuneAllocator(): boolean {
  const tunables = process.env.GLIBC_TUNABLES ?? '';
  if (/glibc\.malloc\./.test(tunables)) {
    const value = (name: string): number => Number(new RegExp(`glibc\\.malloc\\.${name}=(\\d+)`).exec(tunables)?.[1] ?? 0);
    allocator.arenaMax = value('arena_max');
    allocator.mmapThreshold = value('mmap_threshold');
  } else if (addon?.tuneAllocator?.(MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD)) {
    allocator.arenaMax = MALLOC_ARENA_MAX;
    allocator.mmapThreshold = MALLOC_MMAP_THRESHOLD;
  }
  return allocator.arenaMax === MALLOC_ARENA_MAX && allocator.mmapThreshold === MALLOC_MMAP_THRESHOLD;
}

/** What INFO memory reports of the C allocator: the settings in effect and the arenas in use. */
export function allocatorInfo(): { arenaMax: number; mmapThreshold: number; arenas: number } {
  const xml = addon?.mallocInfo?.() ?? '';
  return { ...allocator, arenas: (xml.match(/<heap nr=/g) ?? []).length };
}
