/**
 * The config table: every option Cairn knows is declared here once. The command line
 * (`--name value`), the config file (redis.conf syntax) and CONFIG GET/SET all read it.
 *
 * `effect` says what a value does:
 *   - 'live'    : takes effect at once when changed with CONFIG SET;
 *   - 'restart' : read at start-up only (CONFIG SET refuses it: mutable=false);
 *   - 'start'   : read at start-up; CONFIG SET stores it (CONFIG GET, CONFIG REWRITE) for the next start;
 *   - 'none'    : a Redis parameter that does not apply to LevelDB storage. It is accepted,
 *                 stored and reported so that tools and client libraries that set it keep
 *                 working, and documented as having no effect.
 */

import { parseI64 } from './util/number.js';
import { OBUF_DEFAULT, updateObufLimits } from './output-buffer-limits.js';

export type ConfigType = 'int' | 'memory' | 'bool' | 'enum' | 'string' | 'float';
export type ConfigValue = number | boolean | string;

export interface ConfigOption {
  readonly name: string;
  /** Redis' other name for the same setting (hash-max-ziplist-entries): read, set and listed too. */
  readonly alias?: string;
  readonly type: ConfigType;
  readonly default: ConfigValue;
  /** Bounds (bigint where Redis' bound is past 2^53, e.g. LONG_MAX); an int past 2^53 is kept as its text. */
  readonly min?: number | bigint;
  readonly max?: number | bigint;
  /** An int in bounds is then brought into [lo, hi], as Redis does for hz (CONFIG GET shows the result). */
  readonly clamp?: readonly [number, number];
  readonly values?: readonly string[];
  readonly mutable: boolean;
  readonly effect: 'live' | 'restart' | 'start' | 'none';
  readonly doc: string;
  /** Shown in cairn.conf under this heading. */
  readonly section: string;
  /** A further check of a string value, as Redis makes it: the error text, or null when valid. */
  readonly check?: (text: string) => string | null;
  /**
   * A value that is changed rather than replaced (client-output-buffer-limit: each setting names
   * the classes it changes): returns the new value from the text and the current value.
   */
  readonly update?: (text: string, current: string) => string | { error: string };
}

const GB = 1024 * 1024 * 1024;
const MB = 1024 * 1024;

function opt(o: ConfigOption): ConfigOption {
  return o;
}

