import { describe, it, expect, beforeAll, afterAll, beforeEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { ClassicLevel } from 'classic-level';
import { startServer, tempDir, type TestServer } from './helpers/server.js';
import { Prefix, decodeExpiryKey, decodeMetaKey, metaExpire, readU64 } from '../src/storage/encoding.js';

const connect = (port: number): Redis => new Redis(port, { lazyConnect: false, maxRetriesPerRequest: 0, enableReadyCheck: false });
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));

/** Polls DBSIZE until it equals `want` or `ms` pass; returns the last value. */
async function dbsizeBecomes(r: Redis, want: number, ms = 5000): Promise<number> {
  const deadline = Date.now() + ms;
  let n = await r.dbsize();
  while (n !== want && Date.now() < deadline) {
    await sleep(50);
    n = await r.dbsize();
  }
  return n;
}

async function setWithPexpire(r: Redis, keys: string[], ms: number): Promise<void> {
  const p = r.pipeline();
  for (const k of keys) {
    p.set(k, 'v');
    p.pexpire(k, ms);
  }
  await p.exec();
}

interface DiskView {
  /** db 0 user keys with their expiry (0 = none). */
  meta: Map<string, number>;
  /** db 0 expiry index entries as key -> time. */
  expiry: Map<string, number>;
  /** db 0 persisted counters: [keys, keys with expiry], summed over shards. */
  counts: [number, number];
}

/** Reads every shard's LevelDB of a stopped server (db 0 only). */
async function readDisk(dir: string, shards: number): Promise<DiskView> {
  const view: DiskView = { meta: new Map(), expiry: new Map(), counts: [0, 0] };
  for (let i = 0; i < shards; i++) {
    const db = new ClassicLevel<Buffer, Buffer>(path.join(dir, `shard-${i}`), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    try {
      for await (const [k, v] of db.iterator()) {
        if (k[0] === Prefix.META && k[1] === 0) view.meta.set(decodeMetaKey(k).key.toString(), metaExpire(v));
        else if (k[0] === Prefix.EXPIRY) {
          const e = decodeExpiryKey(k);
          if (e.db === 0) view.expiry.set(e.key.toString(), e.expireMs);
        } else if (k[0] === Prefix.COUNT && k[1] === 0) {
          view.counts[0] += readU64(v, 0);
          view.counts[1] += readU64(v, 8);
        }
      }
    } finally {
      await db.close();
    }
  }
  return view;
}

describe.each([1, 4])('expiry (%i shards)', (shards) => {
  let srv: TestServer;
  let r: Redis;

  beforeAll(async () => {
    srv = await startServer({ shards });
    r = connect(srv.port);
  });

  afterAll(async () => {
    r?.disconnect();
    await srv?.stop();
    if (srv) fs.rmSync(srv.dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await r.flushall();
  });

  it('active expiry removes keys nobody touches (more than one cycle\'s worth)', async () => {
    const doomed = Array.from({ length: 1000 }, (_, i) => `doomed:${i}`);
    await setWithPexpire(r, doomed, 50);
    for (let i = 0; i < 10; i++) await r.set(`kept:${i}`, 'v');
    expect(await dbsizeBecomes(r, 10)).toBe(10);
    expect((await r.keys('*')).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `kept:${i}`).sort());
  });

  it('lazy expiry: an expired key is gone for GET, EXISTS, TTL and DBSIZE', async () => {
    await r.set('lazy', 'v');
    await r.pexpire('lazy', 500); // a margin for a loaded machine between PEXPIRE and GET
    expect(await r.get('lazy')).toBe('v');
    await sleep(550);
    expect(await r.get('lazy')).toBeNull();
    expect(await r.exists('lazy')).toBe(0);
    expect(await r.ttl('lazy')).toBe(-2);
    expect(await r.pttl('lazy')).toBe(-2);
    expect(await r.dbsize()).toBe(0);
  });

  it('TTL rounds to the nearest second, PTTL counts down from the set value', async () => {
    await r.set('t', 'v');
    await r.expire('t', 100);
    expect(await r.ttl('t')).toBe(100);
    const pttl = await r.pttl('t');
    expect(pttl).toBeGreaterThan(99_000);
    expect(pttl).toBeLessThanOrEqual(100_000);
    await r.pexpire('t', 1500);
    expect([1, 2]).toContain(await r.ttl('t'));
    await r.pexpire('t', 2600);
    expect([2, 3]).toContain(await r.ttl('t'));
    await r.pexpire('t', 400);
    expect([0, 1]).toContain(await r.ttl('t'));
  });

  it('SET drops the TTL of the key it overwrites', async () => {
    await r.set('s', 'v');
    await r.expire('s', 100);
    await r.set('s', 'w');
    expect(await r.ttl('s')).toBe(-1);
  });
});

describe.each([1, 4])('expiry across a restart (%i shards)', (shards) => {
  const dir = tempDir('cairn-expiry-restart-');
  let srv: TestServer | null = null;
  let r: Redis | null = null;

  afterAll(async () => {
    r?.disconnect();
    await srv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps TTLs, drops what expired meanwhile, and leaves no expired record on disk', async () => {
    srv = await startServer({ shards, dir });
    r = connect(srv.port);
    const at = Date.now() + 3_600_000;
    await r.set('a', 'v');
    await r.expire('a', 1000);
    await r.set('b', 'v');
    await r.call('pexpireat', 'b', at);
    await r.set('c', 'v');
    await r.set('d', 'v');
    await r.pexpire('d', 300);
    await r.set('e', 'v');
    await r.expire('e', 1000);
    await r.persist('e');
    r.disconnect();
    await srv.stop();

    await sleep(400);
    srv = await startServer({ shards, dir });
    r = connect(srv.port);
    expect(await r.call('pexpiretime', 'b')).toBe(at);
    const ttl = await r.ttl('a');
    expect(ttl).toBeGreaterThan(990);
    expect(ttl).toBeLessThanOrEqual(1000);
    expect(await r.ttl('c')).toBe(-1);
    expect(await r.ttl('e')).toBe(-1);
    expect(await dbsizeBecomes(r, 4)).toBe(4); // d expired while the server was down
    expect(await r.exists('d')).toBe(0);
    r.disconnect();
    r = null;
    await srv.stop();
    srv = null;

    const disk = await readDisk(dir, shards);
    expect([...disk.meta.keys()].sort()).toEqual(['a', 'b', 'c', 'e']);
    expect(disk.meta.get('b')).toBe(at);
    expect(disk.meta.get('c')).toBe(0);
    expect(disk.expiry).toEqual(new Map([['a', disk.meta.get('a')!], ['b', at]]));
    expect(disk.counts).toEqual([4, 2]);
  });
});
