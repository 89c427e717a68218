/**
 * Database ids (the db byte of every record, mapped from SELECT's numbers by the '!dbs' record):
 * FLUSHDB / FLUSHALL in O(1) (a flushed database takes a fresh id, the background sweep deletes
 * the old id's records by range, and the id is reused afterwards), and SWAPDB in O(1).
 * Through a real server and client; the records left on disk are read with LevelDB itself once
 * the server has stopped.
 */
import { describe, it, expect, afterEach } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import type { Redis } from 'ioredis';
import { startServer, tempDir, type TestServer } from './helpers/server.js';
import { connect } from './helpers/client.js';
import { infoFields, swept } from './helpers/info.js';
import { Prefix, DB_IDS_KEY, EXPIRY_DB_OFFSET, INFO_KEY, decodeDbIds, type DbIds } from '../src/storage/encoding.js';

const running: { server: TestServer; clients: Redis[] }[] = [];

afterEach(async () => {
  for (const { server, clients } of running.splice(0)) {
    for (const c of clients) c.disconnect();
    await server.kill();
  }
});

async function start(o: { dir?: string; shards?: number; args?: string[] } = {}): Promise<{ server: TestServer; r: Redis; db: (n: number) => Promise<Redis> }> {
  const server = await startServer({ shards: o.shards ?? 2, dir: o.dir, args: o.args });
  const clients: Redis[] = [];
  running.push({ server, clients });
  const db = async (n: number): Promise<Redis> => {
    const c = connect(server.port, { retryStrategy: () => null });
    clients.push(c);
    await c.select(n);
    return c;
  };
  return { server, r: await db(0), db };
}

const info = (r: Redis): Promise<Map<string, string>> => infoFields(r, 'everything');

/** Fills database `r` with strings (some with a TTL), a hash, a zset and a list. */
async function fill(r: Redis, prefix: string, strings: number): Promise<void> {
  const p = r.pipeline();
  for (let i = 0; i < strings; i++) {
    if (i % 4 === 0) p.set(`${prefix}:s${i}`, `v${i}`, 'EX', 1000);
    else p.set(`${prefix}:s${i}`, `v${i}`);
  }
  const fields: string[] = [];
  for (let i = 0; i < 2000; i++) fields.push(`f${i}`, `x${i}`);
  p.hset(`${prefix}:h`, ...fields);
  p.zadd(`${prefix}:z`, ...Array.from({ length: 500 }, (_, i) => [String(i), `m${i}`]).flat());
  p.rpush(`${prefix}:l`, ...Array.from({ length: 500 }, (_, i) => `e${i}`));
  p.pexpire(`${prefix}:h`, 10_000_000);
  await p.exec();
}

interface ShardRecords {
  ids: DbIds | null;
  /** Records per database id, by kind ('M', 'S', 'Z', 'G', 'C', 'E'). */
  byId: Map<number, Map<string, number>>;
}

/** Reads every shard's LevelDB of a stopped server. */
async function records(dir: string): Promise<ShardRecords[]> {
  const out: ShardRecords[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => n.startsWith('shard-')).sort()) {
    const db = new ClassicLevel<Buffer, Buffer>(path.join(dir, name), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    try {
      const raw = await db.get(DB_IDS_KEY);
      const byId = new Map<number, Map<string, number>>();
      for await (const k of db.keys()) {
        if (k[0] === Prefix.INFO) continue;
        const id = k[0] === Prefix.EXPIRY ? k[EXPIRY_DB_OFFSET]! : k[1]!;
        const kinds = byId.get(id) ?? new Map<string, number>();
        const kind = String.fromCharCode(k[0]!);
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        byId.set(id, kinds);
      }
      out.push({ ids: raw === undefined ? null : decodeDbIds(raw), byId });
    } finally {
      await db.close();
    }
  }
  return out;
}

