/**
 * Durability: every acknowledged write survives a restart, whether the server was stopped with
 * SIGTERM or killed with SIGKILL, and the exact key counts (DBSIZE) survive with the data.
 */
import { describe, it, expect, onTestFinished } from 'vitest';
import type { Redis } from 'ioredis';
import { startServer } from './helpers/server.js';
import { connect } from './helpers/client.js';

const N = 2000;

/** A connected client that fails fast once the server is gone, instead of queueing and reconnecting. */
async function fragileClient(port: number): Promise<Redis> {
  const r = connect(port, { enableOfflineQueue: false, retryStrategy: () => null, reconnectOnError: () => false });
  await new Promise((resolve, reject) => {
    r.once('ready', resolve);
    r.once('error', reject);
  });
  return r;
}

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

interface WriteLog {
  /** key -> value of every write sent. */
  sent: Map<string, string>;
  /** Keys whose SET was acknowledged. */
  acked: Set<string>;
  /** Highest acknowledged value of the counter key, which every write also overwrites in order. */
  counterAcked: number;
  counterSent: number;
}

/**
 * Writes unique keys plus an ever-increasing counter key, up to 32 commands in flight, until the
 * server goes away; records what was acknowledged.
 */
function writeUntilGone(r: Redis, prefix: string): { log: WriteLog; done: Promise<void> } {
  const log: WriteLog = { sent: new Map(), acked: new Set(), counterAcked: -1, counterSent: -1 };
  const counter = `${prefix}counter`;
  let i = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const n = i++;
      const key = `${prefix}${n}`;
      const value = `v${n}`;
      log.sent.set(key, value);
      log.counterSent = n;
      try {
        await Promise.all([r.set(key, value), r.set(counter, String(n))]);
      } catch {
        return;
      }
      log.acked.add(key);
      log.counterAcked = Math.max(log.counterAcked, n);
    }
  };
  return { log, done: Promise.all(Array.from({ length: 16 }, worker)).then(() => undefined) };
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
    const all = new Map<string, string | null>();
    const rounds: ('SIGKILL' | 'SIGTERM')[] = ['SIGKILL', 'SIGKILL', 'SIGTERM', 'SIGKILL'];
    for (const [round, how] of rounds.entries()) {
      const r = await fragileClient(srv.port);
      const prefix = `round${round}:`;
      const { log, done } = writeUntilGone(r, prefix);
      // The random moment counts from the first acknowledgement (on a loaded machine the first
      // write can take longer than the whole window).
      for (let waited = 0; log.acked.size === 0 && waited < 10_000; waited += 5) await new Promise((res) => setTimeout(res, 5));
      await new Promise((res) => setTimeout(res, 50 + Math.random() * 250));
      if (how === 'SIGKILL') await srv.kill();
      else expect(await srv.stop()).toBe(0);
      await done;
      r.disconnect();
      expect(log.acked.size).toBeGreaterThan(0);

      srv = await startServer({ shards, dir });
      const check = connect(srv.port);
      const keys = [...log.sent.keys()];
      const got = await readAll(check, keys);
      for (const key of log.acked) expect(got.get(key), `${how} round ${round}: acknowledged ${key}`).toBe(log.sent.get(key));
      // A write that was sent but not acknowledged may or may not be there, but never garbled.
      for (const [key, v] of got) if (v !== null) expect(v).toBe(log.sent.get(key));
      const counter = Number(await check.get(`${prefix}counter`));
      expect(counter).toBeGreaterThanOrEqual(log.counterAcked);
      expect(counter).toBeLessThanOrEqual(log.counterSent);

      for (const [key, v] of got) all.set(key, v);
      all.set(`${prefix}counter`, String(counter));
      // Exact counts: DBSIZE is every key of every round so far that is present.
      expect(await check.dbsize()).toBe(present(all));
      check.disconnect();
    }
    expect(await srv.stop()).toBe(0);
  });
});
