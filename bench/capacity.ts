/**
 * Capacity: a dataset many times the server's memory budget. Loads random keys up to a size, then
 * measures random reads and writes over it, watching the server's memory and disk throughout.
 * Issue 4's targets at 20x the memory budget: peak RSS within the budget, GET p99 <= 2 ms,
 * throughput >= 0.5x the same bench on a 1 GB dataset (--baseline).
 *
 *   npm run build && npm run bench:capacity -- --size 20GB [options]
 *
 *   --size S             logical bytes to load (keys + values + fields + members): 100MB, 20GB (1GB)
 *   --memory M           the server's memory budget, passed as --maxmemory (256mb): the server sizes
 *                        its caches and write buffers to fit it; the sizes in effect are read back
 *                        from INFO memory and printed. --server-args come after it (and win).
 *   --shards N           Cairn's --shards (default: the server's own)
 *   --value-size V       bytes per string value (256); collection elements get V/8 (at least 8)
 *   --elements E         elements per hash, set, sorted set and list (16)
 *   --mix LIST           share of keys by type, in percent (string:85,hash:5,set:4,zset:3,list:3)
 *   --clients C          connections (8)
 *   --pipeline P         load commands in flight per connection (32)
 *   --depth D            requests in flight per connection in the throughput phase (4)
 *   --seconds T          length of each measuring phase (20)
 *   --rate R             open-loop rate of the latency phase (default: half the throughput measured)
 *   --settle T           after the load, wait up to T seconds for LevelDB's compactions to finish
 *                        (the server's CPU below 5% of a core for 2 s) before measuring (300; 0 = none)
 *   --pacing P           open-loop pacing: batch (default: ~1 ms timer, little CPU) or spin (bench/load.ts)
 *   --baseline FILE      a capacity JSON (e.g. of a 1GB run) to compare throughput with (the verdict
 *                        needs both runs alike: both just loaded, or both --reuse)
 *   --dir D              data directory (kept; default: a temp dir, removed at the end)
 *   --drop-caches        after the settle, sync and empty the kernel's page cache (root only), so the
 *                        measuring phases start cold whatever ran before (the baseline verdict
 *                        needs both runs alike here too)
 *   --reuse              with --dir: if it holds the dataset an earlier run loaded there (same
 *                        --size, --value-size, --elements, --mix; recorded in <dir>/capacity-dataset.json),
 *                        skip the load and measure it again (the load figures are that run's)
 *   --server-args="..."  more Cairn options;  --node-args="..."  node options for the server
 *   --redis              run the same phases against redis-server instead (no budget: it keeps the
 *                        dataset in RAM), for the floor this machine and load generator set on latency
 *
 * Phases: (1) load, pipelined over all connections, a progress bar on stderr and the load rate
 * each second; (2) throughput: a closed loop of random operations (GET 60%, SET 20% overwriting a
 * string, HGET 8%, HSET 4%, ZSCORE 4%, SISMEMBER 2%, LRANGE 0 9 2%; on keys that exist, replies
 * checked) for T seconds; (3) latency: the same mix open loop at a fixed rate for T seconds,
 * latency from each request's intended send time (bench/load.ts). Server RSS (/proc VmRSS, split
 * anonymous / file-backed) is sampled every 500 ms and disk use (du of the data dir) every 2 s.
 * Prints a summary; the HTML report and JSON go to bench/results/.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fmtInt, fmtRatio, intOption, machine, mib, mix32, ms, printTable, sizeOption, words, MiB, loadNote } from './common.js';
import { Conn, parseInfo, resp, type Reply } from './conn.js';
import type { Histogram } from './histogram.js';
import { closedLoop, openLoop, pacingOption, type Pacing, type LoadResult, type Request } from './load.js';
import { Report, percentileChart, timeChart, type Series } from './report.js';
import { REDIS_SERVER } from '../test/helpers/oracle.js';
import { threadStats } from '../test/helpers/proc.js';
import { benchCommand, memoryOf, MemorySampler, startCairn, startRedis, watch, type Server } from './servers.js';
import { diskBytes } from '../src/util/files.js';

const TYPES = ['string', 'hash', 'set', 'zset', 'list'] as const;
type KeyType = (typeof TYPES)[number];
const GET_P99_TARGET_US = 2000;

interface Options {
  pacing: Pacing;
  size: number;
  memory: number;
  shards?: number;
  valueSize: number;
  elements: number;
  mix: Record<KeyType, number>;
  clients: number;
  pipeline: number;
  depth: number;
  seconds: number;
  settle: number;
  rate?: number;
  baseline?: string;
  dir?: string;
  reuse: boolean;
  dropCaches: boolean;
  serverArgs: string[];
  nodeArgs: string[];
  redis: boolean;
}

function options(): Options {
  const { values: v } = parseArgs({
    options: {
      pacing: { type: 'string' },
      size: { type: 'string', default: '1GB' },
      memory: { type: 'string', default: '256mb' },
      shards: { type: 'string' },
      'value-size': { type: 'string', default: '256' },
      elements: { type: 'string', default: '16' },
      mix: { type: 'string', default: 'string:85,hash:5,set:4,zset:3,list:3' },
      clients: { type: 'string', default: '8' },
      pipeline: { type: 'string', default: '32' },
      depth: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '20' },
      settle: { type: 'string', default: '300' },
      rate: { type: 'string' },
      baseline: { type: 'string' },
      dir: { type: 'string' },
      reuse: { type: 'boolean', default: false },
      'drop-caches': { type: 'boolean', default: false },
      'server-args': { type: 'string', default: '' },
      'node-args': { type: 'string', default: '' },
      redis: { type: 'boolean', default: false },
    },
  });
  const mix = Object.fromEntries(TYPES.map((t) => [t, 0])) as Record<KeyType, number>;
  for (const part of v.mix!.split(',').filter(Boolean)) {
    const [type, share] = part.split(':');
    if (!TYPES.includes(type as KeyType)) throw new Error(`--mix: unknown type '${type}' (${TYPES.join(', ')})`);
    mix[type as KeyType] = intOption('mix', share ?? '', 0);
  }
  if (mix.string + mix.hash + mix.set + mix.zset + mix.list !== 100) throw new Error('--mix: the shares must add up to 100');
  if (v.reuse && v.dir === undefined) throw new Error('--reuse needs --dir');
  return {
    pacing: pacingOption(v.pacing),
    size: sizeOption('size', v.size!),
    memory: sizeOption('memory', v.memory!),
    shards: v.shards === undefined ? undefined : intOption('shards', v.shards, 1),
    valueSize: intOption('value-size', v['value-size']!, 1),
    elements: intOption('elements', v.elements!, 1),
    mix,
    clients: intOption('clients', v.clients!, 1),
    pipeline: intOption('pipeline', v.pipeline!, 1),
    depth: intOption('depth', v.depth!, 1),
    seconds: intOption('seconds', v.seconds!, 1),
    settle: intOption('settle', v.settle!, 0),
    rate: v.rate === undefined ? undefined : intOption('rate', v.rate, 1),
    baseline: v.baseline,
    dir: v.dir,
    reuse: v.reuse!,
    dropCaches: v['drop-caches']!,
    serverArgs: words(v['server-args']!),
    nodeArgs: words(v['node-args']!),
    redis: v.redis!,
  };
}

// ---------------------------------------------------------------- the dataset (derived from the key's number)

class Dataset {
  /** Random printable bytes that values are cut from (snappy finds little to compress in them). */
  private readonly pool = crypto.randomBytes(3 * MiB).toString('base64');
  private readonly cumulative: [KeyType, number][] = [];
  readonly elementSize: number;

  constructor(readonly o: Options) {
    let sum = 0;
    for (const t of TYPES) if (o.mix[t] > 0) this.cumulative.push([t, (sum += o.mix[t])]);
    this.elementSize = Math.max(8, o.valueSize >> 3);
  }

  typeOf(i: number): KeyType {
    const r = mix32(i ^ 0x9e3779b9) % 100;
    return this.cumulative.find(([, upTo]) => r < upTo)![0];
  }

  /** Keys in random order: a hash of the number first, the number last (unique). */
  keyOf(i: number): string {
    return `${this.typeOf(i)}:${mix32(i).toString(16).padStart(8, '0')}:${i}`;
  }

  value(bytes: number): string {
    const at = Math.floor(Math.random() * (this.pool.length - bytes));
    return this.pool.slice(at, at + bytes);
  }

  static member = (j: number): string => `m:${j}`;
  static field = (j: number): string => `f:${j}`;
  static score = (i: number, j: number): number => mix32(i * 31 + j) / 2 ** 32;

  /** The command that creates key i, and its logical bytes. */
  create(i: number): [string, number] {
    const key = this.keyOf(i);
    const e = this.o.elements;
    const args: string[] = [];
    switch (this.typeOf(i)) {
      case 'string':
        args.push('SET', key, this.value(this.o.valueSize));
        break;
      case 'hash':
        args.push('HSET', key);
        for (let j = 0; j < e; j++) args.push(Dataset.field(j), this.value(this.elementSize));
        break;
      case 'set':
        args.push('SADD', key);
        for (let j = 0; j < e; j++) args.push(Dataset.member(j));
        break;
      case 'zset':
        args.push('ZADD', key);
        for (let j = 0; j < e; j++) args.push(String(Dataset.score(i, j)), Dataset.member(j));
        break;
      case 'list':
        args.push('RPUSH', key);
        for (let j = 0; j < e; j++) args.push(this.value(this.elementSize));
        break;
    }
    // Logical bytes: the key and what it holds (a score counts 8 bytes, a command name nothing).
    let bytes = key.length;
    for (let a = 2; a < args.length; a++) bytes += args[0] === 'ZADD' && a % 2 === 0 ? 8 : args[a]!.length;
    return [resp(args), bytes];
  }
}

