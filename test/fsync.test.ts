/**
 * appendfsync: the policy is live (CONFIG SET reaches every shard), `always` keeps serving, and
 * `everysec` fsyncs LevelDB's logs within about a second of a write (INFO persistence counts the
 * fsyncs that completed).
 */
import { describe, it, expect } from 'vitest';
import { startServer } from './helpers/server.js';
import { connect } from './helpers/client.js';

describe('appendfsync', () => {
  it('is set live and every policy keeps acknowledged writes', async () => {
    const server = await startServer({ shards: 2 });
    const r = connect(server.port);
    try {
      expect(await r.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
      for (const policy of ['always', 'no', 'everysec']) {
        expect(await r.config('SET', 'appendfsync', policy)).toBe('OK');
        expect(await r.config('GET', 'appendfsync')).toEqual(['appendfsync', policy]);
        for (let i = 0; i < 50; i++) await r.set(`${policy}:${i}`, String(i));
        expect(await r.mget(`${policy}:0`, `${policy}:49`)).toEqual(['0', '49']);
      }
      await expect(r.config('SET', 'appendfsync', 'sometimes')).rejects.toThrow(
        "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no");
    } finally {
      r.disconnect();
      await server.stop();
    }
  });

  it('everysec fsyncs the logs of a shard that wrote, within about a second, and only then', async () => {
    const server = await startServer({ shards: 1 });
    const r = connect(server.port);
    try {
      const fsyncs = async (): Promise<number> => Number(/cairn_log_fsyncs:(\d+)/.exec(await r.info('persistence'))![1]);
      await new Promise((resolve) => setTimeout(resolve, 1200)); // start-up's own writes are synced
      const before = await fsyncs();
      await r.set('k', 'v');
      await new Promise((resolve) => setTimeout(resolve, 1600));
      const after = await fsyncs();
      expect(after).toBe(before + 1);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect(await fsyncs()).toBe(after); // nothing written: nothing to sync
      expect(await r.config('SET', 'appendfsync', 'always')).toBe('OK');
      await r.set('k', 'w');
      expect(await fsyncs()).toBe(after + 1); // the write's own group commit, before its reply
    } finally {
      r.disconnect();
      await server.stop();
    }
  });
});

describe('group-commit figures in INFO persistence', () => {
  it('count the batches written on the shard threads and their time; CONFIG RESETSTAT zeroes them', async () => {
    const server = await startServer({ shards: 2 });
    const r = connect(server.port);
    try {
      const fields = async (): Promise<Record<string, number>> => {
        const out: Record<string, number> = {};
        for (const m of (await r.info('persistence')).matchAll(/^(cairn_batch_\w+|cairn_slow_batch_writes|cairn_leveldb_level0_files):(\d+)/gm)) out[m[1]!] = Number(m[2]);
        return out;
      };
      expect(await r.config('RESETSTAT')).toBe('OK');
      const zero = await fields();
      expect(zero).toEqual({ cairn_batch_writes: 0, cairn_batch_write_usec: 0, cairn_batch_write_max_usec: 0, cairn_slow_batch_writes: 0, cairn_leveldb_level0_files: 0 });
      // One client, one write at a time: each SET is its own group commit.
      for (let i = 0; i < 20; i++) await r.set(`k${i}`, 'v');
      const after = await fields();
      expect(after.cairn_batch_writes).toBeGreaterThanOrEqual(20);
      expect(after.cairn_batch_write_usec).toBeGreaterThan(0);
      expect(after.cairn_batch_write_max_usec).toBeGreaterThan(0);
      expect(after.cairn_batch_write_max_usec).toBeLessThanOrEqual(after.cairn_batch_write_usec);
      expect(await r.config('RESETSTAT')).toBe('OK');
      expect((await fields()).cairn_batch_writes).toBe(0);
    } finally {
      r.disconnect();
      await server.stop();
    }
  });
});
