/**
 * Micro bench of the request decoder (src/server/resp/decoder.ts) against redis-parser
 * (returnBuffers: true, the binary-safe mode), on the inputs a server really gets.
 *
 *   npm run build && npm run bench:decoder -- [--runs 7] [--scale 1]
 *
 * Each input is a list of socket-sized chunks. A run feeds all of them to a fresh parser
 * `iterations` times; the parsers alternate within each run. The table shows the median
 * commands/s (and MB/s) over the runs; JSON goes to bench/results/.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import RedisParser from 'redis-parser';
import { RequestDecoder } from '../src/server/resp/decoder.js';
import { median, fmtInt, fmtRatio, printTable, machine, writeResults } from './common.js';

const CHUNK = 64 * 1024; // what a Node socket read delivers under load

interface Input {
  name: string;
  chunks: Buffer[];
  commands: number;
  bytes: number;
  iterations: number;
}

function request(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** redis-benchmark's shape: SET key:<12 digits> xxx and GET key:<12 digits>, alternating. */
function smallCommands(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const key = `key:${String(i * 7919 % 100000).padStart(12, '0')}`;
    return i % 2 === 0 ? request('SET', key, 'xxx') : request('GET', key);
  });
}

/** Cuts `data` into fixed-size chunks, ignoring command boundaries (as TCP does). */
function chunked(data: Buffer, size = CHUNK): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

/** Groups whole commands `per` to a chunk (a -P <per> client's writes). */
function grouped(cmds: Buffer[], per: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < cmds.length; i += per) out.push(Buffer.concat(cmds.slice(i, i + per)));
  return out;
}

function input(name: string, chunks: Buffer[], commands: number, iterations: number): Input {
  return { name, chunks, commands, bytes: chunks.reduce((n, c) => n + c.length, 0), iterations };
}

function inputs(scale: number): Input[] {
  const small = smallCommands(20_000);
  const it = (n: number): number => Math.max(1, Math.round(n * scale));
  const big = (size: number, count: number): Buffer =>
    Buffer.concat(Array.from({ length: count }, (_, i) => request('SET', `big:${i}`, randomBytes(size))));
  return [
    input('SET/GET, one command per chunk (-P 1)', small, small.length, it(10)),
    input('SET/GET, 16 commands per chunk (-P 16)', grouped(small, 16), small.length, it(10)),
    input('SET/GET pipeline, 64 KB chunks', chunked(Buffer.concat(small)), small.length, it(10)),
    input('SET 1 KB values, 64 KB chunks', chunked(big(1024, 2000)), 2000, it(20)),
    input('SET 100 KB values, 64 KB chunks', chunked(big(100 * 1024, 100)), 100, it(20)),
    input('SET 4 MB values, 64 KB chunks', chunked(big(4 * 1024 * 1024, 4)), 4, it(5)),
  ];
}

type Feeder = (chunks: Buffer[]) => number;

const LIMITS = { maxBulkLen: () => 512 * 1024 * 1024, maxQueryBuffer: () => 1024 * 1024 * 1024 };

/** Feeds every chunk to a fresh Cairn decoder; returns the commands it produced. */
function cairn(chunks: Buffer[], seen?: Buffer[][]): number {
  let n = 0;
  const d = new RequestDecoder(LIMITS);
  const sink = (args: Buffer[]): void => {
    n++;
    seen?.push(args);
  };
  for (const c of chunks) d.feed(c, sink);
  return n;
}

/** Feeds every chunk to a fresh redis-parser; returns the commands it produced. */
function redisParser(chunks: Buffer[], seen?: Buffer[][]): number {
  let n = 0;
  const p = new RedisParser({
    returnBuffers: true,
    returnReply: (reply: Buffer[]) => {
      n++;
      seen?.push(reply);
    },
    returnError: (e) => {
      throw e;
    },
  });
  for (const c of chunks) p.execute(c);
  return n;
}

const PARSERS: [string, Feeder][] = [['Cairn RequestDecoder', cairn], ['redis-parser', redisParser]];

/** Both parsers must see the same commands, or the timing compares nothing. */
function checkAgree(inp: Input): void {
  const a: Buffer[][] = [];
  const b: Buffer[][] = [];
  cairn(inp.chunks, a);
  redisParser(inp.chunks, b);
  const same = a.length === inp.commands && b.length === inp.commands &&
    a.every((args, i) => args.length === b[i]!.length && args.every((x, j) => x.equals(b[i]![j]!)));
  if (!same) throw new Error(`${inp.name}: the parsers disagree (${a.length} vs ${b.length} commands)`);
}

/** Seconds for `iterations` passes of one parser over the input. */
function timeOnce(feed: Feeder, inp: Input): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < inp.iterations; i++) {
    if (feed(inp.chunks) !== inp.commands) throw new Error(`${inp.name}: lost commands`);
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function main(): void {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, scale: { type: 'string', default: '1' } } });
  const runs = Number(values.runs);
  const scale = Number(values.scale);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got '${values.runs}'`);
  if (!(scale > 0)) throw new Error(`--scale must be positive, got '${values.scale}'`);

  const results = [];
  for (const inp of inputs(scale)) {
    checkAgree(inp);
    for (const [, feed] of PARSERS) timeOnce(feed, inp); // warm-up
    const secs: number[][] = PARSERS.map(() => []);
    for (let r = 0; r < runs; r++) {
      // Alternate the order so neither parser always runs on a colder or hotter machine.
      const order = r % 2 === 0 ? [0, 1] : [1, 0];
      for (const p of order) secs[p]!.push(timeOnce(PARSERS[p]![1], inp));
    }
    const opsPerSec = secs.map((s) => median(s.map((t) => (inp.commands * inp.iterations) / t)));
    const mbPerSec = secs.map((s) => median(s.map((t) => (inp.bytes * inp.iterations) / t / 2 ** 20)));
    results.push({ input: inp.name, commands: inp.commands, bytes: inp.bytes, chunks: inp.chunks.length, iterations: inp.iterations,
      cairnOps: opsPerSec[0]!, parserOps: opsPerSec[1]!, cairnMBs: mbPerSec[0]!, parserMBs: mbPerSec[1]!, ratio: opsPerSec[0]! / opsPerSec[1]! });
  }

  console.log(`Request decoding, median of ${runs} runs (node ${process.version})`);
  printTable([
    ['input', 'Cairn cmds/s', 'redis-parser cmds/s', 'Cairn MB/s', 'parser MB/s', 'Cairn/parser', 'faster'],
    ...results.map((r) => [r.input, fmtInt(r.cairnOps), fmtInt(r.parserOps), fmtInt(r.cairnMBs), fmtInt(r.parserMBs),
      fmtRatio(r.ratio), r.ratio >= 1 ? 'Cairn' : 'redis-parser']),
  ]);
  const file = writeResults('decoder', { date: new Date().toISOString(), runs, scale, machine: machine(), results });
  console.log(`results: ${file}`);
}

main();