// ---------------------------------------------------------------- phase 1: load

/** What identifies a loaded dataset (the keys and sizes follow from these). */
const datasetId = (o: Options): string => JSON.stringify({ size: o.size, valueSize: o.valueSize, elements: o.elements, mix: o.mix });
const datasetFile = (dir: string): string => path.join(dir, 'capacity-dataset.json');

/** The load an earlier run made in `dir` with the same dataset options, if any. */
function loadedBefore(dir: string, o: Options): LoadPhase | null {
  try {
    const m = JSON.parse(fs.readFileSync(datasetFile(dir), 'utf8')) as { id: string; load: LoadPhase };
    return m.id === datasetId(o) ? m.load : null;
  } catch {
    return null;
  }
}

interface LoadPhase {
  keys: number;
  logicalBytes: number;
  seconds: number;
  /** Per second: [seconds, MB/s (logical), keys/s, RSS bytes, disk bytes]. */
  timeline: [number, number, number, number, number][];
}

function progressLine(done: number, total: number, rate: number, rss: number, disk: number): string {
  const width = 28;
  const filled = Math.min(width, Math.round((done / total) * width));
  const eta = rate > 0 ? Math.max(0, (total - done) / rate) : NaN;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${((100 * done) / total).toFixed(1).padStart(5)}%  ` +
    `${mib(done)} / ${mib(total)} MiB  ${(rate / MiB).toFixed(2)} MiB/s  RSS ${mib(rss)} MiB  disk ${mib(disk)} MiB  ` +
    `eta ${Number.isFinite(eta) ? `${Math.round(eta)} s` : '-'}`;
}

async function loadPhase(server: Server, conns: Conn[], data: Dataset, o: Options, mem: MemorySampler, disk: DiskSampler): Promise<LoadPhase> {
  const tty = process.stderr.isTTY;
  const t0 = performance.now();
  const timeline: LoadPhase['timeline'] = [];
  let next = 0;
  let sentBytes = 0;
  let ackedBytes = 0;
  let ackedKeys = 0;
  let last = { at: t0, bytes: 0, keys: 0 };
  let lastPrint = 0;
  let failure: Error | undefined;
  const tick = (): void => {
    const now = performance.now();
    const dt = (now - last.at) / 1000;
    const rate = (ackedBytes - last.bytes) / dt;
    timeline.push([Math.round((now - t0) / 100) / 10, rate / 1e6, (ackedKeys - last.keys) / dt, mem.latest.rss, disk.latest]);
    last = { at: now, bytes: ackedBytes, keys: ackedKeys };
    const line = progressLine(ackedBytes, o.size, ackedBytes / ((now - t0) / 1000), mem.latest.rss, disk.latest);
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else if (now - lastPrint >= 5000) {
      process.stderr.write(`${line}\n`);
      lastPrint = now;
    }
  };
  const timer = setInterval(tick, 1000);
  try {
    await watch(server, new Promise<void>((resolve, reject) => {
      let open = conns.length;
      const fill = (c: Conn): void => {
        while (!failure && c.inflight < o.pipeline && sentBytes < o.size) {
          const i = next++;
          const [payload, bytes] = data.create(i);
          sentBytes += bytes;
          c.send(payload, (r) => {
            if (r instanceof Error) {
              failure ??= new Error(`loading key ${data.keyOf(i)}: ${r.message}`);
              return reject(failure);
            }
            ackedBytes += bytes;
            ackedKeys++;
            fill(c);
            if (c.inflight === 0 && sentBytes >= o.size && --open === 0) resolve();
          });
        }
      };
      conns.forEach(fill);
    }));
  } finally {
    clearInterval(timer);
  }
  tick();
  if (tty) process.stderr.write('\n');
  return { keys: next, logicalBytes: ackedBytes, seconds: (performance.now() - t0) / 1000, timeline };
}

/** du of the data dir every 2 s. */
class DiskSampler {
  latest = 0;
  readonly samples: [number, number][] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly t0 = performance.now();
  private running = false;

  constructor(private readonly dir: string) {
    this.sample();
    this.timer = setInterval(() => this.sampleInBackground(), 2000);
  }

  /** Now, on this thread (between phases). */
  sample(): number {
    this.record(diskBytes(this.dir));
    return this.latest;
  }

  /**
   * Every 2 s, by `du` in a child process: walking thousands of table files here blocked this
   * process's event loop, the load generator's, for tens of ms (at 5 GiB its own send lag reached
   * p99 21 ms), and open-loop latency counts that against the server. du counts as diskBytes does
   * (allocated blocks, a hard-linked file once), plus the directories' own few blocks.
   */
  private sampleInBackground(): void {
    if (this.running) return;
    this.running = true;
    execFile('du', ['-s', '-B1', this.dir], (err, stdout) => {
      this.running = false;
      const bytes = err ? NaN : Number(stdout.split(/\s/)[0]);
      if (Number.isFinite(bytes)) this.record(bytes);
    });
  }

  private record(bytes: number): void {
    this.latest = bytes;
    this.samples.push([Math.round(performance.now() - this.t0), bytes]);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------- phases 2 and 3: random reads and writes

const OPERATIONS: [string, KeyType, number][] = [
  ['GET', 'string', 60], ['SET', 'string', 20], ['HGET', 'hash', 8], ['HSET', 'hash', 4],
  ['ZSCORE', 'zset', 4], ['SISMEMBER', 'set', 2], ['LRANGE', 'list', 2],
];

/** Random operations on keys that exist, each reply checked. */
function operations(data: Dataset, keys: number): () => Request {
  const ops = OPERATIONS.filter(([, type]) => data.o.mix[type] > 0);
  const total = ops.reduce((a, [, , w]) => a + w, 0);
  const randomBelow = (n: number): number => Math.floor(Math.random() * n);
  /** A random key number of the type (rejection sampling: every type has at least 1% of keys). */
  const pick = (type: KeyType): number => {
    for (;;) {
      const i = randomBelow(keys);
      if (data.typeOf(i) === type) return i;
    }
  };
  const bulk = (len: number) => (r: Reply): string | undefined => (typeof r === 'string' && r.length === len ? undefined : `expected ${len} bytes, got ${String(r).slice(0, 40)}`);
  const e = data.o.elements;
  return () => {
    let r = randomBelow(total);
    const [name, type] = ops.find(([, , w]) => (r -= w) < 0)!;
    const i = pick(type);
    const key = data.keyOf(i);
    const j = randomBelow(e);
    switch (name) {
      case 'GET': return { label: name, payload: resp(['GET', key]), check: bulk(data.o.valueSize) };
      case 'SET': return { label: name, payload: resp(['SET', key, data.value(data.o.valueSize)]), check: (x) => (x === 'OK' ? undefined : String(x)) };
      case 'HGET': return { label: name, payload: resp(['HGET', key, Dataset.field(j)]), check: bulk(data.elementSize) };
      case 'HSET': return { label: name, payload: resp(['HSET', key, Dataset.field(j), data.value(data.elementSize)]), check: (x) => (x === 0 ? undefined : `expected 0 (an existing field), got ${String(x)}`) };
      case 'ZSCORE': return { label: name, payload: resp(['ZSCORE', key, Dataset.member(j)]), check: (x) => (Number(x) === Dataset.score(i, j) ? undefined : `expected ${Dataset.score(i, j)}, got ${String(x)}`) };
      case 'SISMEMBER': return { label: name, payload: resp(['SISMEMBER', key, Dataset.member(j)]), check: (x) => (x === 1 ? undefined : `expected 1, got ${String(x)}`) };
      default: return { label: 'LRANGE 0 9', payload: resp(['LRANGE', key, '0', '9']), check: (x) => (Array.isArray(x) && x.length === Math.min(10, e) ? undefined : `expected ${Math.min(10, e)} elements`) };
    }
  };
}

// ---------------------------------------------------------------- main

interface Budget {
  /** maxmemory, as CONFIG GET reports it. */
  bytes: number;
  /** INFO memory's sizes in effect (caches and write buffers fitted to maxmemory), where reported. */
  sizes: Record<string, string>;
}

/** Cairn's group-commit counters (INFO persistence): how often writes waited on LevelDB. */
interface GroupCommits {
  writes: number;
  usec: number;
  maxUsec: number;
  slow: number;
  level0: number;
}

async function groupCommits(conn: Conn): Promise<GroupCommits> {
  const info = parseInfo((await conn.ok(['INFO', 'persistence'])) as string);
  const n = (k: string): number => Number(info[k] ?? 0);
  return { writes: n('cairn_batch_writes'), usec: n('cairn_batch_write_usec'), maxUsec: n('cairn_batch_write_max_usec'),
    slow: n('cairn_slow_batch_writes'), level0: n('cairn_leveldb_level0_files') };
}

function commitsLine(c: GroupCommits): string {
  return `${fmtInt(c.writes)}, ${fmtInt(c.slow)} of them 1 ms or more, ${(c.usec / 1e6).toFixed(1)} s writing in all, ` +
    `longest so far ${(c.maxUsec / 1000).toFixed(1)} ms; level-0 files now (most of any shard) ${c.level0}`;
}

/** The budget as the server reports it: CONFIG GET maxmemory and INFO memory's cache and buffer totals. */
async function readBudget(conn: Conn): Promise<Budget> {
  const r = await conn.ok(['CONFIG', 'GET', 'maxmemory']);
  const info = parseInfo((await conn.ok(['INFO', 'memory'])) as string);
  const sizes = Object.fromEntries(Object.entries(info).filter(([k]) => /^cairn_(row_cache|leveldb_block_cache|leveldb_write_buffers|leveldb_max_open_files)_total$/.test(k)));
  return { bytes: Number((r as string[])[1]), sizes };
}

interface Summary {
  load: LoadPhase;
  throughput: LoadResult;
  latency: LoadResult;
  budget: Budget;
  peakRss: number;
  peakAnon: number;
  diskAfterLoad: number;
  diskAtEnd: number;
  info: Record<string, string>;
  /**
   * `comparable`: both runs measured a dataset they had just loaded, or both reread one (--reuse).
   * Just written data is warmer in the page cache than data reread later (on the VM these figures
   * come from the kernel gives file pages back within minutes), so the ratio of a mixed pair says
   * little about the dataset's size.
   */
  baseline?: { file: string; throughput: number; ratio: number; comparable: boolean };
  /** Share of one core per thread group, per measuring phase. */
  cpu: { throughput: CpuShare; latency: CpuShare };
}

/** Percent of one core, by thread group (the server's threads by name, and this load generator). */
type CpuShare = Record<string, number>;

/** The server's thread groups: its main thread, Cairn's shard threads, LevelDB's compaction thread, the rest. */
function threadGroup(pid: number, tid: number, name: string): string {
  if (tid === pid) return 'main thread';
  if (name.startsWith('cairn-shard-')) return 'shard threads';
  if (name === 'leveldb-bg') return 'LevelDB compaction';
  if (name === 'leveldb-get') return 'overlapped reads';
  return 'other server threads';
}

/** CPU time (s) per thread group of the server, plus the load generator (this process). */
function cpuByGroup(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of threadStats(pid)) {
    const g = threadGroup(pid, t.tid, t.name);
    out[g] = (out[g] ?? 0) + t.cpuSeconds;
  }
  const u = process.cpuUsage();
  out['load generator (this bench)'] = (u.user + u.system) / 1e6;
  return out;
}

/** Runs `phase`, returning its result, each thread group's share of a core meanwhile, and the server's reads. */
async function withCpuAndIo<T>(pid: number, phase: () => Promise<T>): Promise<[T, CpuShare, ReadIo]> {
  const before = cpuByGroup(pid);
  const ioBefore = readIo(pid);
  const t0 = Date.now();
  const r = await phase();
  const after = cpuByGroup(pid);
  const ioAfter = readIo(pid);
  const secs = (Date.now() - t0) / 1000;
  const share: CpuShare = {};
  for (const [g, v] of Object.entries(after)) share[g] = (100 * (v - (before[g] ?? 0))) / secs;
  return [r, share, { syscalls: ioAfter.syscalls - ioBefore.syscalls, diskBytes: ioAfter.diskBytes - ioBefore.diskBytes }];
}

/**
 * The server's reads (/proc/<pid>/io): read syscalls of every kind (sockets too) and the bytes it
 * made the storage layer fetch (page cache misses). Per operation they tell how often a read went
 * to the disk, whatever the machine's noise did to the throughput. Zeros where /proc has no io file.
 */
interface ReadIo {
  syscalls: number;
  diskBytes: number;
}

function readIo(pid: number): ReadIo {
  try {
    const text = fs.readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { syscalls: field('syscr'), diskBytes: field('read_bytes') };
  } catch {
    return { syscalls: 0, diskBytes: 0 };
  }
}

const ioLine = (io: ReadIo, ops: number): string => ops <= 0 ? 'no operations'
  : `${(io.syscalls / ops).toFixed(2)} read syscalls (sockets included), ${(io.diskBytes / ops / 1024).toFixed(1)} KB read from the disk`;

const cpuLine = (c: CpuShare): string =>
  Object.entries(c).filter(([, v]) => v >= 0.5).map(([g, v]) => `${g} ${v.toFixed(0)}%`).join(', ');

/** CPU seconds the process has used (all its threads: LevelDB's compaction threads included). */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
}

/**
 * Waits (up to `limit` seconds) until the idle server uses under 5% of a core for 2 s in a row:
 * LevelDB compacting what the load wrote. Measuring during that debt would measure the load.
 */
async function settle(pid: number, limit: number): Promise<{ quiet: boolean; seconds: number }> {
  const start = Date.now();
  let quietFor = 0;
  while ((Date.now() - start) / 1000 < limit) {
    const before = cpuSeconds(pid);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    quietFor = cpuSeconds(pid) - before < 0.05 ? quietFor + 1 : 0;
    if (quietFor >= 2) return { quiet: true, seconds: (Date.now() - start) / 1000 };
  }
  return { quiet: limit === 0, seconds: (Date.now() - start) / 1000 };
}

async function main(): Promise<void> {
  const o = options();
  const started = Date.now();
  const loadStart = os.loadavg();
  const server = o.redis ? await startRedis()
    : await startCairn({ shards: o.shards, dir: o.dir, nodeArgs: o.nodeArgs, serverArgs: ['--maxmemory', String(o.memory), ...o.serverArgs] });
  if (server === null) throw new Error(`--redis: ${REDIS_SERVER} is not installed`);
  const mem = new MemorySampler(server.pid, 500);
  const disk = new DiskSampler(server.dir);
  const conns: Conn[] = [];
  try {
    for (let c = 0; c < o.clients; c++) conns.push(await Conn.open(server.port));
    const reused = o.reuse ? loadedBefore(server.dir, o) : null;
    const dbsize = await conns[0]!.ok(['DBSIZE']);
    if (reused === null && dbsize !== 0) throw new Error(`${server.dir} is not empty: use an empty --dir (or --reuse, for a dataset loaded there with the same options)`);
    if (reused !== null && dbsize !== reused.keys) throw new Error(`--reuse: ${server.dir} holds ${String(dbsize)} keys, its dataset ${reused.keys}`);
    const budget = await readBudget(conns[0]!);
    const data = new Dataset(o);
    console.log(`${server.name} pid ${server.pid}, ${server.shards} shard(s), dir ${server.dir}; maxmemory ${mib(budget.bytes)} MiB; ${sizesLine(budget)}`);

    mem.phase = 'load';
    const mixLine = Object.entries(o.mix).filter(([, v]) => v).map(([k, v]) => `${k} ${v}%`).join(', ');
    console.log(reused ? `reusing the dataset loaded in ${server.dir} by an earlier run (${mixLine}); its load figures below` : `loading ${mib(o.size)} MiB of random keys (${mixLine})...`);
    const load = reused ?? (await loadPhase(server, conns, data, o, mem, disk));
    const diskAfterLoad = disk.sample();
    console.log(`loaded ${fmtInt(load.keys)} keys, ${mib(load.logicalBytes)} MiB in ${load.seconds.toFixed(1)} s ` +
      `(${(load.logicalBytes / MiB / load.seconds).toFixed(2)} MiB/s, ${fmtInt(load.keys / load.seconds)} keys/s); disk ${mib(diskAfterLoad)} MiB`);
    if ((await conns[0]!.ok(['DBSIZE'])) !== load.keys) throw new Error('DBSIZE disagrees with the keys loaded');
    const commitsAfterLoad = o.redis ? null : await groupCommits(conns[0]!);
    if (commitsAfterLoad && !reused) console.log(`  group commits during the load: ${commitsLine(commitsAfterLoad)}`);
    if (o.dir !== undefined && !reused) fs.writeFileSync(datasetFile(server.dir), JSON.stringify({ id: datasetId(o), load }) + '\n');

    const settled = await settle(server.pid, o.settle);
    if (o.settle > 0) console.log(`compactions after the load: ${settled.quiet ? 'done' : 'still running'} after ${settled.seconds.toFixed(0)} s`);
    if (o.dropCaches) {
      await new Promise<void>((resolve, reject) => execFile('sync', (e) => (e ? reject(e) : resolve())));
      fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n');
      console.log('page cache dropped (--drop-caches): the measuring phases start cold');
    }

    const make = operations(data, load.keys);
    mem.phase = 'throughput';
    console.log(`throughput: random operations, closed loop, ${o.clients} connections x ${o.depth} in flight, ${o.seconds} s...`);
    const [throughput, cpuThroughput, ioThroughput] = await withCpuAndIo(server.pid, () => watch(server, closedLoop(conns, { seconds: o.seconds, make, depth: o.depth })));
    check(throughput);
    console.log(`  ${fmtInt(throughput.achieved)} ops/s; ${percentileLine(throughput.all)}`);
    console.log(`  CPU, % of one core: ${cpuLine(cpuThroughput)}`);
    console.log(`  per operation: ${ioLine(ioThroughput, throughput.completed)}`);

    const rate = o.rate ?? Math.max(1, Math.round(throughput.achieved / 2));
    mem.phase = 'latency';
    console.log(`latency: the same mix, open loop at ${fmtInt(rate)}/s over ${o.clients} connections (${o.pacing} pacing), ${o.seconds} s...`);
    const [latency, cpuLatency, ioLatency] = await withCpuAndIo(server.pid, () => watch(server, openLoop(conns, { rate, seconds: o.seconds, make, pacing: o.pacing })));
    check(latency);
    console.log(`  achieved ${fmtInt(latency.achieved)}/s; ${percentileLine(latency.all)}` +
      (latency.saturated ? ' (SATURATED: the server fell 5 s behind, sending stopped early; try a lower --rate)' : ''));
    // The load generator shares the machine: how late it sent is a floor under every latency above.
    console.log(`  load generator's own send lag: ${percentileLine(latency.sendLag)}`);
    console.log(`  CPU, % of one core: ${cpuLine(cpuLatency)}`);
    console.log(`  per operation: ${ioLine(ioLatency, latency.completed)}`);

    if (commitsAfterLoad) {
      const end = await groupCommits(conns[0]!);
      // The longest one is the server's lifetime maximum (the load's, unless a measuring phase beat it).
      console.log(`group commits in the measuring phases: ${commitsLine({ ...end, writes: end.writes - commitsAfterLoad.writes,
        usec: end.usec - commitsAfterLoad.usec, slow: end.slow - commitsAfterLoad.slow })}`);
    }
    const stats = parseInfo((await conns[0]!.ok(['INFO', 'stats'])) as string);
    const st = (k: string): number => Number(stats[k] ?? 0);
    if (st('cairn_overlapped_read_shards') > 0) {
      console.log(`overlapped reads (server lifetime): ${fmtInt(st('cairn_overlapped_read_calls'))} calls, ` +
        `${fmtInt(st('cairn_overlapped_read_keys'))} keys, ${fmtInt(st('cairn_overlapped_read_slow'))} of them over 50 us (the disk)`);
    }
    const info = parseInfo((await conns[0]!.ok(['INFO', 'memory'])) as string);
    mem.sample();
    mem.stop();
    disk.stop();
    const s: Summary = {
      load, throughput, latency, budget, peakRss: Math.max(mem.peak.rss, memoryOf(server.pid).hwm), peakAnon: mem.peak.anon,
      diskAfterLoad, diskAtEnd: disk.sample(), info, baseline: o.baseline ? baselineOf(o.baseline, throughput.achieved, reused !== null, o.dropCaches) : undefined,
      cpu: { throughput: cpuThroughput, latency: cpuLatency },
    };
    const bench = benchCommand();
    printSummary(o, server, s);
    console.log('');
    console.log(`bench: ${bench}`);
    console.log(`machine: ${loadNote(loadStart)}`);
    console.log(`server: ${server.command}`);
    const files = report(o, server, s, mem, disk, bench, started, loadStart).write('capacity', {
      date: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000), options: o, machine: machine(), bench,
      server: server.command, shards: server.shards, budget, info,
      load: { keys: load.keys, logicalBytes: load.logicalBytes, seconds: load.seconds, timeline: load.timeline, reused: reused !== null }, settled,
      throughput: { ...phaseJson(throughput), cpu: cpuThroughput, io: ioThroughput }, latency: { ...phaseJson(latency), cpu: cpuLatency, io: ioLatency },
      memory: { peakRss: s.peakRss, peakAnon: s.peakAnon, peaksByPhase: mem.peaks, samples: mem.samples },
      disk: { afterLoad: diskAfterLoad, atEnd: s.diskAtEnd, spaceAmplification: s.diskAtEnd / load.logicalBytes, samples: disk.samples },
      baseline: s.baseline ?? null,
    });
    console.log(`report: ${path.relative(process.cwd(), files.html)}`);
    console.log(`json:   ${path.relative(process.cwd(), files.json)} (${Math.round((Date.now() - started) / 1000)} s)`);
  } catch (e) {
    if (e instanceof Error) e.message += `\n(server log tail)\n${server.tail().slice(-1500)}`;
    throw e;
  } finally {
    mem.stop();
    disk.stop();
    for (const c of conns) c.close();
    await server.stop();
  }
}

