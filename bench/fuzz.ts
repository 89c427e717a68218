/**
 * The long fuzz run (issue 4): random and truncated RESP and random argument lists for every
 * command in the table, against a real Cairn and, side by side, a reference redis-server.
 *
 *   npm run build && npm run bench:fuzz -- [options]
 *
 *   --seconds T         how long to fuzz, split evenly over the shard counts (300)
 *   --seed N            the run's seed (default: random; printed, so a run can be repeated); the
 *                       i-th shard count fuzzes with seed N + i, so each gets inputs of its own
 *   --shards LIST       Cairn's shard counts, each run in turn (1,4)
 *   --batch B           replay only batch B: `--seed S --shards N --batch B` with the seed, shard
 *                       count and batch a finding names
 *   --batch-size N      commands per batch (200)
 *   --protocol-cases N  protocol cases after each batch (24)
 *   --deadline MS       a batch or PING unanswered this long is a hang (15000)
 *   --no-redis          no reference redis-server (no divergences looked for)
 *
 * Prints the inputs tried, then every crash, hang, bad reply and divergence with the input that
 * produced it and its seed and batch. After a crash or a hang the server is restarted and the run
 * goes on with the next batch. JSON goes to bench/results/; the exit code is 1 if anything but
 * divergences was found. How inputs are made and judged: bench/fuzz-lib.ts.
 */
import { parseArgs } from 'node:util';
import { startServer, type TestServer } from '../test/helpers/server.js';
import { startOracle, type OracleServer } from '../test/helpers/oracle.js';
import { machine, writeResults } from './common.js';
import {
  fuzz, fuzzTargets, formatReport, failures, keyShards, type FuzzReport, type Finding,
} from './fuzz-lib.js';

function options() {
  const { values: v } = parseArgs({
    options: {
      seconds: { type: 'string', default: '300' },
      seed: { type: 'string' },
      shards: { type: 'string', default: '1,4' },
      batch: { type: 'string' },
      'batch-size': { type: 'string', default: '200' },
      'protocol-cases': { type: 'string', default: '24' },
      deadline: { type: 'string', default: '15000' },
      'no-redis': { type: 'boolean', default: false },
    },
  });
  const int = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${text}'`);
    return n;
  };
  return {
    seconds: int('seconds', v.seconds!, 1),
    seed: v.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : int('seed', v.seed, 0),
    shards: v.shards!.split(',').map((s) => int('shards', s.trim(), 1)),
    batch: v.batch === undefined ? undefined : int('batch', v.batch, 0),
    batchSize: int('batch-size', v['batch-size']!, 1),
    protocolCases: int('protocol-cases', v['protocol-cases']!, 0),
    deadline: int('deadline', v.deadline!, 100),
    redis: !v['no-redis'],
  };
}

async function main(): Promise<void> {
  const o = options();
  console.log(`fuzz: seed ${o.seed}, shards ${o.shards.join(',')}, ${o.seconds} s, ${o.batchSize} commands and ${o.protocolCases} protocol cases per batch`);
  const redis: OracleServer | null = o.redis ? await startOracle() : null;
  if (o.redis && !redis) console.log('redis-server is not installed: no divergences are looked for');
  const targets = fuzzTargets();
  const started = Date.now();
  const all: { shards: number; report: FuzzReport }[] = [];
  let exitCode = 0;
  try {
    for (const [i, shards] of o.shards.entries()) {
      const until = started + (o.seconds * 1000 * (i + 1)) / o.shards.length;
      const seed = o.seed + i;
      const reached = keyShards(shards).size;
      console.log(`\n-- ${shards} shard(s), seed ${seed}; the fuzz keys live on ${reached} of them`);
      let firstBatch = o.batch ?? 0;
      const segStart = Date.now();
      while (Date.now() < until) {
        const server: TestServer = await startServer({ shards });
        let lastLine = Date.now();
        const report = await fuzz({
          seed, cairn: { port: server.port, alive: () => server.proc.exitCode === null && server.proc.signalCode === null },
          redis: redis ? { port: redis.port, alive: () => redis.proc.exitCode === null } : null,
          targets, firstBatch, batches: o.batch === undefined ? undefined : 1, until,
          batchSize: o.batchSize, protocolCases: o.protocolCases, deadlineMs: o.deadline,
          onBatch: (r) => {
            if (Date.now() - lastLine < 10_000) return;
            lastLine = Date.now();
            console.log(`  ${((Date.now() - segStart) / 1000).toFixed(0)} s: ${r.commands} commands, ${r.protocolCases} protocol cases, ${r.findings.length} findings`);
          },
        });
        all.push({ shards, report });
        console.log(formatReport(report, (Date.now() - segStart) / 1000));
        if (report.stoppedBy) {
          console.log(`  server output (last 3000 chars):\n${server.output().slice(-3000)}`);
          await server.kill();
        } else {
          await server.stop();
        }
        if (o.batch !== undefined) break;
        // Go on after the batch that stopped the run, with a fresh server.
        firstBatch += report.batches + 1;
      }
      if (o.batch !== undefined) break;
    }
  } finally {
    await redis?.stop();
  }
  const sum = (f: (r: FuzzReport) => number): number => all.reduce((a, x) => a + f(x.report), 0);
  const found: Finding[] = all.flatMap((x) => x.report.findings);
  const fails = all.flatMap((x) => failures(x.report));
  console.log(`\n== inputs tried: ${sum((r) => r.commands)} commands, ${sum((r) => r.protocolCases)} protocol cases in ${((Date.now() - started) / 1000).toFixed(0)} s (seed ${o.seed})`);
  console.log(`== crashes ${found.filter((f) => f.kind === 'crash').length}, hangs ${found.filter((f) => f.kind === 'hang' || f.kind === 'starved').length}, ` +
    `bad replies ${found.filter((f) => f.kind === 'bad-reply').length}, divergences ${found.filter((f) => f.kind === 'divergence').length}`);
  if (fails.length > 0) exitCode = 1;
  const file = writeResults('fuzz', {
    options: o, machine: machine(),
    runs: all.map(({ shards, report }) => ({ shards, ...report, calls: Object.fromEntries(report.calls) })),
  });
  console.log(`results: ${file}`);
  process.exitCode = exitCode;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(2);
});
