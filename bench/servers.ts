/**
 * The servers a bench drives, and what it watches of them: `startCairn` (node dist/src/main.js on
 * a free port), `startRedis` (the reference redis-server, or null where it is not installed), their
 * memory (/proc/<pid>/status, sampled over time) and the size of a data directory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './common.js';
import { startOracle, REDIS_SERVER } from '../test/helpers/oracle.js';

export const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');

export interface Server {
  name: 'Cairn' | 'Redis';
  pid: number;
  port: number;
  /** Cairn's shard count (1 for Redis). */
  shards: number;
  /** Its data directory. */
  dir: string;
  /** The command line that started it, as typed in a shell. */
  command: string;
  /** Redis' version, Cairn's options... */
  info: Record<string, unknown>;
  /** The last lines of its output (for an error report). */
  tail(): string;
  /** Rejects if the server exits before stop(). */
  died: Promise<never>;
  /** SIGTERM, wait for the exit, remove the data directory unless it was given. */
  stop(): Promise<void>;
}

/** Children to kill, and their temp dirs to remove, if the bench dies or is interrupted before stopping them. */
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

export interface CairnOptions {
  shards?: number;
  /** More server options, after the bench's own (so they win). */
  serverArgs?: string[];
  /** Options for the node process, before the script (after npm start's own: they win). */
  nodeArgs?: string[];
  /** A data directory to use and keep; default: a temp dir, removed by stop(). */
  dir?: string;
}

/**
 * How `npm start` runs the server (package.json's start script): the environment it sets (its
 * leading NAME=value words) and the node options (the words between `node` and the script), so a
 * bench measures the server as users run it.
 */
export function startCommand(): { env: Record<string, string>; nodeArgs: string[] } {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  const node = words.indexOf('node');
  const env = Object.fromEntries(words.slice(0, node).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  return { env, nodeArgs: words.slice(node + 1, words.findIndex((w) => w.endsWith('main.js'))) };
}

/** Starts Cairn on port 0; reads its port and shard count from its JSON log lines. */
export async function startCairn(o: CairnOptions = {}): Promise<Server> {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-bench-'));
  fs.mkdirSync(dir, { recursive: true });
  if (o.dir === undefined) tempDirs.add(dir);
  const start = startCommand();
  const args = [...start.nodeArgs, ...(o.nodeArgs ?? []), MAIN, '--port', '0', '--dir', dir,
    ...(o.shards === undefined ? [] : ['--shards', String(o.shards)]), ...(o.serverArgs ?? [])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...start.env } });
  children.add(proc);
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 64 * 1024) out = out.slice(-32 * 1024);
  };
  let stopping = false;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const died = exited.then((): never => {
    throw new Error(stopping ? 'stopped' : `Cairn exited during the run:\n${out.slice(-1500)}`);
  });
  died.catch(() => {});
  proc.stderr!.on('data', keep);
  // CAIRN_BENCH_SERVER_LOG=<file>: everything the server prints also goes there (e.g. with
  // --node-args=--trace-gc, to line up pauses with a bench's latencies).
  const logFile = process.env.CAIRN_BENCH_SERVER_LOG;
  if (logFile) {
    const log = fs.createWriteStream(logFile, { flags: 'a' });
    proc.stdout!.pipe(log);
    proc.stderr!.pipe(log);
  }
  let shards = 0;
  const port = await new Promise<number>((resolve, reject) => {
    let pending = '';
    proc.stdout!.on('data', (d: Buffer) => {
      keep(d);
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        let rec: { msg?: string; port?: number; shards?: number };
        try {
          rec = JSON.parse(line) as typeof rec;
        } catch {
          continue;
        }
        if (rec.msg === 'Cairn starting') shards = rec.shards ?? 0;
        if (rec.msg === 'Ready to accept connections') resolve(rec.port!);
      }
    });
    void exited.then(() => reject(new Error(`Cairn exited before it was ready:\n${out}`)));
    setTimeout(() => reject(new Error(`Cairn did not start in 60 s:\n${out}`)), 60_000).unref();
  });
  return {
    name: 'Cairn', pid: proc.pid!, port, shards, dir,
    command: shellLine([...Object.entries(start.env).map(([k, v]) => `${k}=${v}`), 'node', ...args.map((a) => (a === MAIN ? path.relative(process.cwd(), MAIN) : a))]),
    info: { shards, dir },
    tail: () => out.slice(-4000),
    died,
    stop: async () => {
      stopping = true;
      proc.kill('SIGTERM');
      await exited;
      children.delete(proc);
      if (o.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    },
  };
}