/** "cairn_row_cache_total 21.3 MiB, ..." (or why there is nothing). */
function sizesLine(b: Budget): string {
  const e = Object.entries(b.sizes);
  return e.length ? e.map(([k, v]) => (k.includes('open_files') ? `${k} ${v}` : `${k} ${mib(Number(v))} MiB`)).join(', ') : 'INFO memory reports no cache totals (an older server)';
}

function check(r: LoadResult): void {
  if (r.errors > 0) throw new Error(`${r.errors} wrong replies, the first: ${r.firstError}`);
  if (r.unanswered > 0) throw new Error(`${r.unanswered} requests never answered`);
}

const percentileLine = (h: Histogram): string =>
  `p50 ${ms(h.valueAt(50))}  p99 ${ms(h.valueAt(99))}  p99.9 ${ms(h.valueAt(99.9))}  max ${ms(h.max)} ms`;

function phaseJson(r: LoadResult): Record<string, unknown> {
  return {
    rate: r.rate, sent: r.sent, completed: r.completed, seconds: r.seconds, achieved: r.achieved, timeline: r.timeline,
    sendLagUs: r.rate ? r.sendLag.percentiles() : undefined,
    latencyUs: Object.fromEntries(Object.entries(r.latency).map(([k, h]) => [k, { count: h.count, ...h.percentiles() }])),
    histograms: Object.fromEntries(Object.entries(r.latency).map(([k, h]) => [k, h.toJSON()])),
  };
}

