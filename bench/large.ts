/**
 * Large collections: build one sorted set and one hash of N members each, then measure read
 * latency on them, while watching the server's memory. Issue 3's target: peak RSS < 300 MB.
 *
 *   npm run build && npm run bench:large -- [options]
 *
 *   --members N          members of the sorted set, fields of the hash (10000000)
 *   --shards S           Cairn's --shards (default: the server's own default)
 *   --pipeline P         build commands in flight on the connection (16)
 *   --batch B            member/score (field/value) pairs per ZADD (HSET) (1000)
 *   --value-bytes V      bytes per hash value (16)
 *   --clients C          concurrent closed-loop clients of the latency phase (4)
 *   --requests R         ZRANGEBYSCORE and HGET requests, each (20000)
 *   --points K           ZSCORE and ZRANK requests, each, one at a time (300)
 *   --rank-seconds T     stop issuing ZRANKs after T seconds (O(rank) each: 120)
 *   --dir D              data directory (kept; default: a temp dir, removed at the end)
 *   --server-args="..."  more server options, e.g. --server-args="--leveldb-cache-size 16mb --row-cache-size 8mb"
 *                        (with "=": the value starts with a dash)
 *   --node-args="..."    node options for the server process, e.g. --node-args="--max-semi-space-size=2"
 *
 * Steps: start `node dist/src/main.js` on a free port; build the sorted set with pipelined ZADDs
 * (scores: random doubles in [0, 1), derived from the member's number so replies can be checked)
 * and then the hash with pipelined HSETs, printing the build rate as it goes; check ZCARD/HLEN.
 * Then latency, each request timed as the client sees it: ZRANGEBYSCORE over random score windows
 * that hold ~10 members (LIMIT 0 10) and HGET of random fields, C clients closed-loop; ZSCORE and
 * ZRANK of random members, one client, one request at a time. Every reply is checked (members
 * inside the window, exact scores and values); the first error reply aborts the run.
 * The server's VmRSS (/proc/<pid>/status; shards are threads of that process) is sampled every
 * 200 ms throughout, split into anonymous memory (JS heaps, malloc, LevelDB's caches) and
 * file-backed pages (the node binary and LevelDB's table files, which LevelDB reads through mmap:
 * reclaimable page cache, but counted in RSS), and its VmHWM read at the end. Prints a summary,
 * the data directory's size, the exact command lines; JSON goes to bench/results/.
 *
 * Smaller memory, e.g.: --batch 20 --pipeline 256 --node-args="--max-old-space-size=64
 * --max-semi-space-size=1" --server-args="--row-cache-size 0 --leveldb-cache-size 8mb
 * --leveldb-write-buffer-size 4mb --leveldb-max-open-files 74" (V8 otherwise lets each thread's
 * heap grow far past what it keeps alive; LevelDB raises max-open-files below 74 to 74). The
 * server inherits the environment, so LD_PRELOAD=.../libjemalloc.so.2 tries another allocator
 * (glibc's arenas keep much of what LevelDB and the build free); the printed command names it.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fmtInt, printTable, machine, writeResults, intOption, mix32, words, mib, ms } from './common.js';
import { Conn, parseInfo, resp, type Reply } from './conn.js';
import { benchCommand, memoryEnv, memoryOf, MemorySampler, startCairn, watch, type MemorySample, type Server } from './servers.js';
import { diskBytes } from '../src/util/files.js';
import { keyShard } from '../src/server/slot.js';

const ZKEY = 'large:zset';
const HKEY = 'large:hash';
const RSS_TARGET = 300 * 1e6;
/** A build or a request without a reply for this long fails the run (with the server's log). */
const STALL_MS = 60_000;

interface Options {
  members: number;
  shards?: number;
  pipeline: number;
  batch: number;
  valueBytes: number;
  clients: number;
  requests: number;
  points: number;
  rankSeconds: number;
  dir?: string;
  serverArgs: string[];
  nodeArgs: string[];
}

