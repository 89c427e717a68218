/**
 * Unmodified Redis clients against Cairn: node-redis (RESP2 and RESP3 handshakes) and ioredis
 * with its default ready check (INFO) — the clients the README promises.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';

describe.each([1, 4])('unmodified clients (%i shards)', (shards) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ shards });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('node-redis: strings, multi-key, expiry, SCAN iterator, SELECT', async () => {
    const client = createClient({ url: `redis://127.0.0.1:${server.port}` });
    await client.connect();
    try {
      expect(await client.ping()).toBe('PONG');
      expect(await client.set('nr:a', 'hello', { EX: 100 })).toBe('OK');
      expect(await client.get('nr:a')).toBe('hello');
      expect(await client.ttl('nr:a')).toBeGreaterThan(90);
      expect(await client.mSet({ 'nr:b': '1', 'nr:c': '2', 'nr:d': '3' })).toBe('OK');
      expect(await client.mGet(['nr:b', 'nr:c', 'nr:d', 'nr:none'])).toEqual(['1', '2', '3', null]);
      expect(await client.incrBy('nr:b', 41)).toBe(42);
      expect(await client.hSet('nr:h', { f1: 'v1', f2: 'v2' })).toBe(2);
      expect(await client.hGetAll('nr:h')).toEqual({ f1: 'v1', f2: 'v2' });
      const seen: string[] = [];
      for await (const k of client.scanIterator({ MATCH: 'nr:*', COUNT: 2 })) seen.push(k);
      expect(seen.sort()).toEqual(['nr:a', 'nr:b', 'nr:c', 'nr:d', 'nr:h']);
      await client.select(3);
      expect(await client.get('nr:a')).toBeNull();
      expect(await client.dbSize()).toBe(0);
      // Pipelined (auto-batched) commands come back in order.
      const many = await Promise.all(Array.from({ length: 500 }, (_, i) => client.set(`nr:p${i}`, String(i)).then(() => client.get(`nr:p${i}`))));
      expect(many).toEqual(Array.from({ length: 500 }, (_, i) => String(i)));
      await expect(client.sendCommand(['NOSUCHCOMMAND', 'x'])).rejects.toThrow("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x'");
    } finally {
      await client.quit();
    }
  });

  it('ioredis with its default ready check and RESP3', async () => {
    const r = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 0 });
    await new Promise<void>((resolve, reject) => {
      r.once('ready', () => resolve());
      r.once('error', reject);
    });
    try {
      expect(await r.set('io:x', 'y')).toBe('OK');
      expect(await r.get('io:x')).toBe('y');
      expect(await r.hgetall('nr:h')).toEqual({ f1: 'v1', f2: 'v2' });
      await expect(r.hget('io:x', 'f')).rejects.toThrow('WRONGTYPE Operation against a key holding the wrong kind of value');
    } finally {
      r.disconnect();
    }
  });
});
