/**
 * appendfsync: the policy is live (CONFIG SET reaches every shard), `always` keeps serving, and
 * `everysec` fsyncs LevelDB's log within about a second of a write even if the process is then
 * killed (the '!fsync' record it writes with sync is on disk).
 */
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { startServer } from './helpers/server.js';
import { connect } from './helpers/client.js';

async function fsyncStamp(dir: string, shard: number): Promise<number | null> {
  const db = new ClassicLevel<Buffer, Buffer>(path.join(dir, `shard-${shard}`), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    const v = db.getSync(Buffer.from('!fsync'));
    return v ? v.readUInt32BE(0) * 2 ** 32 + v.readUInt32BE(4) : null;
  } finally {
    await db.close();
  }
}

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

  it('everysec fsyncs a shard that wrote within about a second', async () => {
    const server = await startServer({ shards: 1 });
    const r = connect(server.port);
    const before = Date.now();
    await r.set('k', 'v');
    await new Promise((resolve) => setTimeout(resolve, 1600));
    r.disconnect();
    await server.kill();
    const stamp = await fsyncStamp(server.dir, 0);
    expect(stamp).not.toBeNull();
    expect(stamp!).toBeGreaterThanOrEqual(before);
  });
});
