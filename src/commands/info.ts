/**
 * INFO, and the internal `__stats` shard command it (and CONFIG RESETSTAT) reads shard state with.
 *
 * Front-thread numbers (clients, connections, calls, network bytes, front errors) come from
 * ServerState; per-shard numbers (keys and expires per db, expired keys, keyspace hits/misses,
 * shard-side command time and errors, heap and LevelDB memory) from one `__stats` call per shard.
 * Text as Redis 7.0: "# Section" headers, "field:value" lines, CRLF, a blank line between sections.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { command, type CommandSpec, type FrontCall, type ShardCall } from './types.js';
import type { ServerState } from '../server/context.js';
import { COMMAND_LIST } from './table.js';
import { lower } from './args.js';
import { parseReply, type RespValue } from '../server/resp/reply-parser.js';
import { shardStats } from '../shard/stats.js';
import { Sweeper, sweepState, pendingVersions } from '../shard/sweep.js';
import { Backups } from '../server/backup.js';
import { leveldbPatches } from '../storage/native-addon.js';
import { crossWriteStats } from '../server/cross-write.js';
import { allocatorInfo } from '../storage/native-memory.js';

/** The Redis version Cairn reports (HELLO, INFO): the release whose behaviour it follows. */
export const REDIS_VERSION = '7.0.15';

// ------------------------------------------------------------------ sections

const DEFAULT_SECTIONS = [
  'server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'errorstats', 'cluster', 'keyspace',
];
/** Every section, in Redis' output order. */
const ALL_SECTIONS = [
  'server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'modules', 'commandstats', 'errorstats',
  'latencystats', 'cluster', 'keyspace',
];
const SHARD_SECTIONS = new Set(['memory', 'persistence', 'stats', 'commandstats', 'errorstats', 'keyspace']);
const TITLES: Record<string, string> = {
  server: 'Server', clients: 'Clients', memory: 'Memory', persistence: 'Persistence', stats: 'Stats',
  replication: 'Replication', cpu: 'CPU', modules: 'Modules', commandstats: 'Commandstats', errorstats: 'Errorstats',
  latencystats: 'Latencystats', cluster: 'Cluster', keyspace: 'Keyspace',
};

/** The sections an INFO call asks for (Redis 7.0: several names, "default", "all", "everything"). */
export function selectSections(args: readonly Buffer[]): Set<string> {
  if (args.length === 0) return new Set(DEFAULT_SECTIONS);
  const out = new Set<string>();
  for (const a of args) {
    const name = lower(a);
    if (name === 'all' || name === 'everything') ALL_SECTIONS.forEach((s) => out.add(s));
    else if (name === 'default') DEFAULT_SECTIONS.forEach((s) => out.add(s));
    else if (name === 'module_list') out.add('modules');
    else out.add(name);
  }
  return out;
}

// ------------------------------------------------------------------ shard stats

interface CommandTotals {
  usec: number;
  failed: number;
}

/** Shard state summed over every shard. */
export interface ShardTotals {
  /** Per database: keys, keys with an expiry. */
  keys: number[];
  expires: number[];
  expiredKeys: number;
  hits: number;
  misses: number;
  heapUsed: number;
  /** V8 heap committed by the shard isolates, and their memory outside the heap (Buffers). */
  heapCommitted: number;
  external: number;
  leveldbMemory: number;
  /** By command id. */
  commands: Map<number, CommandTotals>;
  /** Error replies of public commands, by code. */
  errors: Map<string, number>;
  errorReplies: number;
  /** Background sweep: dead versions to sweep, versions swept, records deleted. */
  sweepPending: number;
  sweepSwept: number;
  sweepDeleted: number;
  /** fsyncs of LevelDB's logs (appendfsync). */
  logFsyncs: number;
  /** Flushed databases whose records the sweep has still to delete (retired ids, over the shards). */
  sweepPendingDbs: number;
  /** Group commits written on shard threads: count, total and longest time, those over 1 ms. */
  batchWrites: number;
  batchWriteUsec: number;
  batchWriteMaxUsec: number;
  slowBatchWrites: number;
  /** LevelDB level-0 files: the most any shard has (8 slow its writes down, 12 stop them). */
  level0Files: number;
  /** Overlapped reads (Store.prefetchMeta): shards using them, native calls, keys, reads that hit the disk. */
  overlappedShards: number;
  overlappedCalls: number;
  overlappedKeys: number;
  overlappedSlow: number;
}