export const CONFIG_TABLE: readonly ConfigOption[] = [
  // --- network
  opt({ section: 'network', name: 'bind', type: 'string', default: '127.0.0.1 -::1', mutable: false, effect: 'restart',
    doc: 'Addresses to listen on, space separated. A leading "-" means the address may be unavailable.' }),
  opt({ section: 'network', name: 'port', type: 'int', default: 6379, min: 0, max: 65535, mutable: false, effect: 'restart',
    doc: 'TCP port. 0 picks a free port (logged at start-up).' }),
  opt({ section: 'network', name: 'protected-mode', type: 'bool', default: false, mutable: true, effect: 'none',
    doc: 'Accepted for compatibility; Cairn listens only on the addresses in "bind".' }),
  opt({ section: 'network', name: 'tcp-backlog', type: 'int', default: 511, min: 0, max: 65535, mutable: false, effect: 'restart',
    doc: 'Listen backlog.' }),
  opt({ section: 'network', name: 'timeout', type: 'int', default: 0, min: 0, max: 2147483647, mutable: true, effect: 'live',
    doc: 'Close a client connection idle for this many seconds (0 = never).' }),
  opt({ section: 'network', name: 'tcp-keepalive', type: 'int', default: 300, min: 0, max: 2147483647, mutable: true, effect: 'live',
    doc: 'TCP keepalive period in seconds for new connections (0 = off).' }),
  opt({ section: 'network', name: 'unixsocket', type: 'string', default: '', mutable: false, effect: 'none',
    doc: 'Accepted for compatibility; Unix sockets are not served yet.' }),

  // --- general
  opt({ section: 'general', name: 'dir', type: 'string', default: './data', mutable: false, effect: 'restart',
    doc: 'Data directory. Each shard keeps its LevelDB under <dir>/shard-<i>.' }),
  opt({ section: 'general', name: 'shards', type: 'int', default: 0, min: 0, max: 256, mutable: false, effect: 'restart',
    doc: 'Number of shard worker threads (0 = one per core). Recorded when a data directory is created; opening it with another count is refused.' }),
  opt({ section: 'general', name: 'shard-threads', type: 'bool', default: true, mutable: false, effect: 'restart',
    doc: 'Run each shard in its own worker thread (yes), or every shard on the front thread (no: no thread hop, one core).' }),
  opt({ section: 'general', name: 'sched-batch', type: 'bool', default: false, mutable: false, effect: 'restart',
    doc: 'Run the front thread and the shard threads under Linux\'s SCHED_BATCH policy: a thread that wakes up then never preempts the running one. The serving threads wake each other for every message; on few cores the woken thread preempted the sender and then waited for a lock the sender held. Measured on 2 vCPUs: lower worst-case latency but ~20% less closed-loop throughput in bench:capacity, hence off. Needs the bundled native addon.' }),
  opt({ section: 'general', name: 'databases', type: 'int', default: 16, min: 1, max: 256, mutable: false, effect: 'restart',
    doc: 'Number of logical databases (SELECT 0..databases-1).' }),
  opt({ section: 'general', name: 'loglevel', type: 'enum', default: 'notice', values: ['debug', 'verbose', 'notice', 'warning', 'nothing'], mutable: true, effect: 'live',
    doc: 'Log level, with Redis\' names (debug, verbose, notice, warning, nothing). Logs are pino JSON lines, pretty when stdout is a terminal.' }),
  opt({ section: 'general', name: 'logfile', type: 'string', default: '', mutable: false, effect: 'restart',
    doc: 'Log to this file instead of stdout ("" = stdout).' }),
  opt({ section: 'general', name: 'daemonize', type: 'bool', default: false, mutable: false, effect: 'none',
    doc: 'Accepted for compatibility; Cairn always runs in the foreground.' }),
  opt({ section: 'general', name: 'pidfile', type: 'string', default: '', mutable: false, effect: 'restart',
    doc: 'Write the process id to this file at start-up ("" = none).' }),
  opt({ section: 'general', name: 'hz', type: 'int', default: 10, min: 0, max: 2147483647, clamp: [1, 500], mutable: true, effect: 'live',
    doc: 'Background cycles per second (active expiry runs at this rate); as in Redis, values outside 1..500 become 1 or 500.' }),
  opt({ section: 'general', name: 'active-expire-effort', type: 'int', default: 1, min: 1, max: 10, mutable: true, effect: 'live',
    doc: 'How much work each active expiry cycle may do (1..10).' }),

  // --- limits
  opt({ section: 'limits', name: 'maxclients', type: 'int', default: 10000, min: 1, max: 4294967295, mutable: true, effect: 'live',
    doc: 'Maximum number of connected clients.' }),
  opt({ section: 'limits', name: 'proto-max-bulk-len', type: 'memory', default: 512 * MB, min: 1024 * 1024, max: 1e15, mutable: true, effect: 'live',
    doc: 'Largest bulk string a client may send.' }),
  opt({ section: 'limits', name: 'client-query-buffer-limit', type: 'memory', default: GB, min: 1024 * 1024, max: 1e15, mutable: true, effect: 'live',
    doc: 'Largest unparsed query buffer per client; a client exceeding it is disconnected.' }),
  opt({ section: 'limits', name: 'client-output-buffer-limit', type: 'string', default: OBUF_DEFAULT, mutable: true, effect: 'live',
    update: updateObufLimits,
    doc: 'Per client class (normal, replica or slave, pubsub): <class> <hard limit> <soft limit> <soft seconds>. A client whose unsent replies reach the hard limit, or stay at or over the soft limit for more than the soft seconds, is disconnected (0 = no limit). Each setting changes only the classes it names. Every client is a normal client for now: replicas and pub/sub do not exist in Cairn yet. With no limit, a client that does not read its replies still holds little memory: Cairn stops reading and running its commands while its replies wait.' }),
  opt({ section: 'limits', name: 'maxmemory', type: 'memory', default: 0, min: 0, max: 18446744073709551615n, mutable: true, effect: 'start',
    doc: 'Memory budget of the server process (0 = none). The dataset lives on disk and is never capped, evicted or refused for it: at start the per-shard row cache, LevelDB block cache and write buffers are shrunk (never grown) so that they, the runtime and the client limits fit this budget. INFO memory shows the sizes in effect.' }),
  opt({ section: 'limits', name: 'maxmemory-policy', type: 'enum', default: 'noeviction',
    values: ['volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'noeviction'],
    mutable: true, effect: 'none', doc: 'Accepted for compatibility; Cairn never evicts.' }),
  opt({ section: 'limits', name: 'maxmemory-samples', type: 'int', default: 5, min: 1, max: 64, mutable: true, effect: 'none',
    doc: 'Accepted for compatibility; no effect.' }),

  // --- persistence (LevelDB keeps every acknowledged write in its log)
  opt({ section: 'persistence', name: 'save', type: 'string', default: '3600 1 300 100 60 10000', mutable: true, effect: 'none', check: checkSave,
    doc: 'Accepted for compatibility; every write is already persistent in LevelDB.' }),
  opt({ section: 'persistence', name: 'appendonly', type: 'bool', default: false, mutable: true, effect: 'none',
    doc: 'Accepted for compatibility; LevelDB\'s write-ahead log plays this role.' }),
  opt({ section: 'persistence', name: 'appendfilename', type: 'string', default: 'appendonly.aof', mutable: false, effect: 'none',
    doc: 'Accepted for compatibility; no effect.' }),
  opt({ section: 'persistence', name: 'appendfsync', type: 'enum', default: 'everysec', values: ['everysec', 'always', 'no'], mutable: true, effect: 'live',
    doc: 'When LevelDB\'s log is flushed to disk (fsync). Every acknowledged write is in the log before its reply, so it survives a crash of the process whatever this says; for a crash of the machine: always = each group commit is fsynced before its replies (nothing acknowledged is lost), everysec = a shard that wrote fsyncs at least once a second (up to about a second lost), no = the operating system decides.' }),
  opt({ section: 'persistence', name: 'dbfilename', type: 'string', default: 'dump.rdb', mutable: true, effect: 'none',
    doc: 'Accepted for compatibility; no effect.' }),
  opt({ section: 'persistence', name: 'stop-writes-on-bgsave-error', type: 'bool', default: true, mutable: true, effect: 'none',
    doc: 'Accepted for compatibility; no effect.' }),
  opt({ section: 'persistence', name: 'rdbcompression', type: 'bool', default: true, mutable: true, effect: 'none',
    doc: 'Accepted for compatibility; no effect.' }),

  // --- storage (LevelDB, per shard)
  opt({ section: 'storage', name: 'row-cache-size', type: 'memory', default: 32 * MB, min: 0, max: 1e15, mutable: false, effect: 'restart',
    doc: 'Cache of recently read and written records, per shard, in front of LevelDB (0 = off).' }),
  opt({ section: 'storage', name: 'row-cache-front-reads', type: 'bool', default: true, mutable: false, effect: 'restart',
    doc: 'GET, STRLEN, EXISTS of one key, TYPE, TTL, PTTL, EXPIRETIME, PEXPIRETIME, HLEN, LLEN, SCARD and ZCARD of a record in a shard\'s row cache, and HGET, HEXISTS, HSTRLEN, SISMEMBER, ZSCORE, HMGET, SMISMEMBER and ZMSCORE of fields or members whose records are cached too, and MGET of cached keys (on any shards), are answered by the front thread from shared memory, without a hop to the shard, when nothing sent to that shard and no earlier command of the client is unanswered (only records whose group commit is written; anything else goes to the shard).' }),
  opt({ section: 'storage', name: 'leveldb-native-writes', type: 'bool', default: true, mutable: false, effect: 'restart',
    doc: 'Write each group commit, and read key ranges (LRANGE, ZRANGE, HGETALL, SCAN, ranks, ...), on the shard\'s own thread with the bundled native addon (built by npm install); with "no", or when the addon is not built, both go through the libuv thread pool.' }),
  opt({ section: 'storage', name: 'leveldb-overlapped-reads', type: 'enum', values: ['auto', 'always', 'no'], default: 'auto', mutable: false, effect: 'restart',
    doc: 'Before running a frame of commands, a shard reads the records they will look up first in one native call that overlaps the reads reaching the disk (on a pool of up to 16 threads), instead of waiting for each in turn. auto: only while reads reach the disk (sampled otherwise); always: every frame; no: never. Needs the native addon and the patched LevelDB (npm install builds both) and the row cache.' }),
  opt({ section: 'storage', name: 'leveldb-cache-size', type: 'memory', default: 64 * MB, min: 0, max: 1e15, mutable: false, effect: 'restart',
    doc: 'LevelDB block cache per shard.' }),
  opt({ section: 'storage', name: 'leveldb-write-buffer-size', type: 'memory', default: 4 * MB, min: 64 * 1024, max: 1e15, mutable: false, effect: 'restart',
    doc: 'LevelDB write buffer (memtable) per shard. Smaller memtables insert faster: 4mb gave about 20% more pipelined SET/s than 16mb (bench/).' }),
  opt({ section: 'storage', name: 'leveldb-max-open-files', type: 'int', default: 5000, min: 74, max: 50000, mutable: false, effect: 'restart',
    doc: 'LevelDB open file limit per shard: table files kept open, each with its index and bloom filter in memory (measured: 12-16 KB at 16 KB blocks, ~24 KB at 4 KB; a read from a table that is not open first reads those back). With maxmemory set, fewer: at most an eighth of the budget goes to open tables, each counted at twice that size. The range is the one LevelDB allows: it would silently clip any other value. LevelDB also keeps at most a fifth of the process\'s file descriptor limit open for reading, across shards, and opens the file for each read beyond that.' }),
  opt({ section: 'storage', name: 'leveldb-block-size', type: 'memory', default: 16 * 1024, min: 1024, max: 4 * MB, mutable: false, effect: 'restart',
    doc: 'LevelDB block size: the unit of a table file that a point read decompresses and the block cache holds. Every open table keeps an index with one entry per block in memory, so larger blocks make that index, which grows with the dataset, smaller, and let maxmemory keep more tables open (LevelDB\'s default, 4kb, costs about 10 KB more per open table; a point read costs a few us less).' }),
  opt({ section: 'storage', name: 'leveldb-compression', type: 'bool', default: true, mutable: false, effect: 'restart',
    doc: 'Snappy compression of LevelDB blocks.' }),
  opt({ section: 'storage', name: 'leveldb-background-threads', type: 'int', default: 0, min: 0, max: 64, mutable: false, effect: 'restart',
    doc: 'Threads that run LevelDB\'s compactions and memtable flushes, for all shards of the process. 0: one per shard, so a long compaction of one shard never holds up another shard\'s memtable flush (whose writes would stall meanwhile). LevelDB runs at most one background job per shard at a time. Needs the patched LevelDB that npm install builds (INFO server cairn_leveldb_patches lists background-threads); classic-level\'s prebuild has one thread whatever this says.' }),
  opt({ section: 'storage', name: 'leveldb-compaction-nice', type: 'int', default: 19, min: 0, max: 19, mutable: false, effect: 'restart',
    doc: 'Nice value (0-19, as nice(1)) of LevelDB\'s compaction threads (leveldb-background-threads). 19: compactions use the CPU that serving leaves, and a serving thread that wakes up preempts them; 0: they compete with the serving threads for the CPU (on 2 cores that cost every command milliseconds of p99, bench:capacity). LevelDB still throttles writes when compactions fall behind. Needs the bundled native addon. (The background pool\'s threads run at nice +10.)' }),
  opt({ section: 'storage', name: 'leveldb-deferred-deletes', type: 'bool', default: true, mutable: false, effect: 'restart',
    doc: 'Keep a second hard link to each LevelDB file in <shard>/reaper/ and free the files LevelDB deletes from there, within a second, off LevelDB\'s lock. LevelDB deletes obsolete files while holding the lock every read and write of the shard needs; on a filesystem mounted with discard, each delete is a synchronous TRIM that stalled the shard for 10-30 ms (bench:capacity). "no": LevelDB deletes them itself.' }),
  opt({ section: 'storage', name: 'leveldb-mmap-files', type: 'int', default: 0, min: 0, max: 1000, mutable: false, effect: 'restart',
    doc: 'How many LevelDB table files this process may read through mmap (LevelDB\'s own default is 1000). Every page of a mapped file that a read touches counts in the server\'s RSS, outside any cache budget; with 0, tables are read with pread and those pages stay in the kernel\'s page cache (reclaimable). Needs the bundled native addon.' }),

  // --- encodings: Redis in-memory encodings, no effect on LevelDB storage
  ...[
    ['hash-max-listpack-entries', 512], ['hash-max-listpack-value', 64],
    ['list-max-listpack-size', -2], ['list-compress-depth', 0],
    ['set-max-intset-entries', 512], ['set-max-listpack-entries', 128], ['set-max-listpack-value', 64],
    ['zset-max-listpack-entries', 128], ['zset-max-listpack-value', 64],
    ['hll-sparse-max-bytes', 3000], ['stream-node-max-bytes', 4096], ['stream-node-max-entries', 100],
  ].map(([name, def]) => opt({ section: 'encodings', name: name as string,
    // Redis 7.0 keeps the ziplist names of the hash, list and sorted set options as aliases.
    ...(/^(hash|list|zset)-max-listpack-/.test(name as string) ? { alias: (name as string).replace('listpack', 'ziplist') } : {}),
    // Sizes in bytes are memory values in Redis (1kb works); counts are plain integers.
    type: /-value$|-bytes$/.test(name as string) ? 'memory' : 'int', default: def as number,
    // Redis 7.0's bounds: list sizes are C ints, the depth a non-negative int, the rest size_t / long long up to LONG_MAX.
    ...(name === 'list-max-listpack-size' || name === 'list-max-ziplist-size' ? { min: -2147483648, max: 2147483647 }
      : name === 'list-compress-depth' ? { min: 0, max: 2147483647 } : { min: 0, max: 9223372036854775807n }),
    mutable: true, effect: 'none',
    doc: 'Redis in-memory encoding threshold; no effect on LevelDB storage.' })),
  opt({ section: 'encodings', name: 'activerehashing', type: 'bool', default: true, mutable: true, effect: 'none',
    doc: 'Accepted for compatibility; no effect.' }),

  // --- observability
  opt({ section: 'observability', name: 'enable-debug-command', type: 'enum', default: 'no', values: ['no', 'yes', 'local'], mutable: false, effect: 'restart',
    doc: 'Allow the DEBUG command: no, yes, or local (only from loopback connections), as in Redis. Cairn\'s DEBUG injects faults for tests (DEBUG SET-DISK-ERROR: LevelDB writes fail as on a full disk).' }),
  opt({ section: 'observability', name: 'slowlog-log-slower-than', type: 'int', default: 10000, min: -1, max: 9223372036854775807n, mutable: true, effect: 'none',
    doc: 'Accepted and stored; SLOWLOG is not implemented yet.' }),
  opt({ section: 'observability', name: 'slowlog-max-len', type: 'int', default: 128, min: 0, max: 2147483647, mutable: true, effect: 'none',
    doc: 'Accepted and stored; SLOWLOG is not implemented yet.' }),
  opt({ section: 'observability', name: 'latency-monitor-threshold', type: 'int', default: 0, min: 0, max: 9223372036854775807n, mutable: true, effect: 'none',
    doc: 'Accepted for compatibility; no effect.' }),
  opt({ section: 'observability', name: 'notify-keyspace-events', type: 'string', default: '', mutable: true, effect: 'none',
    doc: 'Accepted and stored; keyspace notifications are not implemented yet.' }),
  opt({ section: 'observability', name: 'lua-time-limit', type: 'int', default: 5000, min: 0, max: 9223372036854775807n, mutable: true, effect: 'none',
    doc: 'Accepted for compatibility; no effect.' }),
];

/** Every option by its name and by its alias. */
export const CONFIG_BY_NAME: ReadonlyMap<string, ConfigOption> = new Map(
  CONFIG_TABLE.flatMap((o) => (o.alias ? [[o.name, o], [o.alias, o]] : [[o.name, o]]) as [string, ConfigOption][]));

export type Config = Record<string, ConfigValue>;

export class ConfigError extends Error {
  readonly code = 'CAIRN_CONFIG';
}

const MEMORY_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1000, kb: 1024, m: 1000 * 1000, mb: 1024 * 1024, g: 1000 * 1000 * 1000, gb: 1024 * 1024 * 1024,
};

