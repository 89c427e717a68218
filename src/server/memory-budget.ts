/**
 * `maxmemory` in Cairn: the memory budget of the server process, never a cap on the dataset
 * (which lives on disk) and never a reason to evict or refuse a write.
 *
 * What grows with load in a Cairn process is bounded by configuration: per shard the row cache
 * (one ring allocated at start), LevelDB's block cache, its two memtables (the one being
 * filled and the one being flushed) and its open table files (max_open_files); per connection
 * the query and output buffers (client-query-buffer-limit, client-output-buffer-limit,
 * maxclients). The rest is the runtime: Node and V8 for the front thread, one isolate per shard
 * and per background pool thread.
 *
 * With maxmemory set, the caches are sized at start so that the sum fits: what is left after
 * the runtime and the memtables goes one third to row caches, two thirds to block caches, spread
 * over the shards, each never above its own configured size. The estimates below were measured
 * on this machine (bench:large and bench:capacity print peak RSS next to the budget).
 */

const MB = 1024 * 1024;

/**
 * Node's mapped binary (~46 MB of file-backed RSS), V8 and the front thread's heap, the background
 * pools' threads. Measured: a 2-shard server at rest is at ~88 MB RSS.
 */
export const RUNTIME_BASE = 96 * MB;
/**
 * One shard isolate at rest (~10 MB), its young generation (8 MB) and old-generation garbage, and
 * what the C allocator keeps of LevelDB's freed memtables and blocks. Measured under bench:large
 * (2M-member ZADD + HSET, 2 shards): RSS exceeded the accounted caches by ~70 MB per shard at a
 * 256 MB budget with 24 MB here, and still ~45 MB over it (VmHWM 303 MiB) with 48 MB.
 */
export const RUNTIME_PER_SHARD = 64 * MB;
/**
 * What one table file that LevelDB keeps open costs (its index block, the Table and file objects,
 * the allocator's share). Measured with bench:capacity (256 MB budget, 2 shards, session 2): 5 GiB
 * with 1000 open files per shard peaked at 380 MiB RSS, 3 GiB with 100 per shard at 208 MiB: about
 * 98 KB per open table.
 */
export const OPEN_TABLE_BYTES = 98 * 1024;
/** LevelDB's own floor for max_open_files (it clips lower values to this). */
const MIN_OPEN_FILES = 74;
/** Smallest caches worth having (LevelDB uses an 8 MB block cache when given none at all). */
const MIN_BLOCK_CACHE = 1 * MB;

export interface CacheSizes {
  rowCacheSize: number;
  cacheSize: number;
  writeBufferSize: number;
  /** LevelDB's max_open_files per shard (its table cache). */
  maxOpenFiles: number;
}

export interface Budget extends CacheSizes {
  /** True when maxmemory is smaller than the runtime and the smallest caches. */
  tooSmall: boolean;
}

/** Per-shard cache sizes: the configured ones, shrunk to fit `maxmemory` when it is set (> 0). */
export function budgetCaches(maxmemory: number, shards: number, configured: CacheSizes): Budget {
  if (maxmemory <= 0) return { ...configured, tooSmall: false };
  // Open tables are the one LevelDB memory that grows with the dataset (one index block per table
  // file): a quarter of the budget at most. The sum below leaves them out because RUNTIME_PER_SHARD
  // was measured with a few hundred tables open; this bounds what a larger dataset adds.
  const maxOpenFiles = Math.max(MIN_OPEN_FILES, Math.min(configured.maxOpenFiles, Math.floor(maxmemory / 4 / shards / OPEN_TABLE_BYTES)));
  let writeBufferSize = configured.writeBufferSize;
  const fixed = RUNTIME_BASE + shards * RUNTIME_PER_SHARD;
  // Memtables come first (writes need them), but never more than a quarter of what is left.
  const quarter = Math.floor((maxmemory - fixed) / 4 / (2 * shards));
  if (quarter < writeBufferSize) writeBufferSize = Math.max(64 * 1024, quarter);
  const caches = maxmemory - fixed - 2 * shards * writeBufferSize;
  if (caches < shards * MIN_BLOCK_CACHE) {
    return { rowCacheSize: 0, cacheSize: MIN_BLOCK_CACHE, writeBufferSize, maxOpenFiles, tooSmall: true };
  }
  const perShard = caches / shards;
  return {
    rowCacheSize: Math.min(configured.rowCacheSize, Math.floor(perShard / 3)),
    cacheSize: Math.max(MIN_BLOCK_CACHE, Math.min(configured.cacheSize, Math.floor((perShard * 2) / 3))),
    writeBufferSize,
    maxOpenFiles,
    tooSmall: false,
  };
}