describe('FLUSHDB and FLUSHALL give the database a fresh id', () => {
  it('empties the database at once, leaves the others, and the sweep deletes the old records and frees the id', async () => {
    const dir = tempDir('cairn-flush-');
    const { server, r, db } = await start({ dir });
    const one = await db(1);
    await fill(r, 'keep', 300);
    await fill(one, 'gone', 3000);
    expect(await one.dbsize()).toBe(3003);

    expect(await one.flushdb()).toBe('OK');
    // Gone for every read at once, counted at once.
    expect(await one.dbsize()).toBe(0);
    expect(await one.get('gone:s1')).toBeNull();
    expect(await one.exists('gone:h', 'gone:z', 'gone:l')).toBe(0);
    expect(await one.hget('gone:h', 'f1')).toBeNull();
    expect(await one.keys('*')).toEqual([]);
    expect(await one.scan('0', 'COUNT', 1000)).toEqual(['0', []]);
    expect(await one.randomkey()).toBeNull();
    const keyspace = await info(r);
    expect(keyspace.get('db0')).toBe('keys=303,expires=76,avg_ttl=0');
    expect(keyspace.has('db1')).toBe(false);
    // The other database is untouched; the flushed one takes new writes, TTLs included.
    expect(await r.dbsize()).toBe(303);
    expect(await r.hlen('keep:h')).toBe(2000);
    expect(await one.set('gone:s1', 'new')).toBe('OK');
    expect(await one.set('brief', 'x', 'PX', 50)).toBe('OK');
    expect(await one.rpush('gone:l', 'a', 'b')).toBe(2);
    expect(await one.lrange('gone:l', 0, -1)).toEqual(['a', 'b']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await one.dbsize()).toBe(2); // 'brief' expired actively, under the new id

    await swept(r);
    expect(await one.get('gone:s1')).toBe('new');
    expect(await server.stop()).toBe(0);
    const shards = await records(dir);
    for (const s of shards) {
      // Database 1 moved to the first id no database had; nothing of id 1 is left, and id 1 is free.
      expect(s.ids).toEqual({ ids: [0, 16, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], retired: [], expiring: [] });
      expect(s.byId.get(1)).toBeUndefined();
    }
    const total = (id: number, kind: string): number => shards.reduce((n, s) => n + (s.byId.get(id)?.get(kind) ?? 0), 0);
    expect(total(16, 'M')).toBe(2);
    expect(total(0, 'M')).toBe(303);
    expect(total(0, 'E')).toBe(76);

    // And it all survives a restart.
    const again = await start({ dir });
    expect(await again.r.dbsize()).toBe(303);
    const one2 = await again.db(1);
    expect(await one2.dbsize()).toBe(2);
    expect(await one2.get('gone:s1')).toBe('new');
    expect(await one2.lrange('gone:l', 0, -1)).toEqual(['a', 'b']);
  });

  it('a reused id shows nothing of the database that had it before (row cache, expiry entries)', async () => {
    const { r, db } = await start({ shards: 1 });
    const two = await db(2);
    const five = await db(5);
    // Id 2 holds a cached string, a hash and an expiry entry, then database 2 is flushed.
    expect(await two.set('a', 'old')).toBe('OK');
    expect(await two.get('a')).toBe('old');
    expect(await two.hset('h', 'f', 'old')).toBe(1);
    expect(await two.set('t', 'old', 'PX', 400)).toBe('OK');
    expect(await two.flushdb()).toBe('OK');
    await swept(r);
    // Database 5 is flushed next: it takes the lowest free id, 2 again.
    expect(await five.set('before', '1')).toBe('OK');
    expect(await five.flushdb()).toBe('OK');
    expect(await five.get('a')).toBeNull();
    expect(await five.exists('a', 'h', 't', 'before')).toBe(0);
    expect(await five.dbsize()).toBe(0);
    expect(await five.set('t', 'new')).toBe('OK');
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await five.get('t')).toBe('new');
    expect(await five.ttl('t')).toBe(-1);
    expect(await two.dbsize()).toBe(0);
    const keyspace = await info(r);
    expect(keyspace.get('db5')).toBe('keys=1,expires=0,avg_ttl=0');
  });

  it('MOVE and COPY ... DB name databases by number after a flush (on one shard and across shards)', async () => {
    const { r, db } = await start({ shards: 4 });
    const one = await db(1);
    expect(await one.set('x', 'old')).toBe('OK');
    expect(await one.flushdb()).toBe('OK');
    expect(await r.set('k', 'v')).toBe('OK');
    expect(await r.move('k', 1)).toBe(1);
    expect(await one.get('k')).toBe('v');
    await expect(one.move('k', 1)).rejects.toThrow('ERR source and destination objects are the same');
    expect(await one.copy('k', 'k', 'DB', 0)).toBe(1);
    expect(await r.get('k')).toBe('v');
    // Across shards: {a} and {b} hash to different shards of four.
    expect(await r.set('{a}src', 'sv')).toBe('OK');
    expect(await r.copy('{a}src', '{b}dst', 'DB', 1)).toBe(1);
    expect(await one.get('{b}dst')).toBe('sv');
    expect(await one.copy('{b}dst', '{b}dst', 'DB', 1).catch((e: Error) => e.message)).toBe('ERR source and destination objects are the same');
  });

  it('FLUSHALL then a restart before the sweep: keys stay gone and the purge resumes', async () => {
    const dir = tempDir('cairn-flush-');
    const first = await start({ dir, shards: 2 });
    await fill(first.r, 'a', 5000);
    await fill(await first.db(3), 'b', 1000);
    expect(await first.r.flushall()).toBe('OK');
    await first.server.kill(); // before the sweep could delete much (maybe anything)

    const { server, r, db } = await start({ dir, shards: 2 });
    expect(await r.dbsize()).toBe(0);
    expect(await (await db(3)).dbsize()).toBe(0);
    expect(await r.get('a:s1')).toBeNull();
    await swept(r);
    expect(await server.stop()).toBe(0);
    for (const s of await records(dir)) {
      // The two databases that held keys moved to fresh ids (the empty ones had nothing to retire),
      // and nothing was written since; the old ids hold nothing.
      const ids = Array.from({ length: 16 }, (_, n) => n);
      ids[0] = 16;
      ids[3] = 17;
      expect(s.ids).toEqual({ ids, retired: [], expiring: [] });
      expect([...s.byId.keys()]).toEqual([]);
    }
  });

  it('without a free id (256 databases) deletes key by key, with the same outcome', async () => {
    const { r, db } = await start({ shards: 2, args: ['--databases', '256'] });
    const last = await db(255);
    await fill(last, 'x', 500);
    await fill(r, 'y', 10);
    expect(await last.flushdb()).toBe('OK');
    expect(await last.dbsize()).toBe(0);
    expect(await last.get('x:s1')).toBeNull();
    expect(await r.dbsize()).toBe(13);
    expect(await r.flushall()).toBe('OK');
    expect(await r.dbsize()).toBe(0);
    expect((await info(r)).get('sweep_pending_flushed_dbs')).toBe('0');
  });

  it('opens a format-1 data directory and upgrades it in place', async () => {
    const dir = tempDir('cairn-flush-');
    const first = await start({ dir, shards: 1 });
    expect(await first.r.set('k', 'v')).toBe('OK');
    expect(await first.server.stop()).toBe(0);
    // Make it format 1 as an older build wrote it: no '!dbs' record, format 1 in CAIRN and '!format'.
    const cairn = path.join(dir, 'CAIRN');
    fs.writeFileSync(cairn, JSON.stringify({ ...JSON.parse(fs.readFileSync(cairn, 'utf8')), format: 1 }) + '\n');
    const ldb = new ClassicLevel<Buffer, Buffer>(path.join(dir, 'shard-0'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await ldb.open();
    await ldb.put(INFO_KEY, Buffer.from(JSON.stringify({ format: 1, shard: 0, shards: 1 })));
    await ldb.del(DB_IDS_KEY);
    await ldb.close();

    const { server, r } = await start({ dir, shards: 1 });
    expect(await r.get('k')).toBe('v');
    expect(JSON.parse(fs.readFileSync(cairn, 'utf8')).format).toBe(2);
    expect(await server.stop()).toBe(0);
    fs.writeFileSync(cairn, JSON.stringify({ ...JSON.parse(fs.readFileSync(cairn, 'utf8')), format: 3 }) + '\n');
    await expect(startServer({ dir, shards: 1 })).rejects.toThrow(/data format 3 is not supported \(this build reads formats 1, 2\)/);
  });
});

describe('SWAPDB', () => {
  it('answers bad arguments with Redis\' errors', async () => {
    const { r } = await start({ shards: 1 });
    const err = (...args: string[]): Promise<string> => r.call('SWAPDB', ...args).then(String, (e: Error) => e.message);
    expect(await err('a', '1')).toBe('ERR invalid first DB index');
    expect(await err('0', 'b')).toBe('ERR invalid second DB index');
    expect(await err('99999999999', '1')).toBe('ERR invalid first DB index');
    expect(await err('0', '16')).toBe('ERR DB index is out of range');
    expect(await err('-1', '0')).toBe('ERR DB index is out of range');
    expect(await err('1')).toBe("ERR wrong number of arguments for 'swapdb' command");
    expect(await err('0', '0')).toBe('OK');
  });

  it('swaps two databases whole on every shard, TTLs included, and the swap survives a restart', async () => {
    const dir = tempDir('cairn-swapdb-');
    const { server, r, db } = await start({ dir, shards: 4 });
    const one = await db(1);
    await fill(r, 'zero', 200);
    expect(await one.set('only-in-one', '1')).toBe('OK');
    expect(await one.set('soon', 'x', 'PX', 150)).toBe('OK');
    expect(await r.swapdb(0, 1)).toBe('OK');
    // Connections stay on their database number and see the other's data.
    expect(await r.dbsize()).toBe(2);
    expect(await r.get('only-in-one')).toBe('1');
    expect(await one.dbsize()).toBe(203);
    expect(await one.hlen('zero:h')).toBe(2000);
    expect(await one.get('zero:s1')).toBe('v1');
    const keyspace = await info(r);
    expect(keyspace.get('db0')).toBe('keys=2,expires=1,avg_ttl=0');
    expect(keyspace.get('db1')).toBe('keys=203,expires=51,avg_ttl=0');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await r.dbsize()).toBe(1); // 'soon' expired actively in its new database
    // Writes after the swap land in the database the number now names.
    expect(await r.set('after', 'a')).toBe('OK');
    expect(await one.exists('after')).toBe(0);
    expect(await server.stop()).toBe(0);

    const again = await start({ dir, shards: 4 });
    const one2 = await again.db(1);
    expect(await again.r.dbsize()).toBe(2);
    expect(await one2.dbsize()).toBe(203);
    expect(await again.r.swapdb(1, 0)).toBe('OK');
    expect(await again.r.get('zero:s2')).toBe('v2');
    expect(await one2.get('after')).toBe('a');
    // A flushed database swapped in is empty; the swapped-out data is whole.
    expect(await one2.flushdb()).toBe('OK');
    expect(await again.r.swapdb(0, 1)).toBe('OK');
    expect(await again.r.dbsize()).toBe(0);
    expect(await one2.dbsize()).toBe(203);
  });
});