/*
 * __stats reply (RESP2 array): [keys-per-db[], expires-per-db[], expired, hits, misses, heap-used,
 * leveldb-memory, [id, usec, failed, ...], [id, code, count, ...], sweep-pending, sweep-swept,
 * sweep-deleted, heap-committed, external, log-fsyncs, retired-db-ids, batch-writes,
 * batch-write-usec, batch-write-max-usec, slow-batch-writes, level-0 files, overlapped reads
 * [calls, keys, slow] (empty when unavailable)]. `__stats RESET`
 * zeroes the counters.
 */
function statsReply(c: ShardCall): void {
  const { store, w } = c;
  w.array(22);
  w.array(store.databases);
  for (let n = 0; n < store.databases; n++) w.int(store.counts[store.dbId(n)]!);
  w.array(store.databases);
  for (let n = 0; n < store.databases; n++) w.int(store.expires[store.dbId(n)]!);
  w.int(store.expiredKeys);
  w.int(store.keyspaceHits);
  w.int(store.keyspaceMisses);
  w.int(v8.getHeapStatistics().used_heap_size);
  w.int(leveldbNumber(store, 'leveldb.approximate-memory-usage'));
  const ids: number[] = [];
  for (let id = 0; id < shardStats.usec.length; id++) if (shardStats.usec[id]! > 0 || shardStats.failed[id]! > 0) ids.push(id);
  w.array(ids.length * 3);
  for (const id of ids) {
    w.int(id);
    w.int(Math.round(shardStats.usec[id]!));
    w.int(shardStats.failed[id]!);
  }
  const errs: [number, string, number][] = [];
  for (const [id, byCode] of shardStats.errors) for (const [code, n] of byCode) errs.push([id, code, n]);
  w.array(errs.length * 3);
  for (const [id, code, n] of errs) {
    w.int(id);
    w.bulk(code);
    w.int(n);
  }
  w.int(pendingVersions(store));
  w.int(sweepState(store).swept);
  w.int(sweepState(store).deleted);
  const mu = process.memoryUsage();
  w.int(mu.heapTotal);
  w.int(mu.external);
  w.int(store.fsyncs);
  w.int(store.retired.length);
  const b = store.batchWrites;
  w.int(b.count);
  w.int(b.usec);
  w.int(b.maxUsec);
  w.int(b.slow);
  w.int(leveldbNumber(store, 'leveldb.num-files-at-level0'));
  const o = store.prefetchStats;
  if (o === null) w.array(0);
  else {
    w.array(3);
    w.int(o.calls);
    w.int(o.keys);
    w.int(o.slow);
  }
}

/** A numeric LevelDB property of the shard's database (0 when this build does not have it). */
function leveldbNumber(store: ShardCall['store'], name: string): number {
  try {
    return Number(store.db.getProperty(name)) || 0;
  } catch {
    return 0;
  }
}

/** INFO numbers of this shard (RESET zeroes its counters). */
export const statsCommand: CommandSpec = command({
  name: '__stats', arity: -1, flags: ['loading', 'stale'], acl: [], keys: null, internal: true,
  shard: (c) => {
    if (c.args.length > 1 && lower(c.args[1]!) === 'reset') {
      c.store.expiredKeys = 0;
      c.store.keyspaceHits = 0;
      c.store.keyspaceMisses = 0;
      sweepState(c.store).deleted = 0;
      Object.assign(c.store.batchWrites, { count: 0, usec: 0, maxUsec: 0, slow: 0 });
      const o = c.store.prefetchStats;
      if (o !== null) Object.assign(o, { calls: 0, keys: 0, slow: 0 });
      shardStats.reset();
      c.w.ok();
      return;
    }
    statsReply(c);
  },
});

