/**
 * Cross-shard writes cut by SIGKILL between their shards' group commits (src/server/cross-write.ts).
 *
 * DEBUG SET-WRITE-DELAY on one shard holds that shard's next batch back while the other shard's
 * batch is written; the server is killed in between. Once some shard has written its part (and
 * the intent with it), the restarted server finishes the write; the coordinated commands write
 * their destination first, so cut before that, nothing of them is there. Never half: a RENAME's
 * key on both shards, an SMOVE's or LMOVE's element on neither, part of an MSET.
 */
import { describe, it, expect, onTestFinished } from 'vitest';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Redis } from 'ioredis';
import { startServer } from './helpers/server.js';
import { connect } from './helpers/client.js';
import { fragileClient } from './helpers/crash.js';
import { infoFields } from './helpers/info.js';
import { decodeParts, encodeParts } from '../src/server/cross-write.js';
import { keyShard } from '../src/server/slot.js';

const SHARDS = 4;
const shardOf = (key: string): number => keyShard(Buffer.from(key), SHARDS);

/** `dst` (the first part's shard) and `src` (another shard: the later part's). */
function keysOnTwoShards(name: string): { src: string; dst: string } {
  const dst = `${name}:dst`;
  for (let i = 0; ; i++) {
    const src = `${name}:src${i}`;
    if (shardOf(src) !== shardOf(dst)) return { src, dst };
  }
}

interface Case {
  name: string;
  setup(r: Redis, src: string, dst: string): Promise<unknown>;
  /** The cross-shard command; its first part writes on dst's shard, the other on src's. */
  run(r: Redis, src: string, dst: string): Promise<unknown>;
  /** What a client sees of both keys. */
  state(r: Redis, src: string, dst: string): Promise<unknown>;
  before: unknown;
  after: unknown;
  /** What a restart shows when the dst's shard is the one held back (all at once: the rest finishes it). */
  dstHeld: 'before' | 'after';
}

const sorted = (p: Promise<string[]>): Promise<string[]> => p.then((m) => m.sort());

const CASES: Case[] = [
  {
    name: 'RENAME of a string',
    setup: (r, src) => r.set(src, 'v'),
    run: (r, src, dst) => r.rename(src, dst),
    state: (r, src, dst) => Promise.all([r.get(src), r.get(dst)]),
    before: ['v', null],
    after: [null, 'v'],
    dstHeld: 'before',
  },
  {
    name: 'RENAMENX of a hash',
    setup: (r, src) => r.hset(src, 'f1', 'a', 'f2', 'b'),
    run: (r, src, dst) => r.renamenx(src, dst),
    state: (r, src, dst) => Promise.all([r.hgetall(src), r.hgetall(dst)]),
    before: [{ f1: 'a', f2: 'b' }, {}],
    after: [{}, { f1: 'a', f2: 'b' }],
    dstHeld: 'before',
  },
  {
    name: 'SMOVE',
    setup: (r, src, dst) => Promise.all([r.sadd(src, 'm1', 'm2'), r.sadd(dst, 'x')]),
    run: (r, src, dst) => r.smove(src, dst, 'm1'),
    state: (r, src, dst) => Promise.all([sorted(r.smembers(src)), sorted(r.smembers(dst))]),
    before: [['m1', 'm2'], ['x']],
    after: [['m2'], ['m1', 'x']],
    dstHeld: 'before',
  },
  {
    name: 'LMOVE',
    setup: (r, src, dst) => Promise.all([r.rpush(src, 'a', 'b', 'c'), r.rpush(dst, 'z')]),
    run: (r, src, dst) => r.lmove(src, dst, 'LEFT', 'RIGHT'),
    state: (r, src, dst) => Promise.all([r.lrange(src, 0, -1), r.lrange(dst, 0, -1)]),
    before: [['a', 'b', 'c'], ['z']],
    after: [['b', 'c'], ['z', 'a']],
    dstHeld: 'before',
  },
  {
    name: 'MSETNX',
    setup: () => Promise.resolve(),
    run: (r, src, dst) => r.msetnx(dst, 'v1', src, 'v2'),
    state: (r, src, dst) => Promise.all([r.get(dst), r.get(src)]),
    before: [null, null],
    after: ['v1', 'v2'],
    dstHeld: 'after',
  },
  {
    name: 'MSET',
    setup: (r, src, dst) => r.mset(src, 'old1', dst, 'old2'),
    run: (r, src, dst) => r.mset(dst, 'v1', src, 'v2'),
    state: (r, src, dst) => Promise.all([r.get(dst), r.get(src)]),
    before: ['old2', 'old1'],
    after: ['v1', 'v2'],
    dstHeld: 'after',
  },
  {
    name: 'DEL',
    setup: (r, src, dst) => Promise.all([r.set(src, 'a'), r.sadd(dst, 'm')]),
    run: (r, src, dst) => r.del(src, dst),
    state: (r, src, dst) => Promise.all([r.get(src), r.smembers(dst)]),
    before: ['a', ['m']],
    after: [null, []],
    dstHeld: 'after',
  },
  {
    name: 'FLUSHALL',
    setup: (r, src, dst) => Promise.all([r.set(src, 'a'), r.hset(dst, 'f', 'v')]),
    run: (r) => r.flushall(),
    state: (r, src, dst) => Promise.all([r.get(src), r.hgetall(dst)]),
    before: ['a', { f: 'v' }],
    after: [null, {}],
    dstHeld: 'after',
  },
  {
    name: 'SWAPDB',
    setup: (r, src, dst) => Promise.all([r.set(src, 'a'), r.set(dst, 'b')]),
    run: (r) => r.swapdb(0, 1),
    // Database 0's view of both keys, then database 1's.
    state: async (r, src, dst) => {
      const zero = [await r.get(src), await r.get(dst)];
      await r.select(1);
      const one = [await r.get(src), await r.get(dst)];
      await r.select(0);
      return [...zero, ...one];
    },
    before: ['a', 'b', null, null],
    after: [null, null, 'a', 'b'],
    dstHeld: 'after',
  },
];

