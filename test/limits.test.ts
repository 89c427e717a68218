/**
 * Small limits: proto-max-bulk-len set at run time reaches the shards (SETRANGE/APPEND/LCS size
 * checks, as redis-server answers them), and tcp-keepalive is applied to accepted sockets.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import type { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { connect } from './helpers/client.js';
import { startOracle, type OracleServer } from './helpers/oracle.js';

describe('proto-max-bulk-len changed with CONFIG SET', () => {
  let server: TestServer;
  let oracle: OracleServer | null;
  let cairn: Redis;
  let redis: Redis | null;

  beforeAll(async () => {
    [server, oracle] = await Promise.all([startServer({ shards: 2 }), startOracle()]);
    cairn = connect(server.port);
    redis = oracle ? connect(oracle.port) : null;
  });
  afterAll(async () => {
    cairn.disconnect();
    redis?.disconnect();
    await Promise.all([server.stop(), oracle?.stop()]);
  });

  async function reply(c: Redis, args: (string | number)[]): Promise<unknown> {
    try {
      return await c.call(String(args[0]), ...args.slice(1).map(String));
    } catch (e) {
      return (e as Error).message;
    }
  }

  const TOO_BIG = 'ERR string exceeds maximum allowed size (proto-max-bulk-len)';
  const LCS_TOO_BIG = 'ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len';
  // Keys spread over both shards; {t}a and {t}b share one (LCS on a shard), a and b may not (LCS on the front).
  const keys = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'];
  const cases: [(string | number)[], unknown][] = [
    ...keys.flatMap((k): [(string | number)[], unknown][] => [
      [['setrange', k, 1024 * 1024, 'x'], TOO_BIG],
      [['setrange', k, 1024 * 1024 - 1, 'x'], 1024 * 1024],
      [['append', k, 'y'], TOO_BIG],
      [['strlen', k], 1024 * 1024],
    ]),
    [['set', '{t}a', 'a'.repeat(600)], 'OK'],
    [['set', '{t}b', 'b'.repeat(600)], 'OK'],
    [['lcs', '{t}a', '{t}b'], LCS_TOO_BIG],
    [['set', 'a', 'a'.repeat(600)], 'OK'],
    [['set', 'b', 'b'.repeat(600)], 'OK'],
    [['lcs', 'a', 'b'], LCS_TOO_BIG],
  ];

  it('SETRANGE, APPEND and LCS use the new limit on every shard, as redis-server does', async () => {
    for (const c of [cairn, redis]) if (c) expect(await c.config('SET', 'proto-max-bulk-len', '1mb')).toBe('OK');
    for (const [args, expected] of cases) {
      const got = await reply(cairn, args);
      expect(got, args.join(' ')).toEqual(expected);
      if (redis) expect(got, args.join(' ')).toEqual(await reply(redis, args));
    }
  });

  it('and the old limit again once it is raised', async () => {
    await cairn.config('SET', 'proto-max-bulk-len', '512mb');
    expect(await cairn.setrange('k1', 1024 * 1024, 'x')).toBe(1024 * 1024 + 1);
    expect(await cairn.append('k2', 'y')).toBe(1024 * 1024 + 1);
    expect(await cairn.call('lcs', 'a', 'b')).toBe('');
  });
});

/**
 * TCP_KEEPALIVE is not visible from the client's end of a connection; the kernel shows it for the
 * server's end in /proc/net/tcp: an idle socket with keepalive has timer 2 (keepalive) set to fire
 * in at most tcp-keepalive seconds (in USER_HZ ticks, 100 a second), one without has no timer.
 */
describe('tcp-keepalive', () => {
  const PROC = '/proc/net/tcp';
  let server: TestServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await startServer();
    admin = connect(server.port);
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

  /** The timer of the server's end of a new connection, once it is idle: [kind, ticks]. */
  async function serverTimer(): Promise<[number, number]> {
    const client = connect(server.port);
    try {
      await client.ping();
      const local = `0100007F:${hex(server.port)}`;
      const remote = `0100007F:${hex(client.stream.localPort!)}`;
      let timer: [number, number] = [-1, -1];
      for (let i = 0; i < 40; i++) {
        const row = fs.readFileSync(PROC, 'utf8').split('\n').map((l) => l.trim().split(/\s+/))
          .find((f) => f[1] === local && f[2] === remote);
        const [kind, when] = row![5]!.split(':').map((h) => parseInt(h, 16)) as [number, number];
        timer = [kind, when];
        if (kind !== 1) break; // 1: a retransmit timer, until the reply is acknowledged
        await new Promise((r) => setTimeout(r, 50));
      }
      return timer;
    } finally {
      client.disconnect();
    }
  }

  it('is applied to accepted sockets: the default 300 s, a value set with CONFIG SET, and 0 = off', async (ctx) => {
    if (!fs.existsSync(PROC)) return ctx.skip();
    expect(await admin.config('GET', 'tcp-keepalive')).toEqual(['tcp-keepalive', '300']);
    const [kind, ticks] = await serverTimer();
    expect(kind).toBe(2);
    expect(ticks).toBeGreaterThan(10 * 100);
    expect(ticks).toBeLessThanOrEqual(300 * 100);

    await admin.config('SET', 'tcp-keepalive', '7');
    expect(await admin.config('GET', 'tcp-keepalive')).toEqual(['tcp-keepalive', '7']);
    const [kind7, ticks7] = await serverTimer();
    expect(kind7).toBe(2);
    expect(ticks7).toBeLessThanOrEqual(7 * 100);

    await admin.config('SET', 'tcp-keepalive', '0');
    expect(await serverTimer()).toEqual([0, 0]);
  });
});