function options(): Options {
  const { values: v } = parseArgs({
    options: {
      members: { type: 'string', default: '10000000' },
      shards: { type: 'string' },
      pipeline: { type: 'string', default: '16' },
      batch: { type: 'string', default: '1000' },
      'value-bytes': { type: 'string', default: '16' },
      clients: { type: 'string', default: '4' },
      requests: { type: 'string', default: '20000' },
      points: { type: 'string', default: '300' },
      'rank-seconds': { type: 'string', default: '120' },
      dir: { type: 'string' },
      'server-args': { type: 'string', default: '' },
      'node-args': { type: 'string', default: '' },
    },
  });
  return {
    members: intOption('members', v.members!, 10),
    shards: v.shards === undefined ? undefined : intOption('shards', v.shards, 0),
    pipeline: intOption('pipeline', v.pipeline!, 1),
    batch: intOption('batch', v.batch!, 1),
    valueBytes: intOption('value-bytes', v['value-bytes']!, 1),
    clients: intOption('clients', v.clients!, 1),
    requests: intOption('requests', v.requests!, 1),
    points: intOption('points', v.points!, 0),
    rankSeconds: intOption('rank-seconds', v['rank-seconds']!, 1),
    dir: v.dir,
    serverArgs: words(v['server-args']!),
    nodeArgs: words(v['node-args']!),
  };
}

/** Member i's score: a uniform random double in [0, 1) with 53 random bits. */
function scoreOf(i: number): number {
  return ((mix32(2 * i) >>> 5) * 2 ** 26 + (mix32(2 * i + 1) >>> 6)) / 2 ** 53;
}

const memberOf = (i: number): string => `m:${i}`;
const fieldOf = (i: number): string => `f:${i}`;
const valueOf = (i: number, bytes: number): string => `v:${i}`.padEnd(bytes, '.').slice(0, bytes);

/** ZADD (HSET) of members [from, to): its pairs appended without an intermediate array. */
function pairsCommand(name: string, key: string, from: number, to: number, pair: (i: number) => [string, string]): string {
  let s = `*${2 + 2 * (to - from)}\r\n$${name.length}\r\n${name}\r\n$${key.length}\r\n${key}\r\n`;
  for (let i = from; i < to; i++) {
    const [a, b] = pair(i);
    s += `$${a.length}\r\n${a}\r\n$${b.length}\r\n${b}\r\n`;
  }
  return s;
}

// ---------------------------------------------------------------- the build

interface BuildResult {
  command: string;
  seconds: number;
  rate: number;
  /** [elapsed ms, members acknowledged, members/s over the last interval, RSS bytes] */
  progress: [number, number, number, number][];
}

/**
 * Sends `total` pairs as commands of `batch` pairs, `pipeline` commands in flight, printing the
 * rate every 2 s. Every reply must be an integer (the pairs it added); they must add up to `total`.
 */
function build(conn: Conn, name: string, key: string, o: Options, pair: (i: number) => [string, string], rss: MemorySampler): Promise<BuildResult> {
  return new Promise((resolve, reject) => {
    const total = o.members;
    const t0 = performance.now();
    const progress: BuildResult['progress'] = [];
    let next = 0;
    let inflight = 0;
    let acked = 0;
    let added = 0;
    let lastAt = t0;
    let lastAcked = 0;
    const fail = (e: Error): void => {
      clearInterval(timer);
      next = total; // send nothing more
      reject(e);
    };
    const report = (): void => {
      const now = performance.now();
      if (acked === lastAcked && acked < total) {
        // Nothing acknowledged since the last line: wait (a LevelDB write stall), up to STALL_MS.
        if (now - lastAt > STALL_MS) fail(new Error(`${name} ${key}: no reply for ${STALL_MS / 1000} s (${fmtInt(acked)} of ${fmtInt(total)} members acknowledged)`));
        return;
      }
      const rate = ((acked - lastAcked) * 1000) / (now - lastAt);
      progress.push([Math.round(now - t0), acked, Math.round(rate), rss.latest.rss]);
      console.log(`  ${name} ${fmtInt(acked).padStart(11)} / ${fmtInt(total)}  ${fmtInt(rate).padStart(9)} members/s now, ` +
        `${fmtInt((acked * 1000) / (now - t0)).padStart(9)} overall, server RSS ${mib(rss.latest.rss)} MiB (anon ${mib(rss.latest.anon)})`);
      lastAt = now;
      lastAcked = acked;
    };
    const timer = setInterval(report, 2000);
    const fill = (): void => {
      while (inflight < o.pipeline && next < total) {
        const from = next;
        const to = Math.min(total, from + o.batch);
        next = to;
        inflight++;
        conn.send(pairsCommand(name, key, from, to, pair), (r) => {
          inflight--;
          if (r instanceof Error) return fail(new Error(`${name} ${key} (members ${from}..${to - 1}) failed: ${r.message}`));
          if (typeof r !== 'number') return fail(new Error(`${name} ${key} replied ${String(r)}, not an integer`));
          acked += to - from;
          added += r;
          if (acked < total) return fill();
          clearInterval(timer);
          report();
          const seconds = (performance.now() - t0) / 1000;
          if (added !== total) return reject(new Error(`${name} added ${added} members, expected ${total}`));
          resolve({ command: `${name} ${key} (${o.batch} pairs each, ${o.pipeline} in flight)`, seconds, rate: total / seconds, progress });
        });
      }
    };
    fill();
  });
}

