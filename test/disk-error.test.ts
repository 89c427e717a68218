/**
 * Write errors (Redis' MISCONF): when LevelDB cannot write, writes get the MISCONF error, reads
 * keep answering from what was written, nothing that failed becomes visible, and writes resume
 * on their own once LevelDB can write again; the data survives a restart.
 *
 * Two ways to make writes fail: DEBUG SET-DISK-ERROR (works everywhere), and a real full disk,
 * a small tmpfs (only where `mount -t tmpfs` is allowed, e.g. as root; skipped elsewhere).
 */
import { describe, it, expect, beforeAll, afterAll, onTestFinished } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { startServer, tempDir, type TestServer } from './helpers/server.js';
import { connect } from './helpers/client.js';

const MISCONF = /^MISCONF Errors writing to disk: .+\. Commands that may modify the data set are disabled until Cairn can write to its LevelDB store again\./;

/** The error a command got, or null if it succeeded. */
async function errorOf(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Retries SET until it is accepted (writes restored by the shard's probe, once a second). */
async function waitForWrites(r: Redis, key: string, value: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const err = await errorOf(r.set(key, value));
    if (err === null) return;
    expect(err).toMatch(MISCONF);
    if (Date.now() > deadline) throw new Error(`writes were not restored: ${err}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function persistenceField(r: Redis, name: string): Promise<string | undefined> {
  const info = await r.info('persistence');
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/** Known data on several shards: strings, a hash, a list. */
async function writeKnown(r: Redis): Promise<Map<string, string>> {
  const known = new Map<string, string>();
  const p = r.pipeline();
  for (let i = 0; i < 200; i++) {
    p.set(`known:${i}`, `v${i}`);
    known.set(`known:${i}`, `v${i}`);
  }
  p.hset('known:hash', 'f1', 'a', 'f2', 'b');
  p.rpush('known:list', 'x', 'y', 'z');
  for (const [err] of (await p.exec())!) expect(err).toBeNull();
  return known;
}

async function checkKnown(r: Redis, known: Map<string, string>, extraKeys = 0): Promise<void> {
  const keys = [...known.keys()];
  expect(await r.mget(...keys)).toEqual(keys.map((k) => known.get(k)));
  expect(await r.hgetall('known:hash')).toEqual({ f1: 'a', f2: 'b' });
  expect(await r.lrange('known:list', 0, -1)).toEqual(['x', 'y', 'z']);
  expect(await r.dbsize()).toBe(known.size + 2 + extraKeys);
}

describe.each(['yes', 'no'])('write errors injected with DEBUG SET-DISK-ERROR (leveldb-native-writes %s)', (native) => {
  it('refuses writes with MISCONF, keeps reads, resumes writes, and loses nothing', async () => {
    const args = ['--enable-debug-command', 'local', '--leveldb-native-writes', native];
    let srv = await startServer({ shards: 2, args });
    onTestFinished(() => srv.kill());
    let r = connect(srv.port);
    const known = await writeKnown(r);
    await r.set('soon-expired', 'x', 'PX', 300);
    expect(await persistenceField(r, 'aof_last_write_status')).toBe('ok');

    expect(await r.call('DEBUG', 'SET-DISK-ERROR', '1')).toBe('OK');
    // The batch that meets the error: nothing of it is acknowledged, and a read after a write in
    // the same batch never shows the failed write.
    const p = r.pipeline();
    p.set('known:1', 'failed');
    p.get('known:1');
    p.hset('known:hash', 'f3', 'failed');
    p.hgetall('known:hash');
    const res = (await p.exec())!;
    expect(res[0]![0]?.message).toMatch(MISCONF);
    expect(res[1]![0]?.message ?? res[1]![1]).toSatisfy((v: string) => v === 'v1' || MISCONF.test(v));
    expect(res[2]![0]?.message).toMatch(MISCONF);
    expect(res[3]![0]?.message ?? res[3]![1]).toSatisfy((v: unknown) => MISCONF.test(String(v)) || JSON.stringify(v) === '{"f1":"a","f2":"b"}');

    // From now on every write is refused, on every shard, and so is PING (as Redis does).
    for (let i = 0; i < 20; i++) expect(await errorOf(r.set(`new:${i}`, 'x'))).toMatch(MISCONF);
    expect(await errorOf(r.del('known:2'))).toMatch(MISCONF);
    expect(await errorOf(r.mset('known:3', 'x', 'known:4', 'y'))).toMatch(MISCONF);
    expect(await errorOf(r.flushall())).toMatch(MISCONF);
    expect(await errorOf(r.ping())).toMatch(MISCONF);
    expect(await persistenceField(r, 'aof_last_write_status')).toBe('err');
    expect(Number(await persistenceField(r, 'cairn_write_error_shards'))).toBeGreaterThan(0);
    expect(await persistenceField(r, 'cairn_last_write_error')).toContain('injected by DEBUG SET-DISK-ERROR');
    expect(await r.info('errorstats')).toMatch(/errorstat_MISCONF:count=\d+/);

    // Reads answer from what LevelDB holds; an expired key reads as missing without a write.
    await checkKnown(r, known, 1);
    await new Promise((res) => setTimeout(res, 400));
    expect(await r.get('soon-expired')).toBeNull();
    expect(await r.exists('soon-expired')).toBe(0);
    // Still refused a second later: the probe keeps failing while the fault is set.
    await new Promise((res) => setTimeout(res, 1100));
    expect(await errorOf(r.set('new:x', 'x'))).toMatch(MISCONF);

    expect(await r.call('DEBUG', 'SET-DISK-ERROR', '0')).toBe('OK');
    await waitForWrites(r, 'after', 'restored');
    expect(await r.ping()).toBe('PONG');
    expect(await persistenceField(r, 'aof_last_write_status')).toBe('ok');
    expect(await persistenceField(r, 'cairn_write_error_shards')).toBe('0');
    expect(await r.get('soon-expired')).toBeNull(); // deleted now that writes work
    await checkKnown(r, known, 1); // 'after' is new
    for (let i = 0; i < 20; i++) expect(await r.get(`new:${i}`)).toBeNull();

    // Everything acknowledged survives a kill; nothing refused appears.
    r.disconnect();
    await srv.kill();
    srv = await startServer({ shards: 2, dir: srv.dir, args });
    r = connect(srv.port);
    await checkKnown(r, known, 1);
    expect(await r.get('after')).toBe('restored');
    expect(await r.hlen('known:hash')).toBe(2);
    r.disconnect();
    expect(await srv.stop()).toBe(0);
  });
});

describe('DEBUG', () => {
  it('is refused unless enable-debug-command allows it, as in Redis', async () => {
    const srv = await startServer({ shards: 1 });
    onTestFinished(() => srv.kill());
    const r = connect(srv.port);
    expect(await errorOf(r.call('DEBUG', 'SET-DISK-ERROR', '1'))).toBe(
      'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local ' +
      'connection, otherwise you need to set this option in the configuration file, and then restart the server.');
    expect(await r.set('k', 'v')).toBe('OK');
    r.disconnect();
    expect(await srv.stop()).toBe(0);
  });

  it('answers unknown subcommands and bad arguments like Redis', async () => {
    const srv = await startServer({ shards: 2, args: ['--enable-debug-command', 'yes'] });
    onTestFinished(() => srv.kill());
    const r = connect(srv.port);
    expect(await errorOf(r.call('DEBUG', 'nosuch'))).toBe("ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP.");
    expect(await errorOf(r.call('DEBUG', 'SET-DISK-ERROR'))).toBe("ERR unknown subcommand or wrong number of arguments for 'SET-DISK-ERROR'. Try DEBUG HELP.");
    expect(await errorOf(r.call('DEBUG', 'SET-DISK-ERROR', 'maybe'))).toBe('ERR value is not an integer or out of range');
    expect(await errorOf(r.call('DEBUG', 'SET-DISK-ERROR', '1', '7'))).toBe('ERR shard index out of range');
    expect((await r.call('DEBUG', 'HELP')) as string[]).toContain('SET-DISK-ERROR <0|1> [<shard>]');
    r.disconnect();
    expect(await srv.stop()).toBe(0);
  });
});

// ------------------------------------------------------------------ a real full disk

let mountDir: string | null = null;

beforeAll(() => {
  const dir = tempDir('cairn-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir], { stdio: 'ignore' });
    mountDir = dir;
  } catch {
    fs.rmSync(dir, { recursive: true, force: true }); // not allowed here (not root, no mount): the test skips
  }
});

afterAll(() => {
  if (mountDir === null) return;
  execFileSync('umount', [mountDir], { stdio: 'ignore' });
  fs.rmSync(mountDir, { recursive: true, force: true });
});

/** Fills the file system of `file` to the last byte; returns the bytes written. */
function fill(file: string): number {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(256 * 1024);
  let n = 0;
  try {
    for (;;) n += fs.writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
  return n;
}

describe('a full disk (tmpfs)', () => {
  it('refuses writes with MISCONF while the disk is full and resumes when space returns', async (ctx) => {
    if (mountDir === null) return ctx.skip();
    const dir = path.join(mountDir, 'data');
    const args = ['--leveldb-write-buffer-size', '1mb'];
    let srv: TestServer = await startServer({ shards: 2, dir, args });
    onTestFinished(() => srv.kill());
    let r = connect(srv.port);
    const known = await writeKnown(r);

    const filler = path.join(mountDir, 'filler');
    expect(fill(filler)).toBeGreaterThan(0);
    // Writes fail as soon as LevelDB's log needs a page the disk no longer has.
    const big = 'b'.repeat(64 * 1024);
    let acked = 0;
    let err: string | null = null;
    for (let i = 0; i < 200 && err === null; i++) {
      err = await errorOf(r.set(`big:${i}`, big));
      if (err === null) acked++;
    }
    expect(err).toMatch(MISCONF);
    expect(err).toContain('No space left on device');
    expect(await errorOf(r.set('refused', 'x'))).toMatch(MISCONF);
    expect(await persistenceField(r, 'aof_last_write_status')).toBe('err');
    await checkKnown(r, known, acked);

    fs.rmSync(filler);
    await waitForWrites(r, 'after', 'restored');
    await checkKnown(r, known, acked + 1);

    r.disconnect();
    expect(await srv.stop()).toBe(0);
    srv = await startServer({ shards: 2, dir, args });
    r = connect(srv.port);
    await checkKnown(r, known, acked + 1);
    expect(await r.get('after')).toBe('restored');
    expect(await r.get('refused')).toBeNull();
    for (let i = 0; i < acked; i++) expect((await r.strlen(`big:${i}`))).toBe(big.length);
    expect(await r.exists(`big:${acked}`)).toBe(0);
    r.disconnect();
    expect(await srv.stop()).toBe(0);
  });

  it('loses nothing acknowledged when killed while the disk is full', async (ctx) => {
    if (mountDir === null) return ctx.skip();
    const dir = path.join(mountDir, 'data2');
    let srv: TestServer = await startServer({ shards: 2, dir });
    onTestFinished(() => srv.kill());
    let r = connect(srv.port);
    const known = await writeKnown(r);
    const filler = path.join(mountDir, 'filler2');
    fill(filler);
    const values = new Map<string, string>();
    let err: string | null = null;
    for (let i = 0; i < 200 && err === null; i++) {
      const v = `${i}:${'c'.repeat(32 * 1024)}`;
      err = await errorOf(r.set(`c:${i}`, v));
      if (err === null) values.set(`c:${i}`, v);
    }
    expect(err).toMatch(MISCONF);
    r.disconnect();
    await srv.kill(); // LevelDB's log may end in a torn record: recovery must drop it, nothing else
    fs.rmSync(filler);
    srv = await startServer({ shards: 2, dir });
    r = connect(srv.port);
    await checkKnown(r, known, values.size);
    for (const [k, v] of values) expect(await r.get(k)).toBe(v);
    expect(await r.exists(`c:${values.size}`)).toBe(0);
    expect(await r.set('after', 'x')).toBe('OK');
    r.disconnect();
    expect(await srv.stop()).toBe(0);
  });
});