describe.each(CASES)('a cross-shard $name cut by SIGKILL', (c) => {
  it.each([
    ["with the source's shard held back", 'src'],
    ["with the destination's shard held back", 'dst'],
  ] as const)('%s', async (_, delayed) => {
    const expected = delayed === 'src' ? 'after' : c.dstHeld;
    const keys = keysOnTwoShards(`x:${c.name}`);
    let server = await startServer({ shards: SHARDS, args: ['--enable-debug-command', 'yes'] });
    onTestFinished(() => server.kill());
    const r = await fragileClient(server.port);
    await c.setup(r, keys.src, keys.dst);
    expect(await c.state(r, keys.src, keys.dst)).toEqual(c.before);
    // That shard's next group commit waits 5 s: the other shard's part is written meanwhile.
    expect(await r.call('DEBUG', 'SET-WRITE-DELAY', '5000', String(shardOf(keys[delayed])))).toBe('OK');
    const pending = c.run(r, keys.src, keys.dst).then(() => 'answered', () => 'killed');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await server.kill();
    expect(await pending).toBe('killed');
    r.disconnect();

    server = await startServer({ shards: SHARDS, dir: server.dir });
    const after = connect(server.port);
    expect(await c.state(after, keys.src, keys.dst)).toEqual(c[expected]);
    expect(await after.dbsize()).toBe((await after.keys('*')).length);
    // The parts the restart ran (one per case here: the held-back shard's).
    expect((await infoFields(after, 'stats')).get('cairn_cross_shard_recovered')).toBe(expected === 'after' ? '1' : '0');
    after.disconnect();
    expect(await server.stop()).toBe(0);
    expect(await crossRecords(server.dir)).toBe(0);
  });
});

