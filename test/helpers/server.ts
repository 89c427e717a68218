/**
 * Starts a real Cairn server (the compiled dist/ build, as `npm start` runs it) on port 0 in a
 * temp data directory, and waits for it to report its port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../bench/common.js';

/** The repository root (found from package.json, so this also works compiled, from dist/test/helpers/). */
export { ROOT };
export const MAIN = path.join(ROOT, 'dist/src/main.js');

export interface TestServer {
  port: number;
  dir: string;
  proc: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

/** Directories tempDir made in this test file; test/setup.ts removes them after the file. */
const made: string[] = [];

export function tempDir(prefix = 'cairn-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every directory tempDir made so far (after the test file's own afterAll hooks). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export interface StartOptions {
  shards?: number;
  dir?: string;
  /** Extra command-line arguments (a config file first, then --options). */
  args?: string[];
  configFile?: string;
}

export async function startServer(o: StartOptions = {}): Promise<TestServer> {
  const dir = o.dir ?? tempDir();
  const args = [
    ...(o.configFile ? [o.configFile] : []),
    '--port', '0', '--dir', dir, '--shards', String(o.shards ?? 1), '--loglevel', 'notice',
    ...(o.args ?? []),
  ];
  const proc = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let exitSignal: string | null = null;
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code, signal) => {
    exitSignal = signal;
    resolve(code);
  }));
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out += d.toString();
      const m = /"port":(\d+),"msg":"Ready to accept connections"/.exec(out);
      if (m) resolve(Number(m[1]));
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    void exited.then((code) => reject(new Error(`server exited with ${code} before it was ready:\n${out}`)));
    setTimeout(() => reject(new Error(`server did not start in time:\n${out}`)), 20_000);
  });
  return {
    port, dir, proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      const code = await exited;
      // A clean stop exits 0; dying by a signal is a failure worth seeing in full.
      if (code === null) throw new Error(`server died by ${exitSignal} instead of stopping:\n${out.slice(-4000)}`);
      return code;
    },
    kill: async () => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Runs the server binary to completion (for start-up errors); resolves with code and output. */
export function runServer(args: string[], timeoutMs = 15_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, output: out });
    });
  });
}
