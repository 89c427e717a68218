/**
 * Crash test, long form of test/persistence.test.ts: clients write known values (strings, hash
 * fields, list, set and sorted-set elements, a counter) and record what was acknowledged; the
 * server is killed with SIGKILL at a random moment, restarted on the same directory, and every
 * acknowledged write must be there with its value, DBSIZE must match the keys found, and no
 * shard may fail to open. Exits 1 on any loss, corruption, DBSIZE mismatch or open failure.
 *
 *   npm run build && npm run bench:crash -- [options]
 *
 *   --rounds R       kill/restart rounds (20)
 *   --shards S       Cairn's --shards (2)
 *   --clients C      connections writing at once, each with --inflight step pairs in flight (4)
 *   --inflight I     (16)
 *   --min-ms, --max-ms   the kill comes this long after the first acknowledged write (20, 1000)
 *   --dir D          data directory (default: a new temp dir, removed after a clean run)
 *   --server-args "..."  more Cairn options (e.g. "--appendfsync always")
 *
 * The workload and the checks are test/helpers/crash.ts, shared with the test. Prints one line per
 * round and the totals; JSON goes to bench/results/.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { fmtInt, machine, writeResults, intOption as int } from './common.js';
import { startServer, tempDir, type TestServer } from '../test/helpers/server.js';
import { connect } from '../test/helpers/client.js';
import { fragileClient, writeUntilGone, verifyClient, type ClientLog } from '../test/helpers/crash.js';

interface Options {
  rounds: number;
  shards: number;
  clients: number;
  inflight: number;
  minMs: number;
  maxMs: number;
  dir: string | null;
  serverArgs: string[];
}

function options(): Options {
  const { values: v } = parseArgs({
    options: {
      rounds: { type: 'string', default: '20' },
      shards: { type: 'string', default: '2' },
      clients: { type: 'string', default: '4' },
      inflight: { type: 'string', default: '16' },
      'min-ms': { type: 'string', default: '20' },
      'max-ms': { type: 'string', default: '1000' },
      dir: { type: 'string' },
      'server-args': { type: 'string', default: '' },
    },
  });
  const o: Options = {
    rounds: int('rounds', v.rounds!, 1),
    shards: int('shards', v.shards!, 1),
    clients: int('clients', v.clients!, 1),
    inflight: int('inflight', v.inflight!, 1),
    minMs: int('min-ms', v['min-ms']!, 0),
    maxMs: int('max-ms', v['max-ms']!, 0),
    dir: v.dir ?? null,
    serverArgs: v['server-args']!.split(/\s+/).filter(Boolean),
  };
  if (o.maxMs < o.minMs) throw new Error('--max-ms must be >= --min-ms');
  return o;
}

interface Round {
  round: number;
  killedAfterMs: number;
  writesAcked: number;
  writesSent: number;
  lost: number;
  corrupt: number;
  dbsize: number;
  keysExpected: number;
  restartMs: number;
  /** The first few problems found, for the report. */
  problems: string[];
}

let current: TestServer | null = null;
process.on('exit', () => current?.proc.kill('SIGKILL'));
process.on('SIGINT', () => process.exit(130));

async function main(): Promise<void> {
  const o = options();
  const dir = o.dir ?? tempDir('cairn-crash-');
  const start = (): Promise<TestServer> => startServer({ shards: o.shards, dir, args: o.serverArgs });
  console.log(`crash test: ${o.rounds} rounds, ${o.shards} shards, ${o.clients} clients x ${o.inflight} in flight, ` +
    `SIGKILL ${o.minMs}-${o.maxMs} ms after the first acknowledged write; data in ${dir}`);
  const rounds: Round[] = [];
  let openFailures = 0;
  let keysExpected = 0;
  current = await start();
  for (let round = 0; round < o.rounds; round++) {
    const clients = await Promise.all(Array.from({ length: o.clients }, () => fragileClient(current!.port)));
    const work = clients.map((r, c) => writeUntilGone(r, `r${round}:c${c}:`, o.inflight));
    await Promise.race(work.map((w) => w.acked));
    const killedAfterMs = o.minMs + Math.floor(Math.random() * (o.maxMs - o.minMs + 1));
    await new Promise((res) => setTimeout(res, killedAfterMs));
    await current.kill();
    await Promise.all(work.map((w) => w.done));
    for (const r of clients) r.disconnect();

    const t = performance.now();
    try {
      current = await start();
    } catch (e) {
      openFailures++;
      current = null;
      console.log(`round ${round}: the server did not start again on ${dir}:\n${(e as Error).message}`);
      break;
    }
    const restartMs = performance.now() - t;
    const check = connect(current.port);
    const logs: ClientLog[] = work.map((w) => w.log);
    const rd: Round = {
      round, killedAfterMs, restartMs, writesAcked: 0, writesSent: 0, lost: 0, corrupt: 0, dbsize: 0, keysExpected: 0, problems: [],
    };
    for (const log of logs) {
      const v = await verifyClient(check, log);
      rd.writesAcked += log.writesAcked;
      rd.writesSent += 2 * (log.counterSent + 1);
      rd.lost += v.lost.length;
      rd.corrupt += v.corrupt.length;
      keysExpected += v.keysPresent;
      for (const p of [...v.lost.map((x) => `lost ${x}`), ...v.corrupt.map((x) => `corrupt ${x}`)]) {
        if (rd.problems.length < 10) rd.problems.push(p);
      }
    }
    rd.keysExpected = keysExpected;
    rd.dbsize = await check.dbsize();
    check.disconnect();
    rounds.push(rd);
    const bad = rd.lost > 0 || rd.corrupt > 0 || rd.dbsize !== rd.keysExpected;
    console.log(`round ${String(round + 1).padStart(3)}/${o.rounds}: killed after ${String(killedAfterMs).padStart(4)} ms, ` +
      `${fmtInt(rd.writesAcked)} writes acknowledged (${fmtInt(rd.writesSent)} sent), lost ${rd.lost}, corrupt ${rd.corrupt}, ` +
      `DBSIZE ${fmtInt(rd.dbsize)}${rd.dbsize === rd.keysExpected ? '' : ` != ${fmtInt(rd.keysExpected)} expected`}, ` +
      `restart ${Math.round(restartMs)} ms${bad ? '  <-- FAILED' : ''}`);
    for (const p of rd.problems) console.log(`    ${p}`);
  }
  if (current) await current.stop();

  const sum = (f: (r: Round) => number): number => rounds.reduce((a, r) => a + f(r), 0);
  const totals = {
    rounds: rounds.length,
    writesAcknowledged: sum((r) => r.writesAcked),
    writesLost: sum((r) => r.lost),
    corrupt: sum((r) => r.corrupt),
    dbsizeMismatches: rounds.filter((r) => r.dbsize !== r.keysExpected).length,
    openFailures,
  };
  console.log(`\ntotal: ${totals.rounds} rounds, ${fmtInt(totals.writesAcknowledged)} writes acknowledged, ` +
    `${totals.writesLost} lost, ${totals.corrupt} corrupt, ${totals.dbsizeMismatches} DBSIZE mismatches, ${totals.openFailures} open failures`);
  const file = writeResults('crash', { options: o, machine: machine(), totals, rounds });
  console.log(`results: ${file}`);
  const ok = totals.writesLost === 0 && totals.corrupt === 0 && totals.dbsizeMismatches === 0 && openFailures === 0 && rounds.length === o.rounds;
  if (ok && o.dir === null) fs.rmSync(dir, { recursive: true, force: true });
  if (!ok) {
    console.log(`FAILED; the data directory is kept: ${dir}`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
