/**
 * The bounded fuzz run (issue 4): fixed seeds, every command and subcommand of the table with
 * random arguments, plus random and truncated RESP, against Cairn with 1 and 4 shards. The server
 * must never crash, hang, starve another client or send a reply that is not RESP (or an internal
 * error). Divergences from a reference redis-server are printed, not failed. The long run, with
 * any seed: `npm run bench:fuzz` (bench/fuzz.ts); how inputs are made and judged: bench/fuzz-lib.ts.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';
import { startOracle, type OracleServer } from './helpers/oracle.js';
import {
  fuzz, fuzzTargets, formatReport, failures, keyShards, type FuzzTarget,
} from '../bench/fuzz-lib.js';

let redis: OracleServer | null = null;
let targets: FuzzTarget[] = [];

beforeAll(async () => {
  redis = await startOracle();
  targets = fuzzTargets();
});

afterAll(async () => {
  await redis?.stop();
});

describe.each([
  { shards: 1, seed: 20240401 },
  { shards: 4, seed: 7 },
])('fuzz with $shards shard(s), seed $seed', ({ shards, seed }) => {
  let srv: TestServer;

  beforeAll(async () => {
    srv = await startServer({ shards });
  });

  afterAll(async () => {
    await srv?.kill();
  });

  it('the fuzz keys reach every shard, so single- and cross-shard paths both run', () => {
    expect(keyShards(shards).size).toBe(shards);
  });

  it('survives random commands and RESP: no crash, hang, starved client or bad reply', async () => {
    const started = Date.now();
    const report = await fuzz({
      seed, targets, batches: 12, batchSize: 150, protocolCases: 16, parallel: 16,
      cairn: { port: srv.port, alive: () => srv.proc.exitCode === null && srv.proc.signalCode === null },
      redis: redis ? { port: redis.port, alive: () => redis!.proc.exitCode === null } : null,
      deadlineMs: 10_000,
    });
    const text = formatReport(report, (Date.now() - started) / 1000);
    console.log(text);
    expect(failures(report), text).toEqual([]);
    expect(report.stoppedBy).toBeUndefined();
    // Every command and subcommand of the table was called (the first batches walk it in order).
    expect(targets.filter((t) => !report.calls.has(t.spec.name)).map((t) => t.spec.name)).toEqual([]);
    expect(report.commands).toBeGreaterThan(1000);
    expect(report.protocolCases).toBe(12 * 16);
    expect(srv.proc.exitCode).toBeNull();
  }, 60_000);
});