/** Asks every shard for its numbers (all sends happen before the first await) and sums them. */
export async function gatherShardStats(server: ServerState): Promise<ShardTotals> {
  const calls: Promise<Buffer>[] = [];
  for (let s = 0; s < server.shards.count; s++) calls.push(server.callShard(s, 0, ['__stats']));
  const t: ShardTotals = {
    keys: [], expires: [], expiredKeys: 0, hits: 0, misses: 0, heapUsed: 0, heapCommitted: 0, external: 0, leveldbMemory: 0,
    commands: new Map(), errors: new Map(), errorReplies: 0, sweepPending: 0, sweepSwept: 0, sweepDeleted: 0, logFsyncs: 0, sweepPendingDbs: 0,
    batchWrites: 0, batchWriteUsec: 0, batchWriteMaxUsec: 0, slowBatchWrites: 0, level0Files: 0,
    overlappedShards: 0, overlappedCalls: 0, overlappedKeys: 0, overlappedSlow: 0,
  };
  for (const raw of await Promise.all(calls)) {
    const r = parseReply(raw) as RespValue[];
    const [keys, expires] = [r[0] as number[], r[1] as number[]];
    keys.forEach((n, db) => (t.keys[db] = (t.keys[db] ?? 0) + n));
    expires.forEach((n, db) => (t.expires[db] = (t.expires[db] ?? 0) + n));
    t.expiredKeys += r[2] as number;
    t.hits += r[3] as number;
    t.misses += r[4] as number;
    t.heapUsed += r[5] as number;
    t.leveldbMemory += r[6] as number;
    t.heapCommitted += r[12] as number;
    t.external += r[13] as number;
    const cmds = r[7] as number[];
    for (let i = 0; i < cmds.length; i += 3) {
      const ct = t.commands.get(cmds[i]!) ?? { usec: 0, failed: 0 };
      ct.usec += cmds[i + 1]!;
      ct.failed += cmds[i + 2]!;
      t.commands.set(cmds[i]!, ct);
    }
    const errs = r[8] as RespValue[];
    for (let i = 0; i < errs.length; i += 3) {
      // Internal commands serve front-thread commands, which count the error they pass on.
      if (COMMAND_LIST[errs[i] as number]?.internal) continue;
      const code = (errs[i + 1] as Buffer).toString();
      const n = errs[i + 2] as number;
      t.errors.set(code, (t.errors.get(code) ?? 0) + n);
      t.errorReplies += n;
    }
    t.sweepPending += r[9] as number;
    t.sweepSwept += r[10] as number;
    t.sweepDeleted += r[11] as number;
    t.logFsyncs += r[14] as number;
    t.sweepPendingDbs += r[15] as number;
    t.batchWrites += r[16] as number;
    t.batchWriteUsec += r[17] as number;
    t.batchWriteMaxUsec = Math.max(t.batchWriteMaxUsec, r[18] as number);
    t.slowBatchWrites += r[19] as number;
    t.level0Files = Math.max(t.level0Files, r[20] as number);
    const o = r[21] as number[];
    if (o.length === 3) {
      t.overlappedShards++;
      t.overlappedCalls += o[0]!;
      t.overlappedKeys += o[1]!;
      t.overlappedSlow += o[2]!;
    }
  }
  return t;
}

// ------------------------------------------------------------------ per-server trackers

/** Redis' instantaneous metrics: a rate sampled every 100 ms, averaged over the last 16 samples. */
class RateSampler {
  private readonly samples: { ops: number; input: number; output: number }[] = [];
  private last: { t: number; ops: number; input: number; output: number };

  constructor(private readonly server: ServerState) {
    this.last = this.now();
    setInterval(() => this.sample(), 100).unref();
  }

  private now(): { t: number; ops: number; input: number; output: number } {
    const s = this.server.stats;
    return { t: performance.now(), ops: s.totalCommands, input: s.netInputBytes, output: s.netOutputBytes };
  }