function baselineOf(file: string, throughput: number, reused: boolean, dropCaches: boolean): Summary['baseline'] {
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    throughput?: { achieved?: number }; load?: { reused?: boolean }; options?: { dropCaches?: boolean };
  };
  const base = j.throughput?.achieved;
  if (typeof base !== 'number') throw new Error(`${file}: no throughput.achieved (not a capacity result?)`);
  const comparable = (j.load?.reused === true) === reused && (j.options?.dropCaches === true) === dropCaches;
  return { file, throughput: base, ratio: throughput / base, comparable };
}

/** [what, figure, target, verdict] rows: the issue's targets. */
function targetRows(s: Summary): string[][] {
  const getP99 = s.latency.latency.GET?.valueAt(99) ?? NaN;
  const rows = [
    s.budget.bytes > 0
      ? ['peak RSS', `${mib(s.peakRss)} MiB`, `<= budget ${mib(s.budget.bytes)} MiB`, s.peakRss <= s.budget.bytes ? 'met' : 'NOT met']
      : ['peak RSS', `${mib(s.peakRss)} MiB`, 'no budget (maxmemory 0)', '-'],
    ['GET p99 (open loop)', `${ms(getP99)} ms${s.latency.saturated ? ' (saturated)' : ''}`, '<= 2 ms', getP99 <= GET_P99_TARGET_US && !s.latency.saturated ? 'met' : 'NOT met'],
  ];
  if (s.baseline) {
    const b = s.baseline;
    const verdict = !b.comparable
      ? 'not comparable (one run reread its dataset and the other had just loaded it, or one dropped the page cache)'
      : b.ratio >= 0.5 ? 'met' : 'NOT met';
    rows.push(['throughput vs baseline', `${fmtRatio(b.ratio)}x (${fmtInt(b.throughput)} ops/s)`, '>= 0.5x', verdict]);
  }
  return rows;
}

