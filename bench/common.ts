/**
 * Helpers shared by the benches: medians, number formatting, options, results files, machine description.
 * Servers, their memory and disk: servers.ts; a pipelined client: conn.ts; load drivers: load.ts.
 */
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

/** <dir>/<name>-<timestamp> (dir: bench/results, created), for a run's result files. */
export function resultsStem(name: string, dir = path.join(ROOT, 'bench', 'results')): string {
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
}

/** Writes `data` as bench/results/<name>-<timestamp>.json and returns the path. */
export function writeResults(name: string, data: unknown): string {
  const file = `${resultsStem(name)}.json`;
  fs.writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  return file;
}

/** A comma-separated list of positive integers ("1000,5000"). */
export function intListOption(name: string, text: string): number[] {
  const out = text.split(',').map((t) => t.trim()).filter(Boolean).map((t) => intOption(name, t, 1));
  if (out.length === 0) throw new Error(`--${name} is empty`);
  return out;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 2 ** 20, g: 1e9, gb: 2 ** 30, t: 1e12, tb: 2 ** 40 };

/** A size as redis.conf writes it ("256mb", "20GB", "1g"; kb/mb/gb are powers of 1024, k/m/g of 1000). */
export function sizeOption(name: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || !(Number(m[1]) > 0)) throw new Error(`--${name} must be a size like 200MB or 2GB, got '${text}'`);
  return Math.round(Number(m[1]) * unit);
}

/** Words of a free-form option ("--server-args='--a 1 --b 2'"). */
export function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

export const MiB = 2 ** 20;
/** bytes -> "123.4" (MiB) */
export const mib = (bytes: number): string => (bytes / MiB).toFixed(1);
/** microseconds -> "1.234" (ms) */
export const ms = (us: number): string => (Number.isFinite(us) ? (us / 1000).toFixed(3) : '-');

/** A 32-bit integer hash (lowbias32): consecutive inputs give unrelated outputs. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** "load average (1 min) 3.2 at the start, 5.1 at the end, 2 CPUs": how busy the machine was around a run. */
export function loadNote(atStart: number[]): string {
  return `load average (1 min) ${atStart[0]!.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end, ${os.cpus().length} CPUs`;
}

export { dirBytes } from '../src/util/files.js';

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