  private sample(): void {
    const cur = this.now();
    const dt = (cur.t - this.last.t) / 1000;
    if (dt <= 0) return;
    // Counters may have been reset (CONFIG RESETSTAT): a negative delta counts as 0.
    const rate = (a: number, b: number): number => Math.max(0, a - b) / dt;
    this.samples.push({ ops: rate(cur.ops, this.last.ops), input: rate(cur.input, this.last.input), output: rate(cur.output, this.last.output) });
    if (this.samples.length > 16) this.samples.shift();
    this.last = cur;
  }

  average(field: 'ops' | 'input' | 'output'): number {
    if (this.samples.length === 0) return 0;
    let sum = 0;
    for (const s of this.samples) sum += s[field];
    return sum / this.samples.length;
  }

  reset(): void {
    this.samples.length = 0;
    this.last = this.now();
  }
}

interface Trackers {
  rates: RateSampler;
  peakMemory: number;
}

const trackers = new WeakMap<ServerState, Trackers>();

/** Started on first use (the command table is also loaded by shard workers, which must not run timers). */
function trackersOf(server: ServerState): Trackers {
  let t = trackers.get(server);
  if (!t) trackers.set(server, (t = { rates: new RateSampler(server), peakMemory: 0 }));
  return t;
}

/** CONFIG RESETSTAT: zeroes the statistics INFO reports, here and on every shard. */
export async function resetStats(server: ServerState): Promise<void> {
  const pending: Promise<Buffer>[] = [];
  for (let s = 0; s < server.shards.count; s++) pending.push(server.callShard(s, 0, ['__stats', 'RESET']));
  const st = server.stats;
  st.totalConnections = 0;
  st.rejectedConnections = 0;
  st.totalCommands = 0;
  st.netInputBytes = 0;
  st.netOutputBytes = 0;
  st.errorReplies = 0;
  st.queryLimitDisconnections = 0;
  st.outputLimitDisconnections = 0;
  st.errorCounts.clear();
  // Zeroed in place: a command running now still holds its entry.
  for (const s of st.commandStats.values()) s.calls = s.usec = s.rejected = s.failed = 0;
  Backups.of(server)?.statsReset();
  const fr = server.shards.frontReads;
  fr.served = fr.hits = fr.misses = 0;
  const t = trackersOf(server);
  t.rates.reset();
  t.peakMemory = 0;
  await Promise.all(pending);
}

// ------------------------------------------------------------------ formatting

/** Redis' bytesToHuman(): 1023B, 1.50K, 12.00M, ... */
export function bytesToHuman(n: number): string {
  const units = ['K', 'M', 'G', 'T', 'P'];
  if (n < 1024) return `${n}B`;
  let d = n / 1024;
  for (const u of units) {
    if (d < 1024 || u === 'P') return `${d.toFixed(2)}${u}`;
    d /= 1024;
  }
  return `${n}B`;
}

let cairnVersion: string | null = null;

/** The version in Cairn's package.json (found upwards from this file, whether run from src/ or dist/). */
function getCairnVersion(): string {
  if (cairnVersion !== null) return cairnVersion;
  cairnVersion = 'unknown';
  let dir = path.dirname(new URL(import.meta.url).pathname);
  for (let i = 0; i < 5; i++) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cairn') {
        cairnVersion = pkg.version ?? 'unknown';
        break;
      }
    }
    dir = path.dirname(dir);
  }
  return cairnVersion;
}

function multiplexingApi(): string {
  switch (process.platform) {
    case 'linux': return 'epoll';
    case 'win32': return 'iocp';
    default: return 'kqueue';
  }
}

type Field = readonly [string, string | number];

