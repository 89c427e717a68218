/**
 * A reference redis-server for differential tests: started on a free port in a temp dir with
 * persistence off, so its replies can be compared byte for byte with Cairn's.
 *
 * `startOracle()` resolves with null when /usr/bin/redis-server is not installed, so a suite can
 * skip its differential cases on machines without Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { tempDir } from './server.js';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface OracleServer {
  port: number;
  dir: string;
  proc: ChildProcess;
  /** The arguments redis-server was started with (after the program name). */
  args: string[];
  /** SIGTERM, wait for exit, remove the temp dir. */
  stop(): Promise<void>;
}

export function hasRedis(): boolean {
  return fs.existsSync(REDIS_SERVER);
}

/** A port that was free a moment ago (redis-server cannot report a port it picked itself). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts redis-server with `--save '' --appendonly no` plus `args` (e.g. ['--maxclients', '2']).
 * Retries on another port if the one picked was taken in the meantime.
 */
export async function startOracle(args: string[] = []): Promise<OracleServer | null> {
  if (!hasRedis()) return null;
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), args);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

function startOnce(port: number, args: string[]): Promise<OracleServer> {
  const dir = tempDir('cairn-oracle-');
  const argv = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', ...args,
  ];
  const proc = spawn(REDIS_SERVER, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`redis-server did not start in time:\n${out}`));
    }, 10_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve({ port, dir, proc, args: argv, stop });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      reject(new Error(`redis-server exited before it was ready:\n${out}`));
    });
  });
}