/** The reference redis-server (persistence off, temp dir), or null when it is not installed. */
export async function startRedis(): Promise<Server | null> {
  const oracle = await startOracle();
  if (!oracle) return null;
  children.add(oracle.proc);
  tempDirs.add(oracle.dir);
  const { stdout } = await promisify(execFile)(REDIS_SERVER, ['--version']);
  let stopping = false;
  const died = new Promise<never>((_, reject) => oracle.proc.once('exit', () => reject(new Error(stopping ? 'stopped' : 'redis-server exited during the run'))));
  died.catch(() => {});
  return {
    name: 'Redis', pid: oracle.proc.pid!, port: oracle.port, shards: 1, dir: oracle.dir,
    command: shellLine([REDIS_SERVER, ...oracle.args]),
    info: { version: /v=(\S+)/.exec(stdout)?.[1] ?? stdout.trim() },
    tail: () => '',
    died,
    stop: async () => {
      stopping = true;
      await oracle.stop();
      children.delete(oracle.proc);
      tempDirs.delete(oracle.dir);
    },
  };
}

/** Resolves with `p`, or rejects as soon as the server dies. */
export function watch<T>(server: Server, p: Promise<T>): Promise<T> {
  return Promise.race([p, server.died]);
}

/** A command line as a shell would need it typed (empty and odd arguments quoted). */
export function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The environment the server inherits that changes its memory (allocator, node flags), as NAME=value. */
export function memoryEnv(): string[] {
  return ['LD_PRELOAD', 'MALLOC_ARENA_MAX', 'GLIBC_TUNABLES', 'NODE_OPTIONS'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`);
}

/** How this bench was run, relative to the current directory, with memoryEnv() in front. */
export function benchCommand(): string {
  return shellLine([...memoryEnv(), 'node', ...process.argv.slice(1).map((a) => (path.isAbsolute(a) ? path.relative(process.cwd(), a) : a))]);
}

// ---------------------------------------------------------------- memory and disk

export interface MemorySample {
  /** VmRSS: resident memory, RssAnon + RssFile + RssShmem. */
  rss: number;
  /** Anonymous memory: JS heaps, malloc (LevelDB's caches and memtables), thread stacks. */
  anon: number;
  /**
   * File-backed pages: the node binary and, mostly, LevelDB's table files, which it reads
   * through mmap (up to 1000 files per process): every table page read counts here. They are
   * page cache, shared and clean, dropped by the kernel under memory pressure.
   */
  file: number;
}

/** A process's resident memory and VmHWM (its peak RSS as the kernel counts it), in bytes. */
export function memoryOf(pid: number): MemorySample & { hwm: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), hwm: kb('VmHWM') };
}

/** Samples a process's memory every `everyMs`; keeps the peaks, overall and per phase. */
export class MemorySampler {
  private current = 'start';
  /** When each phase began: [elapsed ms, name]. */
  readonly phases: [number, string][] = [[0, 'start']];
  latest: MemorySample = { rss: 0, anon: 0, file: 0 };
  readonly peak: MemorySample = { rss: 0, anon: 0, file: 0 };
  readonly peaks: Record<string, MemorySample> = {};
  /** [elapsed ms, rss, anon, file] */
  readonly samples: [number, number, number, number][] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly t0 = performance.now();

  constructor(private readonly pid: number, everyMs = 200) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  get phase(): string {
    return this.current;
  }

  /** Peaks from now on are kept under this name. */
  set phase(name: string) {
    this.current = name;
    this.phases.push([Math.round(performance.now() - this.t0), name]);
  }

  sample(): void {
    let m: MemorySample;
    try {
      m = memoryOf(this.pid);
    } catch {
      return; // the process is gone: the run reports why
    }
    this.latest = { rss: m.rss, anon: m.anon, file: m.file };
    const phase = (this.peaks[this.current] ??= { rss: 0, anon: 0, file: 0 });
    for (const p of [this.peak, phase]) {
      p.rss = Math.max(p.rss, m.rss);
      p.anon = Math.max(p.anon, m.anon);
      p.file = Math.max(p.file, m.file);
    }
    this.samples.push([Math.round(performance.now() - this.t0), m.rss, m.anon, m.file]);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