function serverSection(server: ServerState): Field[] {
  const now = Date.now();
  const uptime = Math.floor((now - server.stats.startedAt) / 1000);
  const hz = server.config.hz as number;
  return [
    ['redis_version', REDIS_VERSION],
    ['redis_git_sha1', '00000000'],
    ['redis_git_dirty', 0],
    ['redis_build_id', '0'],
    ['redis_mode', 'standalone'],
    ['os', `${os.type()} ${os.release()} ${os.machine()}`],
    ['arch_bits', process.arch.includes('64') ? 64 : 32],
    ['monotonic_clock', 'POSIX clock_gettime'],
    ['multiplexing_api', multiplexingApi()],
    ['process_id', process.pid],
    ['process_supervised', 'no'],
    ['run_id', server.runId],
    ['tcp_port', server.port],
    ['server_time_usec', Math.round((performance.timeOrigin + performance.now()) * 1000)],
    ['uptime_in_seconds', uptime],
    ['uptime_in_days', Math.floor(uptime / 86400)],
    ['hz', hz],
    ['configured_hz', hz],
    ['lru_clock', Math.floor(now / 1000) & 0xffffff],
    ['executable', server.executable ? path.resolve(server.executable) : ''],
    ['config_file', server.configFile ? path.resolve(server.configFile) : ''],
    ['io_threads_active', 0],
    ['cairn_version', getCairnVersion()],
    ['cairn_shards', server.shards.count],
    ['cairn_leveldb_patches', leveldbPatches().join(',') || 'none'],
  ];
}

/** Clients' unparsed queries and unsent replies: the largest of each, and all of them together. */
function clientBuffers(server: ServerState): { maxIn: number; maxOut: number; total: number } {
  let maxIn = 0;
  let maxOut = 0;
  let total = 0;
  for (const c of server.clients.values()) {
    const q = c.queryBufferLength();
    const o = c.outputBufferLength();
    maxIn = Math.max(maxIn, q);
    maxOut = Math.max(maxOut, o);
    total += q + o;
  }
  return { maxIn, maxOut, total };
}

function clientsSection(server: ServerState): Field[] {
  const { maxIn, maxOut } = clientBuffers(server);
  return [
    ['connected_clients', server.clients.size],
    ['cluster_connections', 0],
    ['maxclients', server.config.maxclients as number],
    ['client_recent_max_input_buffer', maxIn],
    ['client_recent_max_output_buffer', maxOut],
    ['blocked_clients', 0],
    ['tracking_clients', 0],
    ['clients_in_timeout_table', 0],
  ];
}

function memorySection(server: ServerState, t: ShardTotals): Field[] {
  const tr = trackersOf(server);
  const mu = process.memoryUsage();
  const jsHeap = mu.heapUsed + t.heapUsed;
  // What Cairn holds: V8 heaps as committed, memory outside them (Buffers, the row caches' rings)
  // and LevelDB's own (memtables and block cache).
  const used = mu.heapTotal + t.heapCommitted + mu.external + t.external + t.leveldbMemory;
  const rss = process.memoryUsage.rss();
  tr.peakMemory = Math.max(tr.peakMemory, used);
  const maxmemory = Number(server.config.maxmemory);
  const total = os.totalmem();
  const alloc = allocatorInfo();
  return [
    ['used_memory', used],
    ['used_memory_human', bytesToHuman(used)],
    ['used_memory_rss', rss],
    ['used_memory_rss_human', bytesToHuman(rss)],
    ['used_memory_peak', tr.peakMemory],
    ['used_memory_peak_human', bytesToHuman(tr.peakMemory)],
    ['used_memory_peak_perc', `${((used / tr.peakMemory) * 100).toFixed(2)}%`],
    ['total_system_memory', total],
    ['total_system_memory_human', bytesToHuman(total)],
    // Redis' client buffer totals: every Cairn client is a normal client (no replicas yet).
    ['mem_clients_slaves', 0],
    ['mem_clients_normal', clientBuffers(server).total],
    ['maxmemory', String(server.config.maxmemory)], // exact, also past 2^53
    ['maxmemory_human', bytesToHuman(maxmemory)],
    ['maxmemory_policy', server.config['maxmemory-policy'] as string],
    ['mem_fragmentation_ratio', (rss / used).toFixed(2)],
    ['mem_allocator', 'libc'],
    // Redis' lazy free is Cairn's background sweep: dead collection versions waiting, and swept.
    ['lazyfree_pending_objects', t.sweepPending],
    ['lazyfreed_objects', t.sweepSwept],
    ['cairn_js_heap_used', jsHeap],
    ['cairn_leveldb_memory', t.leveldbMemory],
    // Per-shard sizes in effect (fitted to maxmemory when set), as totals over the shards.
    ['cairn_row_cache_total', server.caches.rowCacheSize * server.shards.count],
    ['cairn_leveldb_block_cache_total', server.caches.cacheSize * server.shards.count],
    ['cairn_leveldb_write_buffers_total', 2 * server.caches.writeBufferSize * server.shards.count],
    ['cairn_leveldb_max_open_files_total', server.caches.maxOpenFiles * server.shards.count],
    ['cairn_js_heap_committed', mu.heapTotal + t.heapCommitted],
    ['cairn_js_external', mu.external + t.external],
    // The C allocator (src/storage/native-memory.ts): its arenas, and the limits set at start (0: glibc's own).
    ['cairn_malloc_arenas', alloc.arenas],
    ['cairn_malloc_arena_max', alloc.arenaMax],
    ['cairn_malloc_mmap_threshold', alloc.mmapThreshold],
  ];
}

