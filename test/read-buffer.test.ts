/**
 * Every connection reads into one shared buffer (src/server/client-socket.ts): a command's
 * arguments are views of it until the read callback returns. Commands that outlive that call must
 * have been copied: a cross-shard RENAME (the front thread awaits a shard's reply, then uses its
 * key names again), the commands queued behind it on the same connection, and commands split
 * across reads. Another client keeps the shared buffer busy with different bytes meanwhile.
 */
import { describe, it, expect } from 'vitest';
import { serverForSuite } from './helpers/suite.js';
import { keyShard } from '../src/server/slot.js';

const SHARDS = 4;
const ROUNDS = 300;

/** A destination name on another shard than `src`. */
function otherShardKey(src: string, base: string): string {
  for (let i = 0; ; i++) {
    const k = `${base}:${i}`;
    if (keyShard(Buffer.from(k), SHARDS) !== keyShard(Buffer.from(src), SHARDS)) return k;
  }
}

describe('arguments kept past the read that carried them', () => {
  const suite = serverForSuite({ shards: SHARDS });

  it('cross-shard RENAME and the commands queued behind it keep their own bytes', async () => {
    const a = suite.connect();
    const noise = suite.connect();
    let flooding = true;
    const flood = (async (): Promise<number> => {
      let n = 0;
      while (flooding) {
        const p = noise.pipeline();
        for (let j = 0; j < 50; j++) p.set(`noise:${n++ % 500}`, 'Z'.repeat(40 + (n % 60)));
        await p.exec();
      }
      return n;
    })();

    const renames: { src: string; dst: string; value: string }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const src = `src:${i}`;
      renames.push({ src, dst: otherShardKey(src, `dst:${i}`), value: `value-${i}-${'v'.repeat(i % 50)}` });
    }
    const replies: unknown[] = [];
    for (let i = 0; i < ROUNDS; i += 10) {
      const p = a.pipeline();
      for (const r of renames.slice(i, i + 10)) p.set(r.src, r.value).rename(r.src, r.dst).get(r.dst).strlen(r.dst);
      for (const [err, reply] of (await p.exec())!) replies.push(err ? err.message : reply);
    }
    flooding = false;
    await flood;

    const expected = renames.flatMap((r) => ['OK', 'OK', r.value, r.value.length]);
    expect(replies).toEqual(expected);
    for (const r of renames) {
      expect(await a.exists(r.src)).toBe(0);
      expect(await a.get(r.dst)).toBe(r.value);
    }
    expect(await a.dbsize()).toBe(ROUNDS + 500);
  });

  it('a command split over many reads, with other connections reading in between', async () => {
    const b = suite.connect();
    const noise = suite.connect();
    const value = Buffer.alloc(3 * 64 * 1024 + 17);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7) & 0xff;
    const pending = Promise.all(Array.from({ length: 20 }, (_, i) => noise.set(`n${i}`, 'Q'.repeat(1000))));
    await b.set('big', value);
    await pending;
    expect((await b.getBuffer('big'))!.equals(value)).toBe(true);
  });
});
