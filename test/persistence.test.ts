/**
 * Durability: every acknowledged write survives a restart, whether the server was stopped with
 * SIGTERM or killed with SIGKILL, and the exact key counts (DBSIZE) survive with the data.
 */
import { describe, it, expect, onTestFinished } from 'vitest';
import type { Redis } from 'ioredis';
import { startServer } from './helpers/server.js';
import { connect } from './helpers/client.js';
import { fragileClient, writeUntilGone, verifyClient } from './helpers/crash.js';

const N = 2000;

/** GETs every key (pipelined) and returns key -> value (null when absent). */
async function readAll(r: Redis, keys: string[]): Promise<Map<string, string | null>> {
  const p = r.pipeline();
  for (const k of keys) p.get(k);
  const res = (await p.exec())!;
  return new Map(keys.map((k, i) => {
    const [err, v] = res[i]!;
    if (err) throw err;
    return [k, v as string | null];
  }));
}

/** Writes N keys (each acknowledged), overwrites some and deletes some; returns the expected contents. */
async function writeKnownData(r: Redis, prefix: string): Promise<Map<string, string | null>> {
  const expected = new Map<string, string | null>();
  const p = r.pipeline();
  for (let i = 0; i < N; i++) {
    p.set(`${prefix}${i}`, `value-${i}-${'x'.repeat(i % 50)}`);
    expected.set(`${prefix}${i}`, `value-${i}-${'x'.repeat(i % 50)}`);
  }
  for (let i = 0; i < N; i += 7) {
    p.set(`${prefix}${i}`, `second-${i}`);
    expected.set(`${prefix}${i}`, `second-${i}`);
  }
  for (let i = 3; i < N; i += 11) {
    p.del(`${prefix}${i}`);
    expected.set(`${prefix}${i}`, null);
  }
  for (const [err] of (await p.exec())!) expect(err).toBeNull();
  return expected;
}

function present(m: Map<string, string | null>): number {
  let n = 0;
  for (const v of m.values()) if (v !== null) n++;
  return n;
}

describe.each([1, 4])('persistence (%i shards)', (shards) => {
  /** Starts on `dir`, checks every expected key and that DBSIZE counts exactly the present ones. */
  async function checkAfterRestart(dir: string, expected: Map<string, string | null>): Promise<void> {
    const srv = await startServer({ shards, dir });
    onTestFinished(() => srv.kill()); // only acts if the test failed before stopping it
    try {
      const r = connect(srv.port);
      expect(await readAll(r, [...expected.keys()])).toEqual(expected);
      expect(await r.dbsize()).toBe(present(expected));
      r.disconnect();
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  }

  for (const how of ['SIGTERM', 'SIGKILL'] as const) {
    it(`keeps ${N} acknowledged writes, overwrites and deletes across a ${how} restart`, async () => {
      const srv = await startServer({ shards });
      onTestFinished(() => srv.kill()); // only acts if the test failed before stopping it
      const r = connect(srv.port);
      const expected = await writeKnownData(r, 'known:');
      expect(await r.dbsize()).toBe(present(expected));
      r.disconnect();
      if (how === 'SIGTERM') expect(await srv.stop()).toBe(0);
      else await srv.kill();
      await checkAfterRestart(srv.dir, expected);
    });
  }

  it('keeps every acknowledged write when stopped at random moments while a client writes', async () => {
    let srv = await startServer({ shards });
    onTestFinished(() => srv.kill()); // the current server (srv is reassigned on restarts), if a failure left it running
    const dir = srv.dir;
    let keys = 0;
    const rounds: ('SIGKILL' | 'SIGTERM')[] = ['SIGKILL', 'SIGKILL', 'SIGTERM', 'SIGKILL'];
    for (const [round, how] of rounds.entries()) {
      const r = await fragileClient(srv.port);
      const { log, acked, done } = writeUntilGone(r, `round${round}:`);
      // The random moment counts from the first acknowledgement (on a loaded machine the first
      // write can take longer than the whole window).
      await acked;
      await new Promise((res) => setTimeout(res, 50 + Math.random() * 250));
      if (how === 'SIGKILL') await srv.kill();
      else expect(await srv.stop()).toBe(0);
      await done;
      r.disconnect();
      expect(log.writesAcked).toBeGreaterThan(0);

      srv = await startServer({ shards, dir });
      const check = connect(srv.port);
      // Every acknowledged write (strings, hash fields, list, set and sorted set elements) is there;
      // one sent but not acknowledged may or may not be, but never garbled.
      const verdict = await verifyClient(check, log);
      expect(verdict.lost, `${how} round ${round}: lost`).toEqual([]);
      expect(verdict.corrupt, `${how} round ${round}: corrupt`).toEqual([]);
      // Exact counts: DBSIZE is every key of every round so far that is present.
      keys += verdict.keysPresent;
      expect(await check.dbsize()).toBe(keys);
      check.disconnect();
    }
    expect(await srv.stop()).toBe(0);
  });
});

describe('the crash checker (test/helpers/crash.ts)', () => {
  it('reports acknowledged writes that are missing and values that were never written', async () => {
    const srv = await startServer({ shards: 2 });
    onTestFinished(() => srv.kill());
    const r = await fragileClient(srv.port);
    const { log, acked, done } = writeUntilGone(r, 'chk:', 4);
    await acked;
    while (log.acked.hash.size < 3 || log.acked.list.size < 1 || log.acked.string.size < 1) await new Promise((res) => setTimeout(res, 10));
    await srv.kill();
    await done;
    r.disconnect();
    const srv2 = await startServer({ shards: 2, dir: srv.dir });
    onTestFinished(() => srv2.kill());
    const check = connect(srv2.port);
    expect(await verifyClient(check, log)).toMatchObject({ lost: [], corrupt: [] });

    const [s] = log.acked.string;
    const [h1, h2] = log.acked.hash;
    const [l] = log.acked.list;
    await check.del(`chk:s:${s}`);
    await check.hdel('chk:hash', `f${h1}`);
    await check.hset('chk:hash', `f${h2}`, 'garbled');
    await check.lrem('chk:list', 0, `e${l}`);
    await check.sadd('chk:set', 'm-never-sent');
    const v = await verifyClient(check, log);
    expect(v.lost).toEqual(expect.arrayContaining([`chk:s:${s}`, `chk:hash: step ${h1}`, `chk:list: step ${l}`]));
    expect(v.corrupt).toEqual(expect.arrayContaining([`chk:hash.f${h2} = garbled`]));
    expect(v.corrupt.some((c) => c.startsWith('chk:set: element of step'))).toBe(true);
    check.disconnect();
    expect(await srv2.stop()).toBe(0);
  });
});