function persistenceSection(server: ServerState, t: ShardTotals): Field[] {
  // Every acknowledged write is already in LevelDB's log; the rdb_* fields describe backups
  // (BGSAVE / SAVE copies into <dir>/backups/, src/server/backup.ts).
  const b = Backups.of(server);
  const progress = b?.progress ?? { keys: 0, total: 0 };
  return [
    ['loading', 0],
    ['async_loading', 0],
    ['current_save_keys_processed', progress.keys],
    ['current_save_keys_total', progress.total],
    ['rdb_changes_since_last_save', b?.changesSinceSave ?? 0],
    ['rdb_bgsave_in_progress', b?.inProgress ? 1 : 0],
    ['rdb_last_save_time', Math.floor((b?.lastSave ?? server.stats.startedAt) / 1000)],
    ['rdb_last_bgsave_status', b?.lastStatus ?? 'ok'],
    ['rdb_last_bgsave_time_sec', b?.lastDurationSec ?? -1],
    ['rdb_current_bgsave_time_sec', b?.currentSec ?? -1],
    ['rdb_saves', b?.saves ?? 0],
    ['aof_enabled', 0],
    ['aof_rewrite_in_progress', 0],
    ['aof_rewrite_scheduled', 0],
    ['aof_last_rewrite_time_sec', -1],
    ['aof_current_rewrite_time_sec', -1],
    ['aof_last_bgrewrite_status', 'ok'],
    ['aof_rewrites', 0],
    ['aof_last_write_status', server.writeErrors.byShard.size > 0 ? 'err' : 'ok'],
    ['module_fork_in_progress', 0],
    ['cairn_appendfsync', server.config.appendfsync as string],
    ['cairn_log_fsyncs', t.logFsyncs],
    // Group commits written on the shard threads (each blocks its shard while LevelDB takes it).
    ['cairn_batch_writes', t.batchWrites],
    ['cairn_batch_write_usec', t.batchWriteUsec],
    ['cairn_batch_write_max_usec', t.batchWriteMaxUsec],
    ['cairn_slow_batch_writes', t.slowBatchWrites],
    ['cairn_leveldb_level0_files', t.level0Files],
    ['backup_dir', b?.dir ?? ''],
    ['backup_last_path', b?.lastPath ?? ''],
    ['backup_last_keys', b?.lastKeys ?? 0],
    ['backup_last_bytes', b?.lastBytes ?? 0],
    ['backup_last_pause_usec', b?.lastPauseUsec ?? 0],
    // Cairn's write-error state (MISCONF): shards that cannot write now, times entered, latest reason.
    ['cairn_write_error_shards', server.writeErrors.byShard.size],
    ['cairn_write_errors', server.writeErrors.entered],
    ['cairn_last_write_error', server.writeErrors.last.replace(/[\r\n]+/g, ' ')],
  ];
}

