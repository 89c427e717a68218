/**
 * Helpers shared by the benches: medians, number formatting, results files, machine description.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, whether this runs from bench/ or from dist/bench/. */
export const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRoot(dir: string): string {
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json'))) return d;
  }
  throw new Error(`no package.json above ${dir}`);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** 123456.7 -> "123,457" */
export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

/** An integer command-line option, at least `min` (`name` is for the message). */
export function intOption(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got '${text}'`);
  return n;
}

export function fmtRatio(n: number): string {
  return Number.isFinite(n) ? n.toFixed(2) : '-';
}

/** Prints rows as a left-aligned text table (the first row is the header). */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  rows.forEach((r, i) => {
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length, cpuModel: cpus[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`, node: process.version, loadavg: os.loadavg(),
  };
}

/** Writes `data` as bench/results/<name>-<timestamp>.json and returns the path. */
export function writeResults(name: string, data: unknown): string {
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}

// ---------------------------------------------------------------- a Cairn server for a bench

export { dirBytes } from '../src/util/files.js';

const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
const children = new Set<ChildProcess>();
let hooked = false;

/** A started server must not outlive the bench (hooked on the first start only). */
function killChildrenOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
  process.on('SIGINT', () => process.exit(130));
}

/** Starts the compiled server on a free port with these options (killed if the bench exits). */
export async function startCairn(args: readonly string[]): Promise<{ port: number; stop(): Promise<void> }> {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const proc = spawn(process.execPath, [MAIN, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  killChildrenOnExit();
  children.add(proc);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+),"msg":"Ready to accept connections"/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then(() => reject(new Error(`Cairn exited before it was ready:\n${out}`)));
  });
  return {
    port,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited;
      children.delete(proc);
    },
  };
}

// ---------------------------------------------------------------- latency as a light client sees it

export interface Latency {
  gets: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Percentiles of round trips in microseconds. */
export function summarize(us: number[]): Latency {
  const s = Float64Array.from(us).sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { gets: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: s[s.length - 1] ?? NaN };
}

/** Sends one request at a time, `gapMs` apart, until `stop()` says so; returns each round trip in microseconds. */
export async function probe(send: () => Promise<unknown>, gapMs: number, stop: () => boolean): Promise<number[]> {
  const out: number[] = [];
  while (!stop()) {
    const t = process.hrtime.bigint();
    await send();
    out.push(Number(process.hrtime.bigint() - t) / 1000);
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return out;
}