/** The cross-shard intent and marker records left in a stopped server's shards (a watermark may stay). */
async function crossRecords(dir: string): Promise<number> {
  let n = 0;
  for (let i = 0; i < SHARDS; i++) {
    const db = new ClassicLevel<Buffer, Buffer>(path.join(dir, `shard-${i}`), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    for await (const _ of db.keys({ gte: Buffer.from('!xi'), lt: Buffer.from('!xn') })) n++;
    await db.close();
  }
  return n;
}

describe('cross-shard writes without a crash', () => {
  it('leave no intent or marker behind', async () => {
    const server = await startServer({ shards: SHARDS });
    onTestFinished(() => server.kill());
    const r = connect(server.port);
    for (const c of CASES) {
      const keys = keysOnTwoShards(`ok:${c.name}`);
      await c.setup(r, keys.src, keys.dst);
      await c.run(r, keys.src, keys.dst);
      expect(await c.state(r, keys.src, keys.dst)).toEqual(c.after);
    }
    const stats = async (): Promise<Map<string, string>> => infoFields(r, 'stats');
    expect((await stats()).get('cairn_cross_shard_writes')).toBe(String(CASES.length + 1)); // MSET's setup is one too
    // The records go after the replies, intent first, then markers.
    for (let i = 0; i < 100 && (await stats()).get('cairn_cross_shard_unsettled') !== '0'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await stats()).get('cairn_cross_shard_unsettled')).toBe('0');
    r.disconnect();
    expect(await server.stop()).toBe(0);
    expect(await crossRecords(server.dir)).toBe(0);
  });

  it('count no keyspace hit or miss for LMOVE, SMOVE and RENAME (write lookups, as in Redis)', async () => {
    const server = await startServer({ shards: SHARDS });
    onTestFinished(() => server.kill());
    const r = connect(server.port);
    const keys = keysOnTwoShards('stats');
    await r.rpush(keys.src, 'a', 'b');
    await r.sadd(`{${keys.src}}s`, 'm');
    const stats = async (): Promise<string[]> => {
      const f = await infoFields(r, 'stats');
      return [f.get('keyspace_hits')!, f.get('keyspace_misses')!];
    };
    const before = await stats();
    expect(await r.lmove(keys.src, keys.dst, 'LEFT', 'RIGHT')).toBe('a');
    expect(await r.smove(`{${keys.src}}s`, `{${keys.dst}}s`, 'm')).toBe(1);
    expect(await r.rename(keys.dst, `{${keys.src}}moved`)).toBe('OK');
    expect(await stats()).toEqual(before);
    r.disconnect();
    expect(await server.stop()).toBe(0);
  });

  it('encode their parts losslessly', () => {
    const parts = [
      { shard: 3, db: 15, args: [Buffer.from('__lpopn'), Buffer.from([0, 0xff, 13, 10]), Buffer.alloc(0)] },
      { shard: 0, db: 0, args: [Buffer.from('del'), Buffer.from('k')] },
    ];
    expect(decodeParts(encodeParts(parts))).toEqual(parts);
    expect(() => decodeParts(encodeParts(parts).subarray(0, 20))).toThrow();
  });
});

describe('concurrent cross-shard MSET and DEL killed at random moments', () => {
  it('leave every command whole after the restart, and every acknowledged one there', async () => {
    let server = await startServer({ shards: SHARDS });
    onTestFinished(() => server.kill());
    const WIDTH = 4; // keys per MSET, spread over the shards by their hash slots
    const keysOf = (op: number): string[] => Array.from({ length: WIDTH }, (_, k) => `cc:${op}:${k}`);
    // Each client: MSET of an op's keys to the op's value; after every third one, DEL of them.
    const msets = { sent: new Set<number>(), acked: new Set<number>() };
    const dels = { sent: new Set<number>(), acked: new Set<number>() };
    const send = async (log: typeof msets, id: number, p: () => Promise<unknown>): Promise<void> => {
      log.sent.add(id);
      await p();
      log.acked.add(id);
    };
    let op = 0;
    for (let round = 0; round < 4; round++) {
      const clients = await Promise.all([0, 1, 2, 3, 4, 5].map(() => fragileClient(server.port)));
      const runs = clients.map(async (r) => {
        try {
          for (;;) {
            const id = op++;
            await send(msets, id, () => r.mset(...keysOf(id).flatMap((k) => [k, `v${id}`])));
            if (id % 3 === 0) await send(dels, id, () => r.del(...keysOf(id)));
          }
        } catch {
          // killed
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 100 + 90 * round));
      await server.kill();
      await Promise.all(runs);
      clients.forEach((r) => r.disconnect());
      server = await startServer({ shards: SHARDS, dir: server.dir });
    }
    const r = connect(server.port);
    for (const id of msets.sent) {
      const values = await r.mget(...keysOf(id));
      const present = values.filter((v) => v !== null);
      expect(present.length === 0 || present.length === WIDTH, `MSET ${id} half there: ${values.join(',')}`).toBe(true);
      for (const v of present) expect(v).toBe(`v${id}`);
      if (present.length === 0) expect(msets.acked.has(id) && !dels.sent.has(id), `acknowledged MSET ${id} lost`).toBe(false);
      else expect(dels.acked.has(id), `acknowledged DEL ${id} undone`).toBe(false);
    }
    expect(msets.acked.size).toBeGreaterThan(100);
    expect(dels.acked.size).toBeGreaterThan(10);
    expect(await r.dbsize()).toBe((await r.keys('*')).length);
    r.disconnect();
    expect(await server.stop()).toBe(0);
  });
});