function statsSection(server: ServerState, t: ShardTotals): Field[] {
  const s = server.stats;
  const rates = trackersOf(server).rates;
  return [
    ['total_connections_received', s.totalConnections],
    ['total_commands_processed', s.totalCommands],
    ['instantaneous_ops_per_sec', Math.round(rates.average('ops'))],
    ['total_net_input_bytes', s.netInputBytes],
    ['total_net_output_bytes', s.netOutputBytes],
    ['total_net_repl_input_bytes', 0],
    ['total_net_repl_output_bytes', 0],
    ['instantaneous_input_kbps', (rates.average('input') / 1024).toFixed(2)],
    ['instantaneous_output_kbps', (rates.average('output') / 1024).toFixed(2)],
    ['instantaneous_input_repl_kbps', '0.00'],
    ['instantaneous_output_repl_kbps', '0.00'],
    ['rejected_connections', s.rejectedConnections],
    ['sync_full', 0],
    ['sync_partial_ok', 0],
    ['sync_partial_err', 0],
    ['expired_keys', t.expiredKeys],
    ['evicted_keys', 0],
    ['evicted_clients', 0],
    ['keyspace_hits', t.hits + server.shards.frontReads.hits],
    ['keyspace_misses', t.misses + server.shards.frontReads.misses],
    ['pubsub_channels', 0],
    ['pubsub_patterns', 0],
    ['pubsubshard_channels', 0],
    ['latest_fork_usec', 0],
    ['total_forks', 0],
    ['unexpected_error_replies', 0],
    ['total_error_replies', s.errorReplies + t.errorReplies],
    // Redis 7.2's fields (7.0 has no counters for these disconnections).
    ['client_query_buffer_limit_disconnections', s.queryLimitDisconnections],
    ['client_output_buffer_limit_disconnections', s.outputLimitDisconnections],
    // Cairn's background sweep of dead collection versions (src/shard/sweep.ts).
    ['sweep_pending_versions', t.sweepPending],
    ['sweep_swept_versions', t.sweepSwept],
    ['sweep_pending_flushed_dbs', t.sweepPendingDbs],
    ['sweep_deleted_subkeys', t.sweepDeleted],
    ['sweep_running', Sweeper.of(server)?.running ?? 0],
    ['sweep_compactions', Sweeper.of(server)?.compactions ?? 0],
    // Single-key reads the front thread answered from the shards' row caches (row-cache-front-reads), then
    // overlapped point reads (leveldb-overlapped-reads): shards using them, native calls, keys
    // read through them, and reads among those that took over 50 us (the disk).
    ['cairn_front_reads', server.shards.frontReads.served],
    ['cairn_overlapped_read_shards', t.overlappedShards],
    ['cairn_overlapped_read_calls', t.overlappedCalls],
    ['cairn_overlapped_read_keys', t.overlappedKeys],
    ['cairn_overlapped_read_slow', t.overlappedSlow],
    // Cross-shard writes (src/server/cross-write.ts): done, with intent or marker records not yet
    // deleted, and parts finished at start-up after a crash.
    ['cairn_cross_shard_writes', crossWriteStats.writes],
    ['cairn_cross_shard_unsettled', crossWriteStats.unsettled],
    ['cairn_cross_shard_recovered', crossWriteStats.recovered],
  ];
}

function replicationSection(server: ServerState): Field[] {
  return [
    ['role', 'master'],
    ['connected_slaves', 0],
    ['master_failover_state', 'no-failover'],
    ['master_replid', server.runId],
    ['master_replid2', '0'.repeat(40)],
    ['master_repl_offset', 0],
    ['second_repl_offset', -1],
    ['repl_backlog_active', 0],
    ['repl_backlog_size', 1048576],
    ['repl_backlog_first_byte_offset', 0],
    ['repl_backlog_histlen', 0],
  ];
}

