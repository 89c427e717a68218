/**
 * Latency at fixed request rates, open loop (no coordinated omission), Cairn against a reference
 * redis-server in the same run.
 *
 *   npm run build && npm run bench:latency -- [options]
 *
 *   --rates LIST         requests per second, over all connections (1000,5000,20000)
 *   --seconds T          measured seconds per command, rate and server (5)
 *   --warmup T           unmeasured seconds at the same rate before each measurement (1)
 *   --commands LIST      get,set,hset,lpush,zadd,lrange (also: incr,hget,sadd,zscore)
 *   --connections C      connections per server; requests go round-robin over them (4)
 *   --keyspace K         keys (fields, members) the requests pick from at random (10000)
 *   --value-size V       bytes per value (100)
 *   --shards S           Cairn's --shards (default: the server's own default)
 *   --server-args="..."  more Cairn options
 *   --pacing P           open-loop pacing: batch (default: ~1 ms timer, little CPU) or spin (bench/load.ts)
 *   --no-redis           Cairn only
 *
 * Each server runs on a free port in a temp dir (redis-server with persistence off), started
 * once; GET, HGET, ZSCORE and LRANGE read keys loaded before they run. For each command and rate
 * the servers take turns (who goes first alternates). Requests leave on a fixed schedule whatever
 * the replies do, and each latency is measured from the request's intended send time (bench/load.ts),
 * so a server that falls behind shows it as latency. A server that answers less than 90% of a rate
 * is "saturated" there (its latencies would only measure the run's length): the table gives the
 * rate it reached instead, and higher rates are skipped for it. Prints a table (achieved rate, p50, p99,
 * p99.9, max in ms); the HTML report (percentile curves per command, p99 against rate, server RSS
 * over time) and the JSON (every histogram) go to bench/results/.
 */
import { parseArgs } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { fmtInt, intListOption, intOption, machine, mib, ms, printTable, words, loadNote } from './common.js';
import { Conn, resp, type Reply } from './conn.js';
import { Histogram, STANDARD_PERCENTILES } from './histogram.js';
import { openLoop, pacingOption, type Pacing, type LoadResult, type Request } from './load.js';
import { Report, lineChart, percentileChart, timeChart } from './report.js';
import { benchCommand, MemorySampler, startCairn, startRedis, watch, type Server } from './servers.js';

interface Options {
  pacing: Pacing;
  rates: number[];
  seconds: number;
  warmup: number;
  commands: string[];
  connections: number;
  keyspace: number;
  valueSize: number;
  shards?: number;
  serverArgs: string[];
  redis: boolean;
}

function options(): Options {
  const { values: v } = parseArgs({
    options: {
      pacing: { type: 'string' },
      rates: { type: 'string', default: '1000,5000,20000' },
      seconds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      commands: { type: 'string', default: 'get,set,hset,lpush,zadd,lrange' },
      connections: { type: 'string', default: '4' },
      keyspace: { type: 'string', default: '10000' },
      'value-size': { type: 'string', default: '100' },
      shards: { type: 'string' },
      'server-args': { type: 'string', default: '' },
      'no-redis': { type: 'boolean', default: false },
    },
  });
  const commands = v.commands!.split(',').map((c) => c.trim().toLowerCase()).filter(Boolean);
  for (const c of commands) if (!COMMANDS[c]) throw new Error(`--commands: unknown '${c}' (known: ${Object.keys(COMMANDS).join(', ')})`);
  return {
    pacing: pacingOption(v.pacing),
    rates: intListOption('rates', v.rates!).sort((a, b) => a - b),
    seconds: intOption('seconds', v.seconds!, 1),
    warmup: intOption('warmup', v.warmup!, 0),
    commands,
    connections: intOption('connections', v.connections!, 1),
    keyspace: intOption('keyspace', v.keyspace!, 1),
    valueSize: intOption('value-size', v['value-size']!, 1),
    shards: v.shards === undefined ? undefined : intOption('shards', v.shards, 0),
    serverArgs: words(v['server-args']!),
    redis: !v['no-redis'],
  };
}

// ---------------------------------------------------------------- the commands

/** Collections the write commands spread over (so no single key takes every request). */
const COLLECTIONS = 100;
/** LRANGE reads 0..99 of one of these lists (as redis-benchmark's lrange_100). */
const RANGE_LISTS = 10;
const randomBelow = (n: number): number => Math.floor(Math.random() * n);
/** A run stops sending once the server is this far behind ("saturated"); higher rates are skipped. */
const GIVE_UP_MS = 5000;

interface CommandDef {
  /** Commands that load what the measured command reads. */
  setup?(o: Options, value: string): string[][];
  make(o: Options, value: string): Request;
}