/** Parses a memory value as redis.conf does (memtoull): 1gb, 64mb, 100k, 5000; no sign, no spaces. */
export function parseMemory(text: string): number | null {
  const v = parseMemoryExact(text);
  return v === null ? null : Number(v);
}

const ULLONG_MAX = 18446744073709551615n;

/** parseMemory, exact as memtoull: strtoull saturates at 2^64-1, and the unit multiplies modulo 2^64. */
function parseMemoryExact(text: string): bigint | null {
  const m = /^(\d+)([a-z]*)$/i.exec(text);
  if (!m) return null;
  const unit = MEMORY_UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const digits = BigInt(m[1]!);
  return ((digits > ULLONG_MAX ? ULLONG_MAX : digits) * BigInt(unit)) & ULLONG_MAX;
}

/** Redis' numeric bounds check, on the exact value. */
function outOfBounds(o: ConfigOption, v: bigint): { error: string } | null {
  if ((o.min !== undefined && v < BigInt(o.min)) || (o.max !== undefined && v > BigInt(o.max))) {
    return { error: `argument must be between ${o.min} and ${o.max} inclusive` };
  }
  return null;
}

/** A value as a JS number when exact, else its decimal text (for no-effect options only). */
function exactValue(v: bigint): number | string {
  return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
}

