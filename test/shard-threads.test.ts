/**
 * `shard-threads no`: every shard runs on the front thread behind a MessageChannel, with the same
 * executor, group commit and coordination as worker shards.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import type { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { connect } from './helpers/client.js';

describe('shards on the front thread (shard-threads no, 4 shards)', () => {
  let server: TestServer;
  let r: Redis;

  beforeAll(async () => {
    server = await startServer({ shards: 4, args: ['--shard-threads', 'no'] });
    r = connect(server.port);
  });
  afterAll(async () => {
    r.disconnect();
    await server.stop();
  });

  it('runs single-key, cross-shard and coordinated commands', async () => {
    expect(await r.set('a', '1')).toBe('OK');
    expect(await r.get('a')).toBe('1');
    expect(await r.mset('k1', 'v1', 'k2', 'v2', 'k3', 'v3', 'k4', 'v4')).toBe('OK');
    expect(await r.mget('k1', 'k2', 'k3', 'k4', 'nope')).toEqual(['v1', 'v2', 'v3', 'v4', null]);
    expect(await r.msetnx('k1', 'x', 'fresh', 'y')).toBe(0);
    expect(await r.rename('k1', 'renamed')).toBe('OK');
    expect(await r.get('renamed')).toBe('v1');
    expect(await r.dbsize()).toBe(5);
  });

  it('keeps replies of a long pipeline in order', async () => {
    const p = r.pipeline();
    for (let i = 0; i < 2000; i++) p.set(`p${i}`, String(i)).get(`p${i}`);
    const out = await p.exec();
    out!.forEach(([err, v], i) => {
      expect(err).toBeNull();
      expect(v).toBe(i % 2 === 0 ? 'OK' : String((i - 1) / 2));
    });
  });

  it('keeps its data across a restart', async () => {
    await r.set('durable', 'yes');
    r.disconnect();
    expect(await server.stop()).toBe(0);
    server = await startServer({ shards: 4, dir: server.dir, args: ['--shard-threads', 'no'] });
    r = connect(server.port);
    expect(await r.get('durable')).toBe('yes');
    expect(await r.get('p1999')).toBe('1999');
  });
});