const isBulk = (len: number) => (r: Reply): string | undefined =>
  typeof r === 'string' && r.length === len ? undefined : `expected a ${len}-byte value, got ${String(r).slice(0, 40)}`;

const COMMANDS: Record<string, CommandDef> = {
  get: {
    setup: (o, v) => Array.from({ length: o.keyspace }, (_, i) => ['SET', `key:${i}`, v]),
    make: (o, v) => ({ label: 'GET', payload: resp(['GET', `key:${randomBelow(o.keyspace)}`]), check: isBulk(v.length) }),
  },
  set: { make: (o, v) => ({ label: 'SET', payload: resp(['SET', `key:${randomBelow(o.keyspace)}`, v]) }) },
  incr: { make: (o) => ({ label: 'INCR', payload: resp(['INCR', `counter:${randomBelow(o.keyspace)}`]) }) },
  hset: { make: (o, v) => ({ label: 'HSET', payload: resp(['HSET', `hash:${randomBelow(COLLECTIONS)}`, `f:${randomBelow(o.keyspace)}`, v]) }) },
  hget: {
    setup: (o, v) => Array.from({ length: o.keyspace }, (_, i) => ['HSET', `hget:${i % COLLECTIONS}`, `f:${i}`, v]),
    make: (o, v) => {
      const i = randomBelow(o.keyspace);
      return { label: 'HGET', payload: resp(['HGET', `hget:${i % COLLECTIONS}`, `f:${i}`]), check: isBulk(v.length) };
    },
  },
  lpush: { make: (_, v) => ({ label: 'LPUSH', payload: resp(['LPUSH', `list:${randomBelow(COLLECTIONS)}`, v]) }) },
  sadd: { make: (o) => ({ label: 'SADD', payload: resp(['SADD', `set:${randomBelow(COLLECTIONS)}`, `m:${randomBelow(o.keyspace)}`]) }) },
  zadd: {
    make: (o) => ({ label: 'ZADD', payload: resp(['ZADD', `zset:${randomBelow(COLLECTIONS)}`, String(Math.random()), `m:${randomBelow(o.keyspace)}`]) }),
  },
  zscore: {
    setup: (o) => Array.from({ length: o.keyspace }, (_, i) => ['ZADD', `zscore:${i % COLLECTIONS}`, String(i), `m:${i}`]),
    make: (o) => {
      const i = randomBelow(o.keyspace);
      return { label: 'ZSCORE', payload: resp(['ZSCORE', `zscore:${i % COLLECTIONS}`, `m:${i}`]), check: (r) => (Number(r) === i ? undefined : `expected ${i}, got ${String(r)}`) };
    },
  },
  lrange: {
    setup: (_, v) => Array.from({ length: RANGE_LISTS }, (_x, i) => ['RPUSH', `lrange:${i}`, ...Array.from({ length: 100 }, () => v)]),
    make: () => ({
      label: 'LRANGE 0 99', payload: resp(['LRANGE', `lrange:${randomBelow(RANGE_LISTS)}`, '0', '99']),
      check: (r) => (Array.isArray(r) && r.length === 100 ? undefined : `expected 100 elements, got ${String(r).slice(0, 40)}`),
    }),
  },
};

/** Sends every command, 256 at a time in flight; throws on the first error reply. */
async function load(conn: Conn, commands: string[][]): Promise<void> {
  let failed: Error | undefined;
  let inflight: Promise<void>[] = [];
  for (const c of commands) {
    inflight.push(conn.call(resp(c)).then((r) => {
      if (r instanceof Error) failed ??= new Error(`${c[0]} ${c[1]}: ${r.message}`);
    }));
    if (inflight.length >= 256) {
      await Promise.all(inflight);
      inflight = [];
    }
  }
  await Promise.all(inflight);
  if (failed) throw failed;
}

/** False when the server answers the command with "unknown command". */
async function supports(conn: Conn, req: Request): Promise<boolean> {
  const r = await conn.call(req.payload);
  return !(r instanceof Error && r.message.startsWith('ERR unknown command'));
}

// ---------------------------------------------------------------- main

interface Target {
  server: Server;
  conns: Conn[];
  memory: MemorySampler;
}

interface Run {
  command: string;
  rate: number;
  server: 'Cairn' | 'Redis';
  result: LoadResult;
}

