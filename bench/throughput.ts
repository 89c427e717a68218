/**
 * End-to-end throughput of Cairn against a reference redis-server, both driven by redis-benchmark.
 *
 *   npm run build && npm run bench -- [options]
 *
 *   --rounds R          rounds; each runs every mode against both servers, alternating who goes first (3)
 *   --requests N        redis-benchmark -n per run (100000)
 *   --clients C         redis-benchmark -c (50)
 *   --keyspace K        redis-benchmark -r (100000)
 *   --tests LIST        redis-benchmark -t (set,get,incr,mset)
 *   --pipeline P        the pipelined mode's -P (16)
 *   --pipeline-only     run only the pipelined mode
 *   --no-pipeline       run only the unpipelined mode
 *   --shards S          Cairn's --shards (default: the server's own default)
 *   --server-args="..." more Cairn options
 *   --no-redis          do not start redis-server (Cairn only)
 *   --commands "A;B"    also benchmark these commands as written, each on its own (redis-benchmark
 *                       runs a command given after its options), e.g. "HGET h f5;ZRANGE z 0 -1 WITHSCORES";
 *                       --tests '' runs only these
 *   --fill N            before the rounds, on each server: hash h (f1..fN -> v1..vN), set s (m1..mN),
 *                       sorted set z (mI scored I + 0.5), list l (e1..eN), strings k1..kN (vI)
 *
 * Each server runs on a free port in a temp dir (redis-server with `--save '' --appendonly no`).
 * Tests whose command Cairn does not know are skipped for both. The table shows, per test and
 * mode, the median ops/s of each server and the median of the per-round ratios Cairn/Redis
 * (with their range); JSON with every round goes to bench/results/. It also prints each server's
 * CPU per request (µs, from /proc, median over rounds) by thread: main (the front thread; all of
 * redis-server), shards, the rest; with several tests per run, over all of them.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { median, fmtInt, fmtRatio, printTable, machine, writeResults, words } from './common.js';
import { shellLine, startCairn, startRedis, type Server } from './servers.js';
import { Conn } from './conn.js';
import { REDIS_SERVER } from '../test/helpers/oracle.js';
import { threadStats } from '../test/helpers/proc.js';

/** A server's CPU seconds so far: its main thread, Cairn's shard threads, every other thread. */
function cpuOf(pid: number): Record<string, number> {
  const out: Record<string, number> = { main: 0, shards: 0, other: 0 };
  for (const t of threadStats(pid)) out[t.tid === pid ? 'main' : t.name.startsWith('cairn-shard-') ? 'shards' : 'other']! += t.cpuSeconds;
  return out;
}

const run = promisify(execFile);
const BENCHMARK = 'redis-benchmark';

interface Options {
  rounds: number;
  requests: number;
  clients: number;
  keyspace: number;
  tests: string[];
  pipelines: number[];
  shards?: number;
  serverArgs: string[];
  redis: boolean;
  /** Commands benchmarked as written (--commands), each labelled by its text. */
  commands: string[];
  fill: number;
}

function options(): Options {
  const { values: v } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      requests: { type: 'string', default: '100000' },
      clients: { type: 'string', default: '50' },
      keyspace: { type: 'string', default: '100000' },
      tests: { type: 'string', default: 'set,get,incr,mset' },
      pipeline: { type: 'string', default: '16' },
      'pipeline-only': { type: 'boolean', default: false },
      'no-pipeline': { type: 'boolean', default: false },
      shards: { type: 'string' },
      'server-args': { type: 'string', default: '' },
      'no-redis': { type: 'boolean', default: false },
      commands: { type: 'string', default: '' },
      fill: { type: 'string', default: '0' },
    },
  });
  const int = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${text}'`);
    return n;
  };
  if (v['pipeline-only'] && v['no-pipeline']) throw new Error('--pipeline-only and --no-pipeline exclude each other');
  const p = int('pipeline', v.pipeline!, 2);
  return {
    rounds: int('rounds', v.rounds!, 1),
    requests: int('requests', v.requests!, 1),
    clients: int('clients', v.clients!, 1),
    keyspace: int('keyspace', v.keyspace!, 1),
    tests: v.tests!.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean),
    pipelines: v['pipeline-only'] ? [p] : v['no-pipeline'] ? [1] : [1, p],
    shards: v.shards === undefined ? undefined : int('shards', v.shards, 0),
    serverArgs: words(v['server-args']!),
    redis: !v['no-redis'],
    commands: v.commands!.split(';').map((c) => c.trim()).filter(Boolean),
    fill: int('fill', v.fill!, 0),
  };
}

