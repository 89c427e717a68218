/**
 * The background sweep under a big DEL (or FLUSHDB): does a shard keep answering while the pool
 * deletes a huge collection's records (or a flushed database's), how long does the sweep take,
 * and does the disk space come back?
 *
 *   npm run build && npm run bench:sweep -- [options]
 *
 *   --flushdb         FLUSHDB a database of --fields string keys (a quarter with a TTL) instead of
 *                     DEL of one hash; the probe reads database 0
 *   --fields N        fields of the hash that is deleted, or keys of the flushed database (1000000)
 *   --value-bytes B   bytes per field value (32)
 *   --shards S        Cairn's --shards (1); the probed key is on the hash's shard
 *   --baseline-ms T   how long GET latency is measured before the DEL (2000)
 *   --gap-ms G        pause between two GETs of the probe (1); 0 sends the next GET at once
 *   --server-args="..."  more Cairn options (`--databases 256` leaves FLUSHDB no free database id:
 *                     it then deletes key by key, for comparison)
 *
 * Steps: build the hash with pipelined HSETs (1000 fields each), measure GET latency of another
 * key on the same shard (one GET at a time, a pause between two, each round trip as the client
 * sees it: a light, steady load rather than a saturating one), DEL the hash, keep
 * measuring while the sweep runs (INFO polled on another connection every 100 ms until the
 * backlog is empty and nothing runs), then compare the data directory's size before and after.
 * Prints the figures; JSON goes to bench/results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { fmtInt, printTable, machine, writeResults, summarize, probe, intOption, words } from './common.js';
import { diskBytes } from '../src/util/files.js';
import { startCairn } from './servers.js';
import { keyShard } from '../src/server/slot.js';
import { parseInfo } from './conn.js';

interface Options {
  flushdb: boolean;
  fields: number;
  valueBytes: number;
  shards: number;
  baselineMs: number;
  gapMs: number;
  serverArgs: string[];
}

function options(): Options {
  const { values: v } = parseArgs({
    options: {
      flushdb: { type: 'boolean', default: false },
      fields: { type: 'string', default: '1000000' },
      'value-bytes': { type: 'string', default: '32' },
      shards: { type: 'string', default: '1' },
      'baseline-ms': { type: 'string', default: '2000' },
      'gap-ms': { type: 'string', default: '1' },
      'server-args': { type: 'string', default: '' },
    },
  });
  return {
    flushdb: v.flushdb!,
    fields: intOption('fields', v.fields!, 1),
    valueBytes: intOption('value-bytes', v['value-bytes']!, 0),
    shards: intOption('shards', v.shards!, 1),
    baselineMs: intOption('baseline-ms', v['baseline-ms']!, 100),
    gapMs: intOption('gap-ms', v['gap-ms']!, 0),
    serverArgs: words(v['server-args']!),
  };
}

async function info(r: Redis): Promise<Record<string, string>> {
  return parseInfo((await r.call('INFO', 'stats')) as string);
}

/** A key of the same shard as `of`. */
function neighbour(of: string, shards: number): string {
  for (let i = 0; ; i++) if (keyShard(Buffer.from(`probe:${i}`), shards) === keyShard(Buffer.from(of), shards)) return `probe:${i}`;
}