async function main(): Promise<void> {
  const o = options();
  const started = Date.now();
  const loadStart = os.loadavg();
  const value = 'v'.repeat(o.valueSize);
  const targets: Target[] = [];
  try {
    const cairn = await startCairn({ shards: o.shards, serverArgs: o.serverArgs });
    const redis = o.redis ? await startRedis() : null;
    if (o.redis && !redis) console.log('(redis-server not found: Cairn only)');
    for (const server of redis ? [cairn, redis] : [cairn]) {
      const conns = await Promise.all(Array.from({ length: o.connections }, () => Conn.open(server.port)));
      targets.push({ server, conns, memory: new MemorySampler(server.pid, 500) });
    }
    const commands: string[] = [];
    for (const name of o.commands) {
      if (await supports(targets[0]!.conns[0]!, COMMANDS[name]!.make(o, value))) commands.push(name);
      else console.log(`(skipping ${name}: Cairn does not know it yet)`);
    }
    for (const t of targets) {
      for (const name of commands) await watch(t.server, load(t.conns[0]!, COMMANDS[name]!.setup?.(o, value) ?? []));
    }
    console.log(`Cairn (${cairn.shards} shards)${redis ? ` and Redis ${redis.info.version as string}` : ''}: ` +
      `open loop, ${o.seconds} s per run after ${o.warmup} s of warm-up, ${o.connections} connections per server`);

    const runs: Run[] = [];
    let turn = 0;
    for (const name of commands) {
      const def = COMMANDS[name]!;
      for (const rate of o.rates) {
        // Alternate who goes first, so drift (heat, neighbours) does not favour one server.
        const order = turn++ % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) {
          if (runs.some((r) => r.command === name && r.server === t.server.name && r.result.saturated)) continue; // a higher rate cannot do better
          t.memory.phase = `${name} ${rate}/s`;
          if (o.warmup > 0) await watch(t.server, openLoop(t.conns, { rate, seconds: o.warmup, make: () => def.make(o, value), pacing: o.pacing }));
          const result = await watch(t.server, openLoop(t.conns, { rate, seconds: o.seconds, make: () => def.make(o, value), giveUpBehindMs: GIVE_UP_MS, pacing: o.pacing }));
          if (result.errors > 0) throw new Error(`${t.server.name}: ${result.errors} wrong replies, the first: ${result.firstError}`);
          runs.push({ command: name, rate, server: t.server.name, result });
          const h = result.all;
          console.log(`  ${name.padEnd(7)} ${fmtInt(rate).padStart(7)}/s  ${t.server.name.padEnd(5)} achieved ${fmtInt(result.achieved).padStart(7)}/s  ` +
            `p50 ${ms(h.valueAt(50))}  p99 ${ms(h.valueAt(99))}  p99.9 ${ms(h.valueAt(99.9))}  max ${ms(h.max)} ms` +
            (result.saturated ? '  SATURATED' : '') +
            (result.unanswered ? `  (${result.unanswered} unanswered)` : ''));
        }
      }
    }
    for (const t of targets) t.memory.stop();

    console.log('');
    printTable(summaryRows(runs, o, redis !== null));
    const lagged = runs.filter((r) => r.result.sendLag.valueAt(99) > 1000);
    if (lagged.length) console.log(`note: in ${lagged.length} run(s) the bench sent 1% of requests more than 1 ms late (busy CPU): see send lag in the report`);
    const bench = benchCommand();
    console.log('');
    console.log(`bench: ${bench}`);
    console.log(`machine: ${loadNote(loadStart)}`);
    for (const t of targets) console.log(`${t.server.name} server: ${t.server.command}`);
    const files = report(o, targets, runs, bench, started, loadStart).write('latency', {
      date: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000), options: o, machine: machine(), bench,
      servers: targets.map((t) => ({ name: t.server.name, command: t.server.command, info: t.server.info, peakRss: t.memory.peak.rss, rss: t.memory.samples })),
      runs: runs.map((r) => ({
        command: r.command, rate: r.rate, server: r.server, achieved: r.result.achieved, sent: r.result.sent,
        unanswered: r.result.unanswered, saturated: r.result.saturated, latencyUs: r.result.all.percentiles(), sendLagUs: r.result.sendLag.percentiles(),
        histogram: r.result.all.toJSON(),
      })),
    });
    console.log(`report: ${path.relative(process.cwd(), files.html)}`);
    console.log(`json:   ${path.relative(process.cwd(), files.json)} (${Math.round((Date.now() - started) / 1000)} s)`);
  } catch (e) {
    const tail = targets[0]?.server.tail();
    if (e instanceof Error && tail) e.message += `\n(Cairn log tail)\n${tail.slice(-1500)}`;
    throw e;
  } finally {
    for (const t of targets) {
      t.memory.stop();
      for (const c of t.conns) c.close();
      await t.server.stop();
    }
  }
}

const PCTS = STANDARD_PERCENTILES.filter((p) => p === 50 || p === 99 || p === 99.9 || p === 100);