/**
 * Converts a textual value for `o`; returns an error message on bad input. `current` is the value
 * an option with `update` changes (its default when not given).
 */
export function parseValue(o: ConfigOption, text: string, current?: ConfigValue): ConfigValue | { error: string } {
  if (o.update) return o.update(text, String(current ?? o.default));
  switch (o.type) {
    case 'bool': {
      const t = text.toLowerCase();
      if (t === 'yes') return true;
      if (t === 'no') return false;
      return { error: 'argument must be \'yes\' or \'no\'' };
    }
    case 'int': {
      // Redis' string2ll (no spaces, no '+', no leading zeros), exact up to 64 bits.
      const v = parseI64(text);
      if (v === null) return { error: 'argument couldn\'t be parsed into an integer' };
      const n = outOfBounds(o, v) ?? exactValue(v);
      return o.clamp && typeof n === 'number' ? Math.min(o.clamp[1], Math.max(o.clamp[0], n)) : n;
    }
    case 'memory': {
      // Redis' memtoull.
      const v = parseMemoryExact(text);
      if (v === null) return { error: 'argument must be a memory value' };
      return outOfBounds(o, v) ?? exactValue(v);
    }
    case 'float': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) return { error: 'argument couldn\'t be parsed into a number' };
      return n;
    }
    case 'enum': {
      const t = text.toLowerCase();
      if (!o.values!.includes(t)) return { error: 'argument(s) must be one of the following: ' + o.values!.join(', ') };
      return t;
    }
    case 'string': {
      const error = o.check?.(text);
      return error ? { error } : text;
    }
  }
}

