/**
 * Cross-shard writes cut by SIGKILL between their shards' group commits (src/server/cross-write.ts).
 *
 * DEBUG SET-WRITE-DELAY on one shard holds that shard's next batch back while the other shard's
 * batch is written; the server is killed in between. Cut after the first part (the destination's
 * write, with its intent), the restarted server finishes the write; cut before it, nothing of it
 * is there. Never half: a RENAME's key on both shards, an SMOVE's or LMOVE's element on neither.
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
  },
  {
    name: 'RENAMENX of a hash',
    setup: (r, src) => r.hset(src, 'f1', 'a', 'f2', 'b'),
    run: (r, src, dst) => r.renamenx(src, dst),
    state: (r, src, dst) => Promise.all([r.hgetall(src), r.hgetall(dst)]),
    before: [{ f1: 'a', f2: 'b' }, {}],
    after: [{}, { f1: 'a', f2: 'b' }],
  },
  {
    name: 'SMOVE',
    setup: (r, src, dst) => Promise.all([r.sadd(src, 'm1', 'm2'), r.sadd(dst, 'x')]),
    run: (r, src, dst) => r.smove(src, dst, 'm1'),
    state: (r, src, dst) => Promise.all([sorted(r.smembers(src)), sorted(r.smembers(dst))]),
    before: [['m1', 'm2'], ['x']],
    after: [['m2'], ['m1', 'x']],
  },
  {
    name: 'LMOVE',
    setup: (r, src, dst) => Promise.all([r.rpush(src, 'a', 'b', 'c'), r.rpush(dst, 'z')]),
    run: (r, src, dst) => r.lmove(src, dst, 'LEFT', 'RIGHT'),
    state: (r, src, dst) => Promise.all([r.lrange(src, 0, -1), r.lrange(dst, 0, -1)]),
    before: [['a', 'b', 'c'], ['z']],
    after: [['b', 'c'], ['z', 'a']],
  },
  {
    name: 'MSETNX',
    setup: () => Promise.resolve(),
    run: (r, src, dst) => r.msetnx(dst, 'v1', src, 'v2'),
    state: (r, src, dst) => Promise.all([r.get(dst), r.get(src)]),
    before: [null, null],
    after: ['v1', 'v2'],
  },
];

describe.each(CASES)('a cross-shard $name cut by SIGKILL', (c) => {
  it.each([
    ['after its first part: the restart finishes it', 'src', 'after'],
    ['before its first part: nothing of it is kept', 'dst', 'before'],
  ] as const)('%s', async (_, delayed, expected) => {
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
    expect((await infoFields(after, 'stats')).get('cairn_cross_shard_recovered')).toBe(expected === 'after' ? '1' : '0');
    after.disconnect();
    expect(await server.stop()).toBe(0);
    expect(await crossRecords(server.dir)).toBe(0);
  });
});

/** The cross-shard intent and marker records left in a stopped server's shards. */
async function crossRecords(dir: string): Promise<number> {
  let n = 0;
  for (let i = 0; i < SHARDS; i++) {
    const db = new ClassicLevel<Buffer, Buffer>(path.join(dir, `shard-${i}`), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    for await (const _ of db.keys({ gte: Buffer.from('!x'), lt: Buffer.from('!y') })) n++;
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
    expect((await stats()).get('cairn_cross_shard_writes')).toBe(String(CASES.length));
    // The records go after the replies, intent first, then markers.
    for (let i = 0; i < 100 && (await stats()).get('cairn_cross_shard_unsettled') !== '0'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await stats()).get('cairn_cross_shard_unsettled')).toBe('0');
    r.disconnect();
    expect(await server.stop()).toBe(0);
    expect(await crossRecords(server.dir)).toBe(0);
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
