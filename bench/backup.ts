/**
 * BGSAVE under load: how long clients wait at the snapshot moment, how a light client's latency
 * looks while the pool copies, and how fast the copy goes.
 *
 *   npm run build && npm run bench:backup -- [options]
 *
 *   --records N       hash fields written before the backup, in hashes of 1000 (1000000)
 *   --value-bytes B   bytes per field value (32)
 *   --shards S        Cairn's --shards (2)
 *   --baseline-ms T   how long latency is measured before the BGSAVE (2000)
 *   --gap-ms G        pause between two requests of a probe (1)
 *
 * Steps: build the hashes (pipelined HSETs of 1000 fields), let LevelDB settle, then two probes
 * run side by side, each one request at a time: GET of a key per shard in turn, and SET of a key
 * per shard in turn (writes pass through the group commit the snapshot waits for). Measured before
 * the BGSAVE and while it runs (INFO polled on another connection every 50 ms). The BGSAVE reply
 * comes after the snapshot moment (it includes starting the pool's thread on a first backup);
 * INFO backup_last_pause_usec is how long every shard was reserved for it.
 * Prints the figures; JSON goes to bench/results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { fmtInt, printTable, machine, writeResults, dirBytes, summarize, probe, type Latency, intOption } from './common.js';
import { startCairn } from './servers.js';
import { keyShard } from '../src/server/slot.js';
import { parseInfo } from './conn.js';

interface Options {
  records: number;
  valueBytes: number;
  shards: number;
  baselineMs: number;
  gapMs: number;
}

function options(): Options {
  const { values: v } = parseArgs({
    options: {
      records: { type: 'string', default: '1000000' },
      'value-bytes': { type: 'string', default: '32' },
      shards: { type: 'string', default: '2' },
      'baseline-ms': { type: 'string', default: '2000' },
      'gap-ms': { type: 'string', default: '1' },
    },
  });
  return {
    records: intOption('records', v.records!, 1000),
    valueBytes: intOption('value-bytes', v['value-bytes']!, 0),
    shards: intOption('shards', v.shards!, 1),
    baselineMs: intOption('baseline-ms', v['baseline-ms']!, 100),
    gapMs: intOption('gap-ms', v['gap-ms']!, 0),
  };
}

async function info(r: Redis): Promise<Record<string, string>> {
  return parseInfo((await r.call('INFO', 'persistence')) as string);
}

/** One key name per shard. */
function keyPerShard(prefix: string, shards: number): string[] {
  const out: string[] = new Array(shards);
  let found = 0;
  for (let i = 0; found < shards; i++) {
    const k = `${prefix}${i}`;
    const s = keyShard(Buffer.from(k), shards);
    if (out[s] === undefined) {
      out[s] = k;
      found++;
    }
  }
  return out;
}

/** GET and SET probes side by side until `stop()`. */
async function probes(reader: Redis, writer: Redis, keys: string[], gapMs: number, stop: () => boolean): Promise<{ get: Latency; set: Latency }> {
  let g = 0;
  let s = 0;
  const [gets, sets] = await Promise.all([
    probe(() => reader.get(keys[g++ % keys.length]!), gapMs, stop),
    probe(() => writer.set(keys[s++ % keys.length]!, String(s)), gapMs, stop),
  ]);
  return { get: summarize(gets), set: summarize(sets) };
}

async function main(): Promise<void> {
  const o = options();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-backup-'));
  const server = await startCairn({ dir, shards: o.shards });
  const conn = (): Redis => new Redis(server.port, '127.0.0.1', { enableReadyCheck: false, protocol: 2 });
  const [r, reader, writer, watcher] = [conn(), conn(), conn(), conn()];
  try {
    console.log(`writing ${fmtInt(o.records)} hash fields (${o.valueBytes}-byte values), ${o.shards} shard(s)...`);
    const value = 'v'.repeat(o.valueBytes);
    const inflight = new Set<Promise<unknown>>();
    for (let i = 0; i < o.records; i += 1000) {
      const args: string[] = [`hash:${i / 1000}`];
      for (let j = i; j < Math.min(o.records, i + 1000); j++) args.push(`field:${j}`, value);
      const p = r.call('HSET', ...args).finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= 16) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    const keys = keyPerShard('probe:', o.shards);
    for (const k of keys) await r.set(k, 'x'.repeat(16));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const dataBytes = dirBytes(dir);

    const baselineEnd = performance.now() + o.baselineMs;
    const baseline = await probes(reader, writer, keys, o.gapMs, () => performance.now() >= baselineEnd);

    let saving = true;
    const started = performance.now();
    let replyMs = NaN;
    let totalMs = NaN;
    const bgsave = r.call('BGSAVE').then(() => (replyMs = performance.now() - started));
    const poller = (async () => {
      await bgsave;
      for (;;) {
        const i = await info(watcher);
        if (i.rdb_bgsave_in_progress === '0') {
          totalMs = performance.now() - started;
          saving = false;
          return i;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const during = await probes(reader, writer, keys, o.gapMs, () => !saving);
    const end = await poller;
    if (end.rdb_last_bgsave_status !== 'ok') throw new Error('the BGSAVE failed');
    const bytes = Number(end.backup_last_bytes);
    const pauseUsec = Number(end.backup_last_pause_usec);

    const ms = (us: number): string => (us / 1000).toFixed(3);
    console.log();
    printTable([
      ['latency (ms)', 'requests', 'p50', 'p99', 'p99.9', 'max'],
      ['GET, before', fmtInt(baseline.get.gets), ms(baseline.get.p50), ms(baseline.get.p99), ms(baseline.get.p999), ms(baseline.get.max)],
      ['GET, during BGSAVE', fmtInt(during.get.gets), ms(during.get.p50), ms(during.get.p99), ms(during.get.p999), ms(during.get.max)],
      ['SET, before', fmtInt(baseline.set.gets), ms(baseline.set.p50), ms(baseline.set.p99), ms(baseline.set.p999), ms(baseline.set.max)],
      ['SET, during BGSAVE', fmtInt(during.set.gets), ms(during.set.p50), ms(during.set.p99), ms(during.set.p999), ms(during.set.max)],
    ]);
    console.log();
    printTable([
      ['figure', 'value'],
      ['BGSAVE reply (ms)', replyMs.toFixed(3)],
      ['shards reserved for the snapshot (ms)', (pauseUsec / 1000).toFixed(3)],
      ['backup complete (s)', (totalMs / 1000).toFixed(2)],
      ['records/s', fmtInt(o.records / (totalMs / 1000))],
      ['data dir (MiB)', (dataBytes / 2 ** 20).toFixed(1)],
      ['backup (MiB)', (bytes / 2 ** 20).toFixed(1)],
    ]);
    const file = writeResults('backup', {
      options: o, machine: machine(), replyMs, pauseUsec, totalMs, dataBytes, backupBytes: bytes, latencyUs: { baseline, during },
    });
    console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
  } finally {
    for (const c of [r, reader, writer, watcher]) c.disconnect();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