// ---------------------------------------------------------------- latency

interface Latency {
  command: string;
  clients: number;
  requests: number;
  seconds: number;
  /** Microseconds. */
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  note?: string;
}

function percentiles(us: Float64Array): Pick<Latency, 'p50' | 'p90' | 'p99' | 'p999' | 'max'> {
  const s = us.slice().sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: s[s.length - 1] ?? NaN };
}

/** A request: its RESP text and the check of its reply (throws when wrong). */
interface Request {
  payload: string;
  check(reply: Reply): void;
}

/**
 * `clients` connections each send one request, wait for its reply, send the next, until
 * `requests` were sent (or `deadline`, performance.now() ms, passed). Returns the latencies.
 */
async function closedLoop(conns: Conn[], command: string, requests: number, make: () => Request, deadline = Infinity): Promise<Latency> {
  const us = new Float64Array(requests);
  let issued = 0;
  let done = 0;
  const t0 = performance.now();
  await Promise.all(conns.map(async (conn) => {
    while (issued < requests && performance.now() < deadline) {
      issued++;
      const req = make();
      const t = performance.now();
      const reply = await withTimeout(conn.call(req.payload), STALL_MS, () => `no reply to ${command} for ${STALL_MS / 1000} s`);
      us[done++] = (performance.now() - t) * 1000;
      if (reply instanceof Error) throw new Error(`${req.payload.replace(/\r\n/g, ' ').slice(0, 200)}: ${reply.message}`);
      req.check(reply);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  return { command, clients: conns.length, requests: done, seconds, ...percentiles(us.subarray(0, done)) };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what())), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const randomBelow = (n: number): number => Math.floor(Math.random() * n);

function expect(ok: boolean, what: () => string): void {
  if (!ok) throw new Error(`wrong reply: ${what()}`);
}

/** ZRANGEBYSCORE over a random window that holds ~10 members; each returned member's score must be inside it. */
function scoreWindow(n: number, returned: number[]): Request {
  const width = 10 / n;
  const lo = Math.random() * (1 - width);
  const hi = lo + width;
  return {
    payload: resp(['ZRANGEBYSCORE', ZKEY, String(lo), String(hi), 'LIMIT', '0', '10']),
    check: (r) => {
      expect(Array.isArray(r) && r.length <= 10, () => `ZRANGEBYSCORE ${lo} ${hi}: ${String(r)}`);
      let prev = -Infinity;
      for (const m of r as string[]) {
        const s = scoreOf(Number(m.slice(2)));
        expect(m.startsWith('m:') && s >= lo && s <= hi && s >= prev, () => `ZRANGEBYSCORE ${lo} ${hi} returned ${m} (score ${s})`);
        prev = s;
      }
      returned.push((r as string[]).length);
    },
  };
}

function hget(n: number, valueBytes: number): Request {
  const i = randomBelow(n);
  return {
    payload: resp(['HGET', HKEY, fieldOf(i)]),
    check: (r) => expect(r === valueOf(i, valueBytes), () => `HGET ${fieldOf(i)}: ${String(r)}`),
  };
}

function zscore(n: number): Request {
  const i = randomBelow(n);
  return {
    payload: resp(['ZSCORE', ZKEY, memberOf(i)]),
    check: (r) => expect(Number(r) === scoreOf(i), () => `ZSCORE ${memberOf(i)}: ${String(r)}, expected ${scoreOf(i)}`),
  };
}

function zrank(n: number): Request {
  const i = randomBelow(n);
  return {
    payload: resp(['ZRANK', ZKEY, memberOf(i)]),
    check: (r) => expect(typeof r === 'number' && r >= 0 && r < n, () => `ZRANK ${memberOf(i)}: ${String(r)}`),
  };
}

// ---------------------------------------------------------------- main

/** Builds both collections, one after the other, and checks their sizes. */
async function buildPhase(server: Server, conn: Conn, o: Options, rss: MemorySampler): Promise<BuildResult[]> {
  for (const k of [ZKEY, HKEY]) {
    if ((await conn.ok(['EXISTS', k])) !== 0) throw new Error(`${k} already exists: use an empty --dir`);
  }
  const where = (k: string): string => `shard ${keyShard(Buffer.from(k), server.shards)} of ${server.shards}`;
  rss.phase = 'build (ZADD)';
  console.log(`building ${ZKEY} (${where(ZKEY)}): ${fmtInt(o.members)} members...`);
  const z = await watch(server, build(conn, 'ZADD', ZKEY, o, (i) => [String(scoreOf(i)), memberOf(i)], rss));
  rss.phase = 'build (HSET)';
  console.log(`building ${HKEY} (${where(HKEY)}): ${fmtInt(o.members)} fields of ${o.valueBytes} bytes...`);
  const h = await watch(server, build(conn, 'HSET', HKEY, o, (i) => [fieldOf(i), valueOf(i, o.valueBytes)], rss));
  if ((await conn.ok(['ZCARD', ZKEY])) !== o.members) throw new Error('ZCARD disagrees with the members written');
  if ((await conn.ok(['HLEN', HKEY])) !== o.members) throw new Error('HLEN disagrees with the fields written');
  return [z, h];
}

/** The latency measurements; `conns[0]` alone runs the one-at-a-time ones. */
async function latencyPhase(server: Server, conns: Conn[], o: Options, rss: MemorySampler): Promise<Latency[]> {
  const n = o.members;
  const out: Latency[] = [];
  /** Runs one measurement (memory peaks under its own name); `note` adds a remark to its row. */
  const measure = async (command: string, run: (command: string) => Promise<Latency>, note?: (l: Latency) => string | undefined): Promise<void> => {
    rss.phase = command;
    const l = await watch(server, run(command));
    l.note = note?.(l);
    out.push(l);
    console.log(`  ${l.command}: ${fmtInt(l.requests)} requests, ${fmtInt(l.requests / l.seconds)}/s, p50 ${ms(l.p50)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms`);
  };
  console.log(`latency (${conns.length} clients closed-loop; ZSCORE and ZRANK one at a time)...`);
  const returned: number[] = [];
  // A window holds Poisson(10) members; LIMIT caps them at 10, so replies average ~8.75.
  await measure('ZRANGEBYSCORE LIMIT 0 10', (c) => closedLoop(conns, c, o.requests, () => scoreWindow(n, returned)),
    () => `${(returned.reduce((a, b) => a + b, 0) / returned.length).toFixed(2)} members per reply on average`);
  await measure('HGET', (c) => closedLoop(conns, c, o.requests, () => hget(n, o.valueBytes)));
  if (o.points > 0) {
    await measure('ZSCORE', (c) => closedLoop([conns[0]!], c, o.points, () => zscore(n)));
    await measure('ZRANK', (c) => closedLoop([conns[0]!], c, o.points, () => zrank(n), performance.now() + o.rankSeconds * 1000),
      (l) => (l.requests < o.points ? `stopped after ${o.rankSeconds} s (--rank-seconds)` : undefined));
  }
  return out;
}

interface Memory {
  /** Sampled every 200 ms. */
  peak: MemorySample;
  peaksByPhase: Record<string, MemorySample>;
  /** VmHWM at the end. */
  peakRssHwm: number;
  /** INFO memory at the end. */
  info: Record<string, string>;
  samples: MemorySampler['samples'];
}

function printSummary(o: Options, server: Server, builds: BuildResult[], latency: Latency[], mem: Memory, disk: number): void {
  const shards = server.shards;
  console.log('');
  console.log(`Cairn (${shards} shard${shards === 1 ? '' : 's'}), ${fmtInt(o.members)} members per collection`);
  printTable([['build', 'seconds', 'members/s'], ...builds.map((b) => [b.command, b.seconds.toFixed(1), fmtInt(b.rate)])]);
  console.log('');
  printTable([
    ['latency (ms)', 'clients', 'requests', 'req/s', 'p50', 'p90', 'p99', 'p99.9', 'max'],
    ...latency.map((l) => [l.command, String(l.clients), fmtInt(l.requests), fmtInt(l.requests / l.seconds),
      ms(l.p50), ms(l.p90), ms(l.p99), ms(l.p999), ms(l.max)]),
  ]);
  for (const l of latency) if (l.note) console.log(`  ${l.command}: ${l.note}`);
  console.log('');
  printTable([
    ['server memory (MiB)', 'RSS', 'anon', 'file'],
    ...Object.entries(mem.peaksByPhase).map(([phase, m]) => [`peak, ${phase}`, mib(m.rss), mib(m.anon), mib(m.file)]),
    ['peak, whole run (sampled every 200 ms)', mib(mem.peak.rss), mib(mem.peak.anon), mib(mem.peak.file)],
    ['peak RSS (VmHWM)', mib(mem.peakRssHwm), '', ''],
    ['used_memory at the end (JS heaps + LevelDB)', mib(Number(mem.info.used_memory)), '', ''],
  ]);
  console.log(`  (anon: JS heaps, malloc, LevelDB caches; file: mostly LevelDB tables read through mmap, reclaimable page cache)`);
  console.log(`disk used by the data dir: ${mib(disk)} MiB`);
  const peak = Math.max(mem.peak.rss, mem.peakRssHwm);
  const verdict = (b: number): string => `${(b / 1e6).toFixed(0)} MB (${b < RSS_TARGET ? 'under' : 'OVER'} the ${RSS_TARGET / 1e6} MB target)`;
  console.log(`peak RSS ${verdict(peak)}; peak anonymous RSS ${verdict(mem.peak.anon)}`);
}

async function main(): Promise<void> {
  const o = options();
  const started = Date.now();
  const server = await startCairn({ shards: o.shards, dir: o.dir, serverArgs: o.serverArgs, nodeArgs: o.nodeArgs });
  const dir = server.dir;
  const rss = new MemorySampler(server.pid);
  const conns: Conn[] = [];
  try {
    console.log(`Cairn pid ${server.pid} on port ${server.port}, ${server.shards} shard(s), dir ${dir}`);
    conns.push(await Conn.open(server.port));
    const builds = await buildPhase(server, conns[0]!, o, rss);
    while (conns.length < o.clients) conns.push(await Conn.open(server.port));
    const latency = await latencyPhase(server, conns, o, rss);

    const info = parseInfo((await conns[0]!.ok(['INFO', 'memory'])) as string);
    rss.sample();
    rss.stop();
    const mem: Memory = { peak: rss.peak, peaksByPhase: rss.peaks, peakRssHwm: memoryOf(server.pid).hwm, info, samples: rss.samples };
    const disk = diskBytes(dir);
    printSummary(o, server, builds, latency, mem, disk);

    // The server inherits the bench's environment: name what changes its memory (allocator, node flags).
    const env = memoryEnv();
    const bench = benchCommand();
    console.log('');
    console.log(`bench: ${bench}`);
    console.log(`server: ${server.command}`);
    const file = writeResults('large', {
      date: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000), options: o, machine: machine(),
      bench, server: server.command, env, shards: server.shards, build: { zadd: builds[0], hset: builds[1] }, latencyUs: latency,
      memory: mem, diskBytes: disk,
    });
    console.log(`results: ${path.relative(process.cwd(), file)} (${Math.round((Date.now() - started) / 1000)} s)`);
  } catch (e) {
    if (e instanceof Error) e.message += `\n(server log tail)\n${server.tail().slice(-1500)}`;
    throw e;
  } finally {
    rss.stop();
    for (const c of conns) c.close();
    await server.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
