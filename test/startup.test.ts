/**
 * Start-up and shutdown of the real binary: option errors, the shard count recorded in a data
 * directory, config files with command-line overrides, and clean exits on SIGINT/SIGTERM.
 */
import { describe, it, expect, onTestFinished } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { runServer, startServer, tempDir } from './helpers/server.js';
import { connect } from './helpers/client.js';
import { freePort } from './helpers/oracle.js';

/** Runs the binary with `args` on a fresh data dir; it must fail with exit code 1. */
async function startFails(args: string[]): Promise<string> {
  const { code, output } = await runServer(['--port', '0', '--dir', tempDir(), ...args]);
  expect(code, output).toBe(1);
  return output;
}

function writeConfig(lines: string[]): string {
  const file = path.join(tempDir('cairn-conf-'), 'cairn.conf');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

describe('command-line and config errors', () => {
  it.each([
    [['--no-such-option', '1'], 'command line: unknown option \'no-such-option\''],
    [['--port', 'abc'], 'command line: invalid value for \'port\': argument couldn\'t be parsed into an integer'],
    [['--maxclients', '0'], 'command line: invalid value for \'maxclients\': argument must be between 1 and 4294967295 inclusive'],
    [['--loglevel', 'loud'], 'command line: invalid value for \'loglevel\': argument(s) must be one of the following: debug, verbose, notice, warning, nothing'],
    [['--appendonly', 'maybe'], 'command line: invalid value for \'appendonly\': argument must be \'yes\' or \'no\''],
    [['--databases', '16', '17'], 'command line: option \'databases\' takes one value'],
    [['--hz'], 'command line: option \'hz\' needs a value'],
    // LevelDB clips max_open_files to 74..50000: a value it would change is refused.
    [['--leveldb-max-open-files', '73'], 'command line: invalid value for \'leveldb-max-open-files\': argument must be between 74 and 50000 inclusive'],
    [['--client-output-buffer-limit', 'normal', '1mb', '0'], 'command line: invalid value for \'client-output-buffer-limit\': Wrong number of arguments in buffer limit configuration.'],
  ])('%j exits 1 with a clear message', async (args, message) => {
    expect(await startFails(args)).toContain(`Cairn: ${message}`);
  });

  it('names the file and line of a bad config file setting', async () => {
    const file = writeConfig(['# a comment', '', 'maxclients abc']);
    const { code, output } = await runServer([file, '--port', '0', '--dir', tempDir()]);
    expect(code).toBe(1);
    expect(output).toContain(`Cairn: ${file}:3: invalid value for 'maxclients': argument couldn't be parsed into an integer`);
  });

  it('reports a config file that cannot be read', async () => {
    const { code, output } = await runServer(['/nonexistent/cairn.conf']);
    expect(code).toBe(1);
    expect(output).toContain('Cairn: cannot read config file \'/nonexistent/cairn.conf\'');
  });
});

describe('the shard count recorded in a data directory', () => {
  it('refuses another count, names the recorded one, and --shards 0 reuses it', async () => {
    const first = await startServer({ shards: 2 });
    onTestFinished(() => first.kill()); // only acts if the test failed before stopping it
    const r = connect(first.port);
    await r.set('kept', 'yes');
    r.disconnect();
    expect(await first.stop()).toBe(0);

    const output = await startFails(['--dir', first.dir, '--shards', '4']);
    expect(output).toContain(`${first.dir} was created with 2 shards; it cannot be opened with --shards 4`);

    const again = await startServer({ shards: 0, dir: first.dir });
    onTestFinished(() => again.kill()); // only acts if the test failed before stopping it
    try {
      expect(again.output()).toMatch(/"shards":2,.*"msg":"Cairn starting"/);
      const r2 = connect(again.port);
      expect(await r2.get('kept')).toBe('yes');
      r2.disconnect();
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });
});

describe('config file', () => {
  it('is read in redis.conf syntax, and command-line options override it', async () => {
    const filePort = await freePort();
    const file = writeConfig([
      '# Cairn test config',
      `port ${filePort}`,
      'databases 4',
      'save ""',
      '  loglevel   "warning"  ',
      `dir '/nonexistent/overridden'`,
    ]);
    // startServer puts the file first, then --port 0 --dir <temp> ... --loglevel notice.
    const srv = await startServer({ shards: 1, configFile: file });
    onTestFinished(() => srv.kill()); // only acts if the test failed before stopping it
    try {
      expect(srv.port).not.toBe(filePort);
      expect(fs.existsSync(path.join(srv.dir, 'CAIRN'))).toBe(true);
      const r = connect(srv.port);
      expect(await r.select(3)).toBe('OK');
      await expect(r.select(4)).rejects.toThrow('ERR DB index is out of range');
      r.disconnect();
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });
});

describe.each(['SIGINT', 'SIGTERM'] as const)('%s', (signal) => {
  it('shuts down cleanly with exit code 0', async () => {
    const srv = await startServer({ shards: 2 });
    onTestFinished(() => srv.kill()); // only acts if the test failed before stopping it
    const r = connect(srv.port);
    expect(await r.set('k', 'v')).toBe('OK');
    const exited = new Promise<number | null>((resolve) => srv.proc.once('exit', (code) => resolve(code)));
    srv.proc.kill(signal);
    expect(await exited).toBe(0);
    r.disconnect();
    expect(srv.output()).toContain(`"reason":"${signal}","msg":"shutting down"`);
    expect(srv.output()).toContain('Cairn is now ready to exit, bye bye...');
  });
});

describe('a stop signal right at start-up', () => {
  it('still stops cleanly (exit 0) when SIGTERM arrives as soon as the server says it is ready', async () => {
    const { spawn } = await import('node:child_process');
    const { MAIN, tempDir } = await import('./helpers/server.js');
    for (let i = 0; i < 4; i++) {
      const proc = spawn(process.execPath, [MAIN, '--port', '0', '--dir', tempDir(), '--shards', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const code = await new Promise<number | null>((resolve) => {
        proc.stdout!.on('data', (d: Buffer) => {
          if (d.toString().includes('Ready to accept connections')) proc.kill('SIGTERM');
        });
        proc.once('exit', (c) => resolve(c));
      });
      expect(code).toBe(0);
    }
  });
});