/**
 * Redis' setConfigSaveOption(): "<seconds> <changes>" pairs split at single spaces, each read by
 * strtoll (leading white space and a sign allowed; an empty word reads as 0), seconds >= 1, changes >= 0.
 */
function checkSave(text: string): string | null {
  const words = text === '' ? [] : text.split(' ');
  const bad = words.length % 2 !== 0 || words.some((w, j) => {
    if (w !== '' && !/^[\t\n\v\f\r ]*[+-]?\d+$/.test(w)) return true;
    const v = w === '' ? 0n : BigInt(w.trim());
    return j % 2 === 0 ? v < 1n : v < 0n;
  });
  return bad ? 'Invalid save parameters' : null;
}

/** Renders a value the way CONFIG GET shows it. */
export function formatValue(o: ConfigOption, v: ConfigValue): string {
  if (o.type === 'bool') return v ? 'yes' : 'no';
  return String(v);
}

export function defaultConfig(): Config {
  const c: Config = {};
  for (const o of CONFIG_TABLE) c[o.name] = o.default;
  return c;
}

/** Applies one `name value...` setting (file or command line). Throws ConfigError when invalid. */
export function applySetting(config: Config, name: string, args: string[], where: string): void {
  const o = CONFIG_BY_NAME.get(name.toLowerCase());
  if (!o) throw new ConfigError(`${where}: unknown option '${name}'`);
  if (args.length === 0) throw new ConfigError(`${where}: option '${o.name}' needs a value`);
  const text = o.type === 'string' ? args.join(' ') : args.length === 1 ? args[0]! : null;
  if (text === null) throw new ConfigError(`${where}: option '${o.name}' takes one value`);
  const v = parseValue(o, text, config[o.name]);
  if (typeof v === 'object') throw new ConfigError(`${where}: invalid value for '${o.name}': ${v.error}`);
  config[o.name] = v;
}

