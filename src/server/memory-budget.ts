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
 * pools' threads. Measured: a 2-shard server at rest is at ~88 MB RSS. `npm start` caps the front
 * thread's V8 semi-spaces at 4 MB (package.json): by default its young generation grew to 3 x 16 MB
 * under bench:large's 1000-pair commands.
 */
export const RUNTIME_BASE = 96 * MB;
/**
 * One shard isolate at rest (~10 MB), its young generation (8 MB) and old-generation garbage, and
 * what the C allocator keeps of LevelDB's freed memtables and blocks. Measured under bench:large
 * (2M-member ZADD + HSET, 2 shards): RSS exceeded the accounted caches by ~70 MB per shard at a
 * 256 MB budget with 24 MB here, and still ~45 MB over it (VmHWM 303 MiB) with 48 MB.
 */
export const RUNTIME_PER_SHARD = 64 * MB;
/** LevelDB's table file size (options.max_file_size; classic-level's default, which Cairn keeps). */
const TABLE_FILE_BYTES = 2 * MB;
/**
 * What one table file that LevelDB keeps open costs in RSS. It holds its index block (one entry per
 * data block: a shortened key, the block's offset and size, ~30 bytes), its bloom filter (10 bits
 * per key, classic-level's policy; here for records of ~200 bytes on average) and the Table, file
 * and cache-entry objects: measured at rest (session 6, bench:capacity's 1 GiB dataset, records of
 * ~290 bytes, RSS after random GETs over every table with max_open_files 74 and then 1000) about
 * 24 KB per table with 4 KB blocks and 12-16 KB with 16 KB blocks. Under a long load the process
 * grows by about twice that per table (the C allocator interleaves these long-lived blocks with the
 * short-lived ones compactions read): bench:capacity at 5 GiB with up to 1,575 tables per shard
 * open grew 26 MiB per GiB loaded, ~620 tables. Hence the factor 2. (Session 2's 98 KB came from
 * whole-run RSS differences with table files mapped.)
 */
export function openTableBytes(blockSize: number): number {
  const index = Math.ceil(TABLE_FILE_BYTES / blockSize) * 32;
  const filter = Math.ceil(TABLE_FILE_BYTES / 200) * 10 / 8;
  return 2 * (4 * 1024 + index + filter);
}
/** The share of maxmemory that open tables may take (what the rest leaves, measured at 5 GiB). */
const OPEN_TABLES_SHARE = 1 / 8;
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

/**
 * Per-shard cache sizes: the configured ones, shrunk to fit `maxmemory` when it is set (> 0).
 * `blockSize` is LevelDB's (leveldb-block-size): an open table's index follows from it.
 */
export function budgetCaches(maxmemory: number, shards: number, configured: CacheSizes, blockSize: number): Budget {
  if (maxmemory <= 0) return { ...configured, tooSmall: false };
  // Open tables are the one LevelDB memory that grows with the dataset (an index and a filter per
  // table file): an eighth of the budget at most. The sum below leaves them out because
  // RUNTIME_PER_SHARD was measured with a few hundred tables open; this bounds what a larger
  // dataset adds. (A quarter, tried in session 6: 5 GiB in a 256 MB budget peaked at 296 MiB.)
  const maxOpenFiles = Math.max(MIN_OPEN_FILES, Math.min(configured.maxOpenFiles,
    Math.floor((maxmemory * OPEN_TABLES_SHARE) / shards / openTableBytes(blockSize))));
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