/** The keys --fill makes (see the header), as commands. */
function fillCommands(n: number): string[][] {
  if (n === 0) return [];
  const range = (f: (i: number) => string[]): string[] => Array.from({ length: n }, (_, i) => f(i + 1)).flat();
  return [
    ['HSET', 'h', ...range((i) => [`f${i}`, `v${i}`])],
    ['SADD', 's', ...range((i) => [`m${i}`])],
    ['ZADD', 'z', ...range((i) => [String(i + 0.5), `m${i}`])],
    ['RPUSH', 'l', ...range((i) => [`e${i}`])],
    ['MSET', ...range((i) => [`k${i}`, `v${i}`])],
  ];
}

// ---------------------------------------------------------------- commands

/** A row's name: a -t test in capitals (lrange_100 -> LRANGE_100), a --commands command as written. */
function shown(label: string): string {
  return label.includes(' ') ? label : label.toUpperCase();
}

/** The command a redis-benchmark test sends (lrange_100 -> LRANGE, ping_inline -> PING). */
function commandOf(test: string): string {
  return test.split('_')[0]!.toUpperCase();
}

/** True unless the server answers the test's command with "unknown command". */
function supports(port: number, test: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`${commandOf(test)} __cairn_bench_probe\r\n`));
    let reply = '';
    s.on('data', (d) => {
      reply += d.toString('latin1');
      if (reply.includes('\r\n')) {
        s.destroy();
        resolve(!reply.startsWith('-ERR unknown command'));
      }
    });
    s.on('error', reject);
  });
}

// ---------------------------------------------------------------- redis-benchmark

interface Sample {
  rps: number;
  p50: number;
  p99: number;
}

/** redis-benchmark's arguments for the -t tests, or with `command` for that command alone. */
function benchmarkArgs(o: Options, port: number, tests: string[], pipeline: number, command?: string): string[] {
  return ['-h', '127.0.0.1', '-p', String(port), ...(command === undefined ? ['-t', tests.join(',')] : []), '-c', String(o.clients),
    '-n', String(o.requests), '-r', String(o.keyspace), '-P', String(pipeline), '-q', '--csv', ...(command === undefined ? [] : words(command))];
}

/** Parses redis-benchmark --csv: test name's first word, lower case ("MSET (10 keys)" -> mset). */
function parseCsv(csv: string): Map<string, Sample> {
  const out = new Map<string, Sample>();
  const lines = csv.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('"'));
  const header = lines[0]!.slice(1, -1).split('","');
  const col = (name: string): number => header.indexOf(name);
  for (const line of lines.slice(1)) {
    const f = line.slice(1, -1).split('","');
    out.set(f[0]!.split(' ')[0]!.toLowerCase(), {
      rps: Number(f[col('rps')]), p50: Number(f[col('p50_latency_ms')]), p99: Number(f[col('p99_latency_ms')]),
    });
  }
  return out;
}