function latencyRows(r: LoadResult): string[][] {
  return Object.entries(r.latency).sort((a, b) => b[1].count - a[1].count).map(([name, h]) =>
    [name, fmtInt(h.count), ms(h.valueAt(50)), ms(h.valueAt(90)), ms(h.valueAt(99)), ms(h.valueAt(99.9)), ms(h.max)]);
}

const LATENCY_HEADER = ['operation', 'requests', 'p50', 'p90', 'p99', 'p99.9', 'max (ms)'];

function printSummary(o: Options, server: Server, s: Summary): void {
  console.log('');
  console.log(`${server.name} (${server.shards} shard(s)), ${fmtInt(s.load.keys)} keys, ${mib(s.load.logicalBytes)} MiB logical, budget ${mib(s.budget.bytes)} MiB`);
  printTable([
    ['figure', 'value'],
    ['load rate (logical)', `${(s.load.logicalBytes / MiB / s.load.seconds).toFixed(2)} MiB/s, ${fmtInt(s.load.keys / s.load.seconds)} keys/s`],
    ['throughput (closed loop)', `${fmtInt(s.throughput.achieved)} ops/s`],
    ['latency phase rate', `${fmtInt(s.latency.rate)}/s target, ${fmtInt(s.latency.achieved)}/s achieved`],
    ['peak RSS (anon)', `${mib(s.peakRss)} MiB (${mib(s.peakAnon)})`],
    ['used_memory at the end', `${mib(Number(s.info.used_memory))} MiB`],
    ['disk after load / at end', `${mib(s.diskAfterLoad)} / ${mib(s.diskAtEnd)} MiB`],
    ['space amplification', `${(s.diskAtEnd / s.load.logicalBytes).toFixed(2)} (disk / logical bytes written)`],
  ]);
  console.log('');
  console.log(`latency, open loop at ${fmtInt(s.latency.rate)}/s (ms):`);
  printTable([LATENCY_HEADER, ...latencyRows(s.latency)]);
  console.log('');
  printTable([['target', 'figure', 'wanted', ''], ...targetRows(s)]);
  if (s.budget.bytes > 0 && o.size < 20 * o.memory) console.log(`(the dataset is ${(o.size / o.memory).toFixed(1)}x the budget; the targets are set for 20x)`);
}