function cpuSection(): Field[] {
  const u = process.cpuUsage();
  const secs = (us: number): string => (us / 1e6).toFixed(6);
  return [
    ['used_cpu_sys', secs(u.system)],
    ['used_cpu_user', secs(u.user)],
    ['used_cpu_sys_children', '0.000000'],
    ['used_cpu_user_children', '0.000000'],
  ];
}

/** Public commands and their subcommands, in table order. */
function tableOrder(): CommandSpec[] {
  const out: CommandSpec[] = [];
  for (const c of COMMAND_LIST) {
    if (c.internal) continue;
    out.push(c);
    if (c.subcommands) out.push(...c.subcommands);
  }
  return out;
}

function commandstatsSection(server: ServerState, t: ShardTotals): Field[] {
  const out: Field[] = [];
  const ids = new Map<string, number>(COMMAND_LIST.map((c, i) => [c.name, i]));
  for (const spec of tableOrder()) {
    const front = server.stats.commandStats.get(spec.name);
    const id = ids.get(spec.name);
    const shard = id === undefined ? undefined : t.commands.get(id);
    const calls = front?.calls ?? 0;
    const rejected = front?.rejected ?? 0;
    const failed = (front?.failed ?? 0) + (shard?.failed ?? 0);
    if (calls === 0 && rejected === 0 && failed === 0) continue;
    const usec = Math.round((front?.usec ?? 0) + (shard?.usec ?? 0));
    const perCall = calls > 0 ? (usec / calls).toFixed(2) : '0.00';
    out.push([`cmdstat_${spec.name}`, `calls=${calls},usec=${usec},usec_per_call=${perCall},rejected_calls=${rejected},failed_calls=${failed}`]);
  }
  return out;
}

function errorstatsSection(server: ServerState, t: ShardTotals): Field[] {
  const all = new Map(server.stats.errorCounts);
  for (const [code, n] of t.errors) all.set(code, (all.get(code) ?? 0) + n);
  return [...all.keys()].sort().map((code) => [`errorstat_${code}`, `count=${all.get(code)!}`] as const);
}

function keyspaceSection(t: ShardTotals): Field[] {
  const out: Field[] = [];
  t.keys.forEach((keys, db) => {
    if (keys > 0) out.push([`db${db}`, `keys=${keys},expires=${t.expires[db] ?? 0},avg_ttl=0`]);
  });
  return out;
}

/** The INFO text for the given sections. */
export async function infoText(server: ServerState, sections: Set<string>): Promise<string> {
  const wanted = ALL_SECTIONS.filter((s) => sections.has(s));
  const t = wanted.some((s) => SHARD_SECTIONS.has(s)) ? await gatherShardStats(server) : null;
  const parts: string[] = [];
  for (const s of wanted) {
    let fields: Field[];
    switch (s) {
      case 'server': fields = serverSection(server); break;
      case 'clients': fields = clientsSection(server); break;
      case 'memory': fields = memorySection(server, t!); break;
      case 'persistence': fields = persistenceSection(server, t!); break;
      case 'stats': fields = statsSection(server, t!); break;
      case 'replication': fields = replicationSection(server); break;
      case 'cpu': fields = cpuSection(); break;
      case 'commandstats': fields = commandstatsSection(server, t!); break;
      case 'errorstats': fields = errorstatsSection(server, t!); break;
      case 'cluster': fields = [['cluster_enabled', 0]]; break;
      case 'keyspace': fields = keyspaceSection(t!); break;
      default: fields = []; // modules, latencystats: nothing to report
    }
    parts.push(`# ${TITLES[s]}\r\n` + fields.map(([k, v]) => `${k}:${v}\r\n`).join(''));
  }
  return parts.join('\r\n');
}

export const infoCommand: CommandSpec = command({
  name: 'info', arity: -1, flags: ['loading', 'stale'], acl: ['slow', 'dangerous'], keys: null, allShards: true,
  front: async (c: FrontCall) => {
    const server = c.ctx.server;
    trackersOf(server); // starts the rate sampler on first use
    c.w.verbatim(await infoText(server, selectSections(c.args.slice(1))));
  },
});