async function benchmark(args: string[]): Promise<Map<string, Sample>> {
  try {
    const { stdout } = await run(BENCHMARK, args, { timeout: 15 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    return parseCsv(stdout);
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${shellLine([BENCHMARK, ...args])} failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

// ---------------------------------------------------------------- main

interface RoundResult {
  round: number;
  pipeline: number;
  order: string[];
  samples: Record<string, Record<string, Sample>>;
  /** By server: CPU µs per request by thread group (cpuOf), over the run's tests. */
  cpu: Record<string, Record<string, number>>;
}

async function main(): Promise<void> {
  const o = options();
  await run(BENCHMARK, ['--version']).catch(() => {
    throw new Error(`${BENCHMARK} is not installed (it drives the load)`);
  });
  const started = Date.now();
  const targets: Server[] = [];
  try {
    const cairn = await startCairn({ shards: o.shards, serverArgs: o.serverArgs });
    targets.push(cairn);
    const redis = o.redis ? await startRedis() : null;
    if (redis) targets.push(redis);
    else if (o.redis) console.log(`(${REDIS_SERVER} not found: Cairn only)`);

    const tests: string[] = [];
    for (const t of o.tests) {
      if (await supports(cairn.port, t)) tests.push(t);
      else console.log(`(skipping '${t}': Cairn does not know ${commandOf(t)} yet)`);
    }
    if (tests.length === 0 && o.commands.length === 0) throw new Error('no test left to run');
    for (const t of targets) {
      const c = await Conn.open(t.port);
      for (const args of fillCommands(o.fill)) await c.ok(args);
      c.close();
    }
    // The rows of the tables: the -t tests, then the commands as written.
    const labels = [...tests, ...o.commands];

    const rounds: RoundResult[] = [];
    const commands = new Set<string>();
    for (let round = 1; round <= o.rounds; round++) {
      for (const pipeline of o.pipelines) {
        // Alternate who goes first, so drift (heat, neighbours) does not favour one server.
        const order = round % 2 === 1 ? targets : [...targets].reverse();
        const samples: RoundResult['samples'] = {};
        const cpu: RoundResult['cpu'] = {};
        for (const t of order) {
          const before = cpuOf(t.pid);
          const result = new Map<string, Sample>();
          if (tests.length > 0) {
            const args = benchmarkArgs(o, t.port, tests, pipeline);
            commands.add(`${t.name}: ${shellLine([BENCHMARK, ...args])}`);
            for (const [k, v] of await benchmark(args)) result.set(k, v);
          }
          for (const command of o.commands) {
            const args = benchmarkArgs(o, t.port, tests, pipeline, command);
            commands.add(`${t.name}: ${shellLine([BENCHMARK, ...args])}`);
            const one = [...(await benchmark(args)).values()][0];
            if (one !== undefined) result.set(command, one);
          }
          const after = cpuOf(t.pid);
          cpu[t.name] = Object.fromEntries(Object.keys(after).map((g) => [g, ((after[g]! - before[g]!) * 1e6) / (o.requests * labels.length)]));
          samples[t.name] = Object.fromEntries(result);
          const line = labels.map((x) => `${x} ${fmtInt(result.get(x)?.rps ?? NaN)}`).join(', ');
          console.log(`round ${round}/${o.rounds} -P ${pipeline} ${t.name.padEnd(5)} ${line}`);
        }
        rounds.push({ round, pipeline, order: order.map((t) => t.name), samples, cpu });
      }
    }

    const summary = summarize(o, labels, rounds, redis !== null);
    const shards = cairn.info.shards as number;
    console.log('');
    console.log(`Cairn (${shards} shard${shards === 1 ? '' : 's'})${redis ? ` vs Redis ${redis.info.version as string}` : ''}: ` +
      `median ops/s of ${o.rounds} round(s), redis-benchmark -c ${o.clients} -n ${o.requests} -r ${o.keyspace}`);
    printTable(summaryRows(summary, redis !== null));
    console.log('');
    console.log(`server CPU per request (µs, median of ${o.rounds} round(s); ${labels.length > 1 ? 'over all the tests of a run' : shown(labels[0]!)}):`);
    printTable(cpuRows(o, targets, rounds));
    console.log('');
    console.log(`bench: ${shellLine(['node', ...process.argv.slice(1).map((a) => (path.isAbsolute(a) ? path.relative(process.cwd(), a) : a))])}`);
    for (const t of targets) console.log(`${t.name} server: ${t.command}`);
    for (const c of commands) console.log(c);
    const file = writeResults('throughput', {
      date: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000), options: o,
      machine: machine(), cairn: cairn.info, redis: redis?.info ?? null, commands: [...commands], summary, rounds,
    });
    console.log(`results: ${path.relative(process.cwd(), file)} (${Math.round((Date.now() - started) / 1000)} s)`);
  } finally {
    for (const t of targets) await t.stop();
  }
}

interface SummaryRow {
  test: string;
  pipeline: number;
  cairn: number;
  redis: number;
  ratio: number;
  ratioMin: number;
  ratioMax: number;
}

function summarize(o: Options, tests: string[], rounds: RoundResult[], withRedis: boolean): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const pipeline of o.pipelines) {
    for (const test of tests) {
      const mine = rounds.filter((r) => r.pipeline === pipeline);
      const cairn = mine.map((r) => r.samples.Cairn?.[test]?.rps ?? NaN);
      const redis = withRedis ? mine.map((r) => r.samples.Redis?.[test]?.rps ?? NaN) : [];
      const ratios = redis.map((x, i) => cairn[i]! / x);
      rows.push({
        test, pipeline, cairn: median(cairn), redis: median(redis),
        ratio: median(ratios), ratioMin: Math.min(...ratios), ratioMax: Math.max(...ratios),
      });
    }
  }
  return rows;
}

function cpuRows(o: Options, targets: Server[], rounds: RoundResult[]): string[][] {
  const groups = ['main', 'shards', 'other'];
  const rows = [['server', 'pipeline', ...groups, 'total']];
  for (const pipeline of o.pipelines) {
    for (const t of targets) {
      const mine = rounds.filter((r) => r.pipeline === pipeline).map((r) => r.cpu[t.name]!);
      const med = (f: (c: Record<string, number>) => number): string => median(mine.map(f)).toFixed(1);
      rows.push([t.name, String(pipeline), ...groups.map((g) => med((c) => c[g]!)), med((c) => groups.reduce((a, g) => a + c[g]!, 0))]);
    }
  }
  return rows;
}

function summaryRows(summary: SummaryRow[], withRedis: boolean): string[][] {
  const header = withRedis
    ? ['test', 'pipeline', 'Cairn ops/s', 'Redis ops/s', 'Cairn/Redis', 'range']
    : ['test', 'pipeline', 'Cairn ops/s'];
  return [header, ...summary.map((r) => withRedis
    ? [shown(r.test), String(r.pipeline), fmtInt(r.cairn), fmtInt(r.redis), fmtRatio(r.ratio), `${fmtRatio(r.ratioMin)}-${fmtRatio(r.ratioMax)}`]
    : [shown(r.test), String(r.pipeline), fmtInt(r.cairn)])];
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
