/**
 * Group commits that reach LevelDB late (DEBUG SET-WRITE-DELAY, as when LevelDB stalls writers):
 * a range read that starts while one is in flight waits for it, so it never misses a write that an
 * earlier command made, whether the batch is written on the shard's thread or through the pool.
 */
import { describe, it, expect } from 'vitest';
import { startServer } from './helpers/server.js';
import { connect } from './helpers/client.js';

describe('group commits in flight', () => {
  for (const native of ['yes', 'no']) {
    it(`range reads wait for a batch not yet in LevelDB (leveldb-native-writes ${native})`, async () => {
      const server = await startServer({ shards: 1, args: ['--enable-debug-command', 'yes', '--leveldb-native-writes', native] });
      const a = connect(server.port);
      const b = connect(server.port);
      try {
        await a.rpush('l', 'x');
        expect(await a.debug('SET-WRITE-DELAY', '300')).toBe('OK');
        const t0 = Date.now();
        // A's writes are in a batch that reaches LevelDB 300 ms late; B's reads arrive meanwhile.
        const writes = Promise.all([a.hset('h', 'f', 'v'), a.sadd('s', 'm'), a.zadd('z', '1', 'm'), a.rpush('l', 'y')]);
        await new Promise((resolve) => setTimeout(resolve, 50));
        const reads = await Promise.all([b.hgetall('h'), b.smembers('s'), b.zrange('z', 0, -1), b.lrange('l', 0, -1), b.scan('0')]);
        expect(await writes).toEqual([1, 1, 1, 2]);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
        expect(reads.slice(0, 4)).toEqual([{ f: 'v' }, ['m'], ['m'], ['x', 'y']]);
        expect(reads[4]![1].sort()).toEqual(['h', 'l', 's', 'z']);
        expect(await a.debug('SET-WRITE-DELAY', '0')).toBe('OK');
        await expect(a.debug('SET-WRITE-DELAY', '-1')).rejects.toThrow('ERR the delay must be 0 to 60000 ms');
      } finally {
        a.disconnect();
        b.disconnect();
        await server.stop();
      }
    });
  }
});