function summaryRows(runs: Run[], o: Options, withRedis: boolean): string[][] {
  const cols = (h: Histogram): string[] => PCTS.map((p) => ms(h.valueAt(p)));
  const header = ['command', 'rate/s', 'Cairn achieved', 'p50', 'p99', 'p99.9', 'max (ms)'];
  if (withRedis) header.push('Redis achieved', 'p50', 'p99', 'p99.9', 'max (ms)');
  const rows = [header];
  for (const command of new Set(runs.map((r) => r.command))) {
    for (const rate of o.rates) {
      const row = [command.toUpperCase(), fmtInt(rate)];
      for (const server of withRedis ? ['Cairn', 'Redis'] : ['Cairn']) {
        const r = runs.find((x) => x.command === command && x.rate === rate && x.server === server);
        if (r && !r.result.saturated) row.push(fmtInt(r.result.achieved), ...cols(r.result.all));
        else if (r) row.push(`saturated, ${fmtInt(r.result.achieved)}`, ...PCTS.map(() => '-'));
        else row.push('saturated', ...PCTS.map(() => '-'));
      }
      rows.push(row);
    }
  }
  return rows;
}

function report(o: Options, targets: Target[], runs: Run[], bench: string, started: number, loadStart: number[]): Report {
  const r = new Report('Cairn latency at fixed request rates (open loop)');
  const m = machine();
  r.paragraph(`${new Date(started).toISOString()}, ${m.cpus as number} CPUs (${String(m.cpuModel)}), node ${String(m.node)}. ` +
    `Requests leave on a fixed schedule over ${o.connections} connections per server, whatever the replies do; each latency is ` +
    `measured from the request's intended send time, so a stall shows as latency (no coordinated omission). ` +
    `${o.seconds} s measured per command, rate and server, after ${o.warmup} s of warm-up; the servers take turns. ` +
    `The machine may be shared with other work, so figures are noisy: ${loadNote(loadStart)}.`);
  r.code([`bench: ${bench}`, ...targets.map((t) => `${t.server.name}: ${t.server.command}`)].join('\n'));
  r.heading('Summary (latency in ms)');
  const rows = summaryRows(runs, o, targets.length > 1);
  r.table(rows[0]!, rows.slice(1));
  if (runs.some((x) => x.result.saturated)) {
    r.paragraph(`"saturated, N": the server answered less than 90% of the rate (or fell ${GIVE_UP_MS / 1000} s behind the schedule, and the run ` +
      'stopped sending); N is the rate it answered at, about the most it does. Its latencies only measure how long the queue grew during ' +
      'the run, so they are not shown. Higher rates were not run for that server and command; saturated runs are left out of the charts.');
  }
  r.heading('p99 latency against request rate');
  r.chart(lineChart({
    title: 'p99 latency', xLabel: 'requests/s (log)', yLabel: 'p99 latency (ms)', xLog: true, yLog: true,
    series: [...new Set(runs.map((x) => `${x.server} ${x.command.toUpperCase()}`))].map((name) => ({
      name, points: runs.filter((x) => `${x.server} ${x.command.toUpperCase()}` === name && !x.result.saturated).map((x): [number, number] => [x.rate, Math.max(0.001, x.result.all.valueAt(99) / 1000)]),
    })),
  }));
  r.heading('Latency percentile curves');
  for (const command of new Set(runs.map((x) => x.command))) {
    const mine = runs.filter((x) => x.command === command && !x.result.saturated);
    r.chart(percentileChart(`${command.toUpperCase()}: latency by percentile`, mine.map((x) => ({ name: `${x.server} ${fmtInt(x.rate)}/s`, histogram: x.result.all }))));
  }
  r.heading('Server memory');
  r.chart(timeChart('Server RSS over the run', 'RSS (MiB)', targets.map((t) => ({
    name: t.server.name, points: t.memory.samples.map(([at, rss]): [number, number] => [at / 1000, rss / 2 ** 20]),
  }))));
  r.table(['server', 'peak RSS (MiB)'], targets.map((t) => [t.server.name, mib(t.memory.peak.rss)]));
  r.heading('Runs');
  r.paragraph('Send lag: how late the bench itself sent requests (a busy client CPU); it is part of the measured latency.');
  r.table(['command', 'rate/s', 'server', 'sent', 'achieved/s', 'mean (ms)', 'p99.99 (ms)', 'send lag p99 (ms)', 'unanswered', 'saturated'],
    runs.map((x) => [x.command.toUpperCase(), x.rate, x.server, x.result.sent, Math.round(x.result.achieved), ms(x.result.all.mean()),
      ms(x.result.all.valueAt(99.99)), ms(x.result.sendLag.valueAt(99)), x.result.unanswered, x.result.saturated ? 'yes' : '']));
  return r;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