async function main(): Promise<void> {
  const o = options();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-sweep-'));
  const server = await startCairn({ dir, shards: o.shards, serverArgs: o.serverArgs });
  const r = new Redis(server.port, '127.0.0.1', { enableReadyCheck: false, protocol: 2 });
  const watcher = new Redis(server.port, '127.0.0.1', { enableReadyCheck: false, protocol: 2 });
  try {
    const key = 'big';
    const probeKey = neighbour(key, o.shards);
    await r.set(probeKey, 'x'.repeat(16));
    // FLUSHDB empties database 1 (its own connection); DEL deletes the hash from database 0.
    const target = o.flushdb ? new Redis(server.port, '127.0.0.1', { enableReadyCheck: false, protocol: 2, db: 1 }) : r;

    const what = o.flushdb ? `a database of ${fmtInt(o.fields)} string keys` : `a ${fmtInt(o.fields)}-field hash`;
    console.log(`building ${what} (${o.valueBytes}-byte values), ${o.shards} shard(s)...`);
    const built = performance.now();
    const value = 'v'.repeat(o.valueBytes);
    const inflight = new Set<Promise<unknown>>();
    for (let i = 0; i < o.fields; i += 1000) {
      const end = Math.min(o.fields, i + 1000);
      let p: Promise<unknown>;
      if (o.flushdb) {
        const m = target.pipeline();
        for (let j = i; j < end; j++) {
          if (j % 4 === 0) m.set(`key:${j}`, value, 'EX', 100_000);
          else m.set(`key:${j}`, value);
        }
        p = m.exec();
      } else {
        const args: string[] = [key];
        for (let j = i; j < end; j++) args.push(`field:${j}`, value);
        p = r.call('HSET', ...args);
      }
      const q = p.finally(() => inflight.delete(q));
      inflight.add(q);
      if (inflight.size >= 16) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    const buildMs = performance.now() - built;
    const size = o.flushdb ? await target.dbsize() : await r.call('HLEN', key);
    if (size !== o.fields) throw new Error(`${o.flushdb ? 'DBSIZE' : 'HLEN'} disagrees with what was written`);
    // Let LevelDB settle (memtable flushes, compactions of the build) before measuring.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const diskBefore = diskBytes(dir);

    const baselineEnd = performance.now() + o.baselineMs;
    const baseline = summarize(await probe(() => r.get(probeKey), o.gapMs, () => performance.now() >= baselineEnd));

    const start = await info(watcher);
    const delStarted = performance.now();
    if (o.flushdb) await target.flushdb();
    else await r.del(key);
    const delMs = performance.now() - delStarted;
    let sweeping = true;
    let sweepMs = NaN;
    const poller = (async () => {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const s = await info(watcher);
        if (s.sweep_pending_versions === '0' && s.sweep_pending_flushed_dbs === '0' && s.sweep_running === '0') {
          sweepMs = performance.now() - delStarted;
          sweeping = false;
          return s;
        }
      }
    })();
    const during = summarize(await probe(() => r.get(probeKey), o.gapMs, () => !sweeping));
    const end = await poller;
    // The file reaper frees what the compactions deleted within a second (src/shard/file-reaper.ts).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const diskAfter = diskBytes(dir);
    if (target !== r) target.disconnect();

    const deleted = Number(end.sweep_deleted_subkeys) - Number(start.sweep_deleted_subkeys);
    const ms = (us: number): string => (us / 1000).toFixed(3);
    console.log();
    printTable([
      ['GET latency (ms)', 'GETs', 'p50', 'p99', 'p99.9', 'max'],
      [`before the ${o.flushdb ? 'FLUSHDB' : 'DEL'}`, fmtInt(baseline.gets), ms(baseline.p50), ms(baseline.p99), ms(baseline.p999), ms(baseline.max)],
      ['while sweeping', fmtInt(during.gets), ms(during.p50), ms(during.p99), ms(during.p999), ms(during.max)],
    ]);
    console.log();
    printTable([
      ['figure', 'value'],
      [o.flushdb ? 'build (pipelined SETs, s)' : 'hash build (HSET, s)', (buildMs / 1000).toFixed(2)],
      [`${o.flushdb ? 'FLUSHDB' : 'DEL'} reply (ms)`, delMs.toFixed(3)],
      ['sweep incl. compaction (s)', (sweepMs / 1000).toFixed(2)],
      ['records deleted', fmtInt(deleted)],
      ['records/s', fmtInt(deleted / (sweepMs / 1000))],
      ['disk before (MiB)', (diskBefore / 2 ** 20).toFixed(1)],
      ['disk after (MiB)', (diskAfter / 2 ** 20).toFixed(1)],
    ]);
    const file = writeResults('sweep', {
      options: o, machine: machine(), buildMs, delMs, sweepMs, deleted, diskBefore, diskAfter,
      latencyUs: { baseline, during },
    });
    console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
  } finally {
    r.disconnect();
    watcher.disconnect();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