function report(o: Options, server: Server, s: Summary, mem: MemorySampler, disk: DiskSampler, bench: string, started: number, loadStart: number[]): Report {
  const r = new Report(`${server.name} capacity: ${mib(s.load.logicalBytes)} MiB over a ${mib(s.budget.bytes)} MiB budget`);
  const m = machine();
  r.paragraph(`${new Date(started).toISOString()}, ${m.cpus as number} CPUs (${String(m.cpuModel)}), ${m.memoryGiB as number} GiB, node ${String(m.node)}. ` +
    `${server.shards} shard(s). ${fmtInt(s.load.keys)} random keys (${TYPES.filter((t) => o.mix[t]).map((t) => `${t} ${o.mix[t]}%`).join(', ')}; ` +
    `string values of ${o.valueSize} bytes, collections of ${o.elements} elements), ${(s.load.logicalBytes / s.budget.bytes).toFixed(1)}x the budget. ` +
    `The machine may be shared with other work, so figures are noisy: ${loadNote(loadStart)}.`);
  r.code([`bench: ${bench}`, `server: ${server.command}`].join('\n'));
  r.heading('Targets');
  r.table(['target', 'figure', 'wanted', ''], targetRows(s));
  r.heading('Summary');
  r.table(['figure', 'value'], [
    ['keys loaded', s.load.keys], ['logical bytes written (MiB)', mib(s.load.logicalBytes)],
    ['load time (s)', s.load.seconds.toFixed(1)], ['load rate (MiB/s, logical)', (s.load.logicalBytes / MiB / s.load.seconds).toFixed(2)],
    ['throughput, closed loop (ops/s)', Math.round(s.throughput.achieved)],
    ['latency phase: target / achieved (ops/s)', `${fmtInt(s.latency.rate)} / ${fmtInt(s.latency.achieved)}`],
    ['peak RSS / anonymous (MiB)', `${mib(s.peakRss)} / ${mib(s.peakAnon)}`],
    ['budget: maxmemory (MiB)', mib(s.budget.bytes)],
    ['used_memory at the end (MiB)', mib(Number(s.info.used_memory))],
    ['disk after load / at end (MiB)', `${mib(s.diskAfterLoad)} / ${mib(s.diskAtEnd)}`],
    ['space amplification (disk / logical)', (s.diskAtEnd / s.load.logicalBytes).toFixed(2)],
  ]);
  r.paragraph(`Sizes in effect, from INFO memory: ${sizesLine(s.budget)}.`);
  r.heading('Load');
  r.chart(timeChart('Load rate (logical bytes)', 'MB/s', [{ name: 'load rate', points: s.load.timeline.map(([t, rate]) => [t, rate]) }]));
  r.heading('Memory and disk over the whole run');
  const toMiB = (i: number): [number, number][] => mem.samples.map((x) => [x[0] / 1000, x[i]! / MiB]);
  const runEnd = (mem.samples.at(-1)?.[0] ?? 0) / 1000;
  const rss: Series[] = [{ name: 'RSS', points: toMiB(1) }, { name: 'anonymous', points: toMiB(2) }, { name: 'file-backed', points: toMiB(3) },
    { name: 'budget', points: [[0, s.budget.bytes / MiB], [runEnd, s.budget.bytes / MiB]] }];
  const phases = mem.phases.filter(([, name]) => name !== 'start').map(([at, label]) => ({ value: at / 1000, label }));
  r.chart(timeChart('Server memory', 'MiB', rss, phases));
  r.paragraph('Anonymous: JS heaps, malloc, LevelDB caches and memtables. File-backed: mostly LevelDB table files read through mmap (page cache the kernel can drop).');
  r.chart(timeChart('Disk used by the data directory', 'MiB', [{ name: 'disk', points: disk.samples.map(([t, b]) => [t / 1000, b / MiB]) }], phases));
  r.heading('Random reads and writes');
  r.paragraph(`CPU, % of one core (${machine().cpus as number} CPUs in all), throughput phase: ${cpuLine(s.cpu.throughput)}; ` +
    `latency phase: ${cpuLine(s.cpu.latency)}.`);
  r.chart(timeChart('Replies per second', 'ops/s', [
    { name: 'throughput phase (closed loop)', points: s.throughput.timeline.map(([t, n]) => [t, n]) },
    { name: `latency phase (open loop, ${fmtInt(s.latency.rate)}/s)`, points: s.latency.timeline.map(([t, n]) => [t, n]) },
  ]));
  r.paragraph(`Latency at ${fmtInt(s.latency.rate)}/s, open loop, from each request's intended send time (ms):`);
  r.table(LATENCY_HEADER, latencyRows(s.latency));
  r.chart(percentileChart('Open loop: latency by percentile', Object.entries(s.latency.latency).map(([name, histogram]) => ({ name, histogram }))));
  r.paragraph(`Closed loop (${o.clients} connections x ${o.depth} in flight): latency from the actual send, at the most the server does (ms):`);
  r.table(LATENCY_HEADER, latencyRows(s.throughput));
  return r;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