/** Splits a redis.conf line into words, honouring "double" and 'single' quotes. */
export function splitConfigLine(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    const q = line[i];
    if (q === '"' || q === '\'') {
      let s = '';
      i++;
      while (i < line.length && line[i] !== q) {
        if (line[i] === '\\' && q === '"' && i + 1 < line.length) {
          const n = line[++i]!;
          s += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
        } else s += line[i];
        i++;
      }
      if (i >= line.length) return null;
      i++;
      out.push(s);
    } else {
      let s = '';
      while (i < line.length && !/\s/.test(line[i]!)) s += line[i++];
      out.push(s);
    }
  }
  return out;
}

export function parseConfigFile(text: string, file: string, config: Config): void {
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const words = splitConfigLine(line);
    const where = `${file}:${idx + 1}`;
    if (!words) throw new ConfigError(`${where}: unbalanced quotes`);
    applySetting(config, words[0]!, words.slice(1), where);
  });
}

/**
 * Command line: `[configfile] [--name value ...]`, as redis-server takes it.
 * Options on the command line override the file.
 */
export function parseCommandLine(argv: string[], readFile: (p: string) => string): Config {
  const config = defaultConfig();
  let i = 0;
  if (argv.length > 0 && !argv[0]!.startsWith('--')) {
    const file = argv[0]!;
    let text: string;
    try {
      text = readFile(file);
    } catch (e) {
      throw new ConfigError(`cannot read config file '${file}': ${(e as Error).message}`);
    }
    parseConfigFile(text, file, config);
    i = 1;
  }
  while (i < argv.length) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new ConfigError(`command line: expected an option, got '${a}'`);
    const name = a.slice(2);
    const args: string[] = [];
    i++;
    while (i < argv.length && !argv[i]!.startsWith('--')) args.push(argv[i++]!);
    applySetting(config, name, args, 'command line');
  }
  return config;
}
