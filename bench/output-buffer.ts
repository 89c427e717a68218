/**
 * Memory held for clients that send a big pipeline and never read their replies.
 *
 *   npm run build && npm run bench:output-buffer -- [options]
 *
 *   --clients C        connections that never read (4)
 *   --commands N       GETs each one sends in one write (20000)
 *   --value-kb K       size of the value they GET (100)
 *   --seconds S        how long to watch the server after they wrote (5)
 *   --server-args="…" extra Cairn arguments, e.g. --server-args="--client-output-buffer-limit 'normal 1mb 0 0'"
 *
 * With no limit (Redis' default "normal 0 0 0") those replies would take C x N x K KB; the
 * server's VmRSS (/proc/<pid>/status) is sampled every 100 ms and compared with its value before
 * the clients connect. INFO tells how many GETs ran and CLIENT LIST each client's unsent bytes.
 */
import net from 'node:net';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { startServer } from '../test/helpers/server.js';
import { splitConfigLine } from '../src/config.js';
import { fmtInt, printTable, machine, writeResults } from './common.js';

const { values: v } = parseArgs({
  options: {
    clients: { type: 'string', default: '4' },
    commands: { type: 'string', default: '20000' },
    'value-kb': { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    'server-args': { type: 'string', default: '' },
  },
});
const o = {
  clients: Number(v.clients), commands: Number(v.commands), valueKb: Number(v['value-kb']),
  seconds: Number(v.seconds), serverArgs: splitConfigLine(v['server-args']!) ?? [],
};

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** One command on its own connection; resolves with its reply (a bulk string's content, or the line). */
async function ask(port: number, command: string): Promise<string> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  s.write(command);
  let buf = Buffer.alloc(0);
  try {
    for (;;) {
      buf = Buffer.concat([buf, await new Promise<Buffer>((resolve, reject) => {
        s.once('data', resolve);
        s.once('close', () => reject(new Error(`connection closed; got ${JSON.stringify(buf.toString())}`)));
      })]);
      const eol = buf.indexOf('\r\n');
      if (eol < 0) continue;
      if (buf[0] !== 0x24 /* $ */) return buf.subarray(0, eol).toString();
      const len = Number(buf.subarray(1, eol).toString());
      if (buf.length >= eol + 2 + len + 2) return buf.subarray(eol + 2, eol + 2 + len).toString();
    }
  } finally {
    s.destroy();
  }
}

async function main(): Promise<void> {
  const server = await startServer({ shards: 2, args: o.serverArgs });
  const pid = server.proc.pid!;
  try {
    const value = 'v'.repeat(o.valueKb * 1024);
    await ask(server.port, `*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${value.length}\r\n${value}\r\n`);
    const before = rssOf(pid);
    const sockets: net.Socket[] = [];
    const get = '*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n'.repeat(o.commands);
    for (let i = 0; i < o.clients; i++) {
      const s = net.connect(server.port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((r) => s.once('connect', r));
      s.pause();
      s.write(get);
      sockets.push(s);
    }
    let peak = before;
    const t0 = Date.now();
    while (Date.now() - t0 < o.seconds * 1000) {
      peak = Math.max(peak, rssOf(pid));
      await sleep(100);
    }
    const after = rssOf(pid);
    peak = Math.max(peak, after);
    const calls = Number(/cmdstat_get:calls=(\d+)/.exec(await ask(server.port, 'INFO commandstats\r\n'))?.[1] ?? 0);
    const info = await ask(server.port, 'INFO stats\r\n');
    const disconnected = Number(/client_output_buffer_limit_disconnections:(\d+)/.exec(info)?.[1] ?? 0);
    const omems = [...(await ask(server.port, 'CLIENT LIST\r\n')).matchAll(/omem=(\d+) [^\n]* cmd=get /g)].map((m) => Number(m[1]));
    for (const s of sockets) s.destroy();

    const unbounded = o.clients * o.commands * o.valueKb * 1024;
    printTable([
      ['figure', 'value'],
      ['replies asked for (MiB)', mib(unbounded)],
      ['GETs run', `${fmtInt(calls)} of ${fmtInt(o.clients * o.commands)}`],
      ['clients disconnected (output buffer limit)', String(disconnected)],
      ['largest unsent replies of a client, omem (MiB)', omems.length ? mib(Math.max(...omems)) : '-'],
      ['server RSS before (MiB)', mib(before)],
      ['server RSS peak (MiB)', mib(peak)],
      ['server RSS at the end (MiB)', mib(after)],
    ]);
    const file = writeResults('output-buffer', {
      options: o, machine: machine(), unboundedBytes: unbounded, getsRun: calls, disconnected, omems,
      rss: { before, peak, after },
    });
    console.log(`\nresults: ${file}`);
  } finally {
    await server.stop();
  }
}

await main();
