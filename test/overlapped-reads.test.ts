/**
 * Overlapped reads (leveldb-overlapped-reads): a shard reads the meta records of a frame's
 * commands in one native call before running them. Through a real server whose row caches are
 * empty (restarted on its data), pipelines of reads mixed with writes of the same keys must answer
 * exactly as if each command read for itself.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import { startServer, tempDir, type TestServer } from './helpers/server.js';
import { connect } from './helpers/client.js';
import { infoFields } from './helpers/info.js';

async function withServer(dir: string, args: string[], fn: (s: TestServer) => Promise<void>): Promise<void> {
  const s = await startServer({ dir, shards: 2, args });
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

describe('overlapped reads', () => {
  it('pipelines over records no cache holds answer as command-by-command reads do', async () => {
    const dir = tempDir();
    const N = 3000;
    const value = (i: number): string => `v${i}:` + 'x'.repeat(i % 300);
    try {
      await withServer(dir, [], async (s) => {
        const r = connect(s.port);
        const p = r.pipeline();
        for (let i = 0; i < N; i += 2) p.set(`k${i}`, value(i));
        for (let i = 0; i < 200; i++) {
          p.hset(`h${i}`, 'f', String(i));
          p.sadd(`s${i}`, 'm', 'n');
          p.zadd(`z${i}`, i, 'm');
        }
        await p.exec();
        r.disconnect();
      });
      await withServer(dir, ['--leveldb-overlapped-reads', 'always'], async (s) => {
        const r = connect(s.port);
        // Reads of present and absent keys, with writes and deletes of some of them in the same
        // pipeline: a read after a write in the same frame must see the write.
        const p = r.pipeline();
        const want: unknown[] = [];
        for (let i = 0; i < N; i++) {
          p.get(`k${i}`);
          want.push(i % 2 === 0 ? value(i) : null);
          if (i % 7 === 0) {
            p.set(`k${i}`, `new${i}`);
            want.push('OK');
            p.get(`k${i}`);
            want.push(`new${i}`);
          }
          if (i % 11 === 0) {
            p.del(`k${i}`);
            want.push(i % 2 === 0 || i % 7 === 0 ? 1 : 0);
            p.exists(`k${i}`);
            want.push(0);
          }
        }
        // Members read ahead in the collections found (readsMembers), written in between too.
        for (let i = 0; i < 200; i++) {
          p.hget(`h${i}`, 'f');
          want.push(String(i));
          p.type(`h${i}`);
          want.push('hash');
          p.sismember(`s${i}`, 'm');
          want.push(1);
          p.zscore(`z${i}`, 'm');
          want.push(String(i));
          if (i % 3 === 0) {
            p.hset(`h${i}`, 'f', `new${i}`);
            want.push(0);
            p.srem(`s${i}`, 'm');
            want.push(1);
            p.zadd(`z${i}`, i + 0.5, 'm');
            want.push(0);
          }
          p.hmget(`h${i}`, 'f', 'nope');
          want.push([i % 3 === 0 ? `new${i}` : String(i), null]);
          p.smismember(`s${i}`, 'm', 'n', 'nope');
          want.push([i % 3 === 0 ? 0 : 1, 1, 0]);
          p.zmscore(`z${i}`, 'm', 'nope');
          want.push([String(i % 3 === 0 ? i + 0.5 : i), null]);
          p.hexists(`h${i}`, 'f');
          want.push(1);
          p.hstrlen(`h${i}`, 'f');
          want.push((i % 3 === 0 ? `new${i}` : String(i)).length);
        }
        const got = (await p.exec())!.map(([err, v]) => err ?? v);
        expect(got.length).toBe(want.length);
        for (let i = 0; i < want.length; i++) {
          if (JSON.stringify(got[i]) !== JSON.stringify(want[i])) expect([i, got[i]]).toEqual([i, want[i]]);
        }
        const stats = await infoFields(r, 'stats');
        // With the patched LevelDB (npm install builds it) both shards read this way, and the pipelines above went through it.
        if (stats.get('cairn_overlapped_read_shards') !== '0') {
          expect(stats.get('cairn_overlapped_read_shards')).toBe('2');
          expect(Number(stats.get('cairn_overlapped_read_keys'))).toBeGreaterThan(N / 4);
        }
        r.disconnect();
      });
      await withServer(dir, ['--leveldb-overlapped-reads', 'no'], async (s) => {
        const r = connect(s.port);
        expect(await r.get('k2')).toBe(value(2));
        expect((await infoFields(r, 'stats')).get('cairn_overlapped_read_shards')).toBe('0');
        r.disconnect();
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads ahead the keys of cross-shard MSET parts (the commands __xfirst wraps)", async () => {
    const dir = tempDir();
    try {
      await withServer(dir, ['--leveldb-overlapped-reads', 'always'], async (s) => {
        const r = connect(s.port);
        const before = Number((await infoFields(r, 'stats')).get('cairn_overlapped_read_keys'));
        // Pipelined MSETs of keys on both shards: each shard gets frames of several __xfirst parts.
        const p = r.pipeline();
        for (let i = 0; i < 200; i++) p.mset(...Array.from({ length: 8 }, (_, k) => [`m${i}:${k}`, `v${i}`]).flat());
        await p.exec();
        const stats = await infoFields(r, 'stats');
        if (stats.get('cairn_overlapped_read_shards') !== '0') {
          // Every key is new: each MSET part's keys are looked up ahead (most frames hold many parts).
          expect(Number(stats.get('cairn_overlapped_read_keys')) - before).toBeGreaterThan(200 * 8 / 2);
        }
        expect(await r.mget('m0:0', 'm199:7')).toEqual(['v0', 'v199']);
        r.disconnect();
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
