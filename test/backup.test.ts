/**
 * BGSAVE / SAVE / LASTSAVE: backups into <dir>/backups/<timestamp>.
 *
 * What is proven: the pool task copies a shard's live records and leaves out garbage (dead
 * versions and their 'G' records) and aborts cleanly; over 4 shards a BGSAVE taken while other
 * clients keep writing is one moment of the global command order (every key of one MSET
 * generation together, per-client INCR sequences without a gap); a second server started on the
 * backup directory reads every type back; LASTSAVE, INFO persistence, "already in progress",
 * SAVE; a shutdown during a backup stops cleanly and leaves no half backup.
 */
import { describe, it, expect, beforeAll, afterAll, onTestFinished } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { ClassicLevel } from 'classic-level';
import type { Redis } from 'ioredis';
import { startServer, tempDir, type TestServer } from './helpers/server.js';
import { connect } from './helpers/client.js';
import { infoFields } from './helpers/info.js';
import { keyShard } from '../src/server/slot.js';
import {
  Prefix, Type, encodeMeta, encodeStringMeta, metaKey, subKey, scoreKey, garbageKey, expiryKey, countKey, INFO_KEY,
  FORMAT_VERSION, DB_IDS_KEY, encodeDbIds, decodeDbIds,
} from '../src/storage/encoding.js';
import { copyShards, type BackupProgress, type BackupResult, TEMP_PREFIX } from '../src/shard/backup.js';

const SHARDS = 4;

// ------------------------------------------------------------------ helpers

type Db = ClassicLevel<Buffer, Buffer>;

async function openDb(dir: string, multithreading = false): Promise<Db> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', multithreading });
  await db.open();
  return db;
}

/** Runs the pool task in this thread, answering 'snap' (or 'abort') when it has opened the shards. */
async function runCopy(paths: string[], temp: string, final: string, word: 'snap' | 'abort' = 'snap'): Promise<BackupResult> {
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (m: BackupProgress) => {
    if (m.type === 'opened') port1.postMessage(word);
  });
  try {
    return await copyShards({ paths, temp, final, port: port2, abort: new Int32Array(new SharedArrayBuffer(4)) });
  } finally {
    port1.close();
  }
}

const info = (r: Redis, section = 'persistence'): Promise<Map<string, string>> => infoFields(r, section);

/** Polls INFO until no backup runs (the test timeout bounds it). */
async function saved(r: Redis): Promise<Map<string, string>> {
  for (;;) {
    const i = await info(r);
    if (i.get('rdb_bgsave_in_progress') === '0') return i;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `n` key names, at least one per shard, spread by hash slot. */
function keysOverShards(prefix: string, n: number): string[] {
  const keys = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const shards = new Set(keys.map((k) => keyShard(Buffer.from(k), SHARDS)));
  expect(shards.size).toBe(SHARDS);
  return keys;
}

/** Data of every type on every shard; returns a reader giving the same picture from any server. */
async function writeEveryType(r: Redis): Promise<void> {
  const p = r.pipeline();
  for (let i = 0; i < 40; i++) {
    p.set(`str:${i}`, `value-${i}`);
    p.hset(`hash:${i}`, 'a', `${i}`, 'b', 'two', 'c', 'x'.repeat(i));
    p.rpush(`list:${i}`, 'l1', 'l2', `${i}`);
    p.sadd(`set:${i}`, 'm1', 'm2', `${i}`);
    p.zadd(`zset:${i}`, 1, 'one', 2.5, 'two', -i, `neg${i}`);
  }
  p.set('ttl:key', 'soon', 'EX', 1000);
  // Garbage at backup time (unless the sweep is quicker): dead versions of overwritten collections.
  for (let i = 0; i < 40; i += 4) {
    p.del(`hash:${i}`);
    p.hset(`hash:${i}`, 'new', 'version');
  }
  p.select(3);
  p.set('in-db-3', 'yes');
  p.select(0);
  for (const [err] of (await p.exec())!) expect(err).toBeNull();
}

async function readEveryType(r: Redis): Promise<unknown[]> {
  const p = r.pipeline();
  for (let i = 0; i < 40; i++) {
    p.get(`str:${i}`);
    p.hgetall(`hash:${i}`);
    p.lrange(`list:${i}`, 0, -1);
    p.smembers(`set:${i}`);
    p.zrange(`zset:${i}`, 0, -1, 'WITHSCORES');
  }
  p.get('ttl:key');
  p.select(3);
  p.get('in-db-3');
  p.dbsize();
  p.select(0);
  const out = (await p.exec())!.map(([err, v]) => {
    expect(err).toBeNull();
    return Array.isArray(v) ? [...(v as string[])].sort() : v;
  });
  const ttl = await r.ttl('ttl:key');
  expect(ttl).toBeGreaterThan(900);
  return out;
}

function backupDirs(dir: string): string[] {
  const b = path.join(dir, 'backups');
  return fs.existsSync(b) ? fs.readdirSync(b).sort() : [];
}

// ------------------------------------------------------------------ the pool task on LevelDBs

describe('copyShards (the pool task)', () => {
  it('copies the live records of every shard, leaves out garbage, writes CAIRN and renames when complete', async () => {
    const root = tempDir('cairn-backup-unit-');
    onTestFinished(() => fs.rmSync(root, { recursive: true, force: true }));
    const paths = [path.join(root, 'shard-0'), path.join(root, 'shard-1')];
    const k = (s: string): Buffer => Buffer.from(s);
    const expected: Buffer[][] = [];
    for (let s = 0; s < 2; s++) {
      const db = await openDb(paths[s]!, true);
      const live: [Buffer, Buffer][] = [
        [INFO_KEY, k(JSON.stringify({ format: FORMAT_VERSION, shard: s, shards: 2 }))],
        // Database 0 has id 0; id 5 was flushed (retired): its records are left out.
        [DB_IDS_KEY, encodeDbIds({ ids: [0], retired: [5], expiring: [5] })],
        [countKey(0), Buffer.alloc(16)],
        [metaKey(0, k('str')), encodeStringMeta(k('v'), 0)],
        [expiryKey(123, 0, k('str')), Buffer.alloc(0)],
        // hash 'h' version 9 is live; 'z' version 7 a live zset.
        [metaKey(0, k('h')), encodeMeta({ type: Type.HASH, flags: 0, expire: 0, version: 9n, size: 2 })],
        [subKey(0, k('h'), 9n, k('a')), k('1')],
        [subKey(0, k('h'), 9n, k('b')), k('2')],
        [metaKey(0, k('z')), encodeMeta({ type: Type.ZSET, flags: 0, expire: 0, version: 7n, size: 1 })],
        [subKey(0, k('z'), 7n, k('m')), Buffer.alloc(8)],
        [scoreKey(0, k('z'), 7n, 1, k('m')), Buffer.alloc(0)],
      ];
      const dead: [Buffer, Buffer][] = [
        // 'h' version 5 is dead (its 'G' record names it); 'gone' has no meta at all; 'str' was a hash once.
        ...Array.from({ length: 1500 }, (_, i): [Buffer, Buffer] => [subKey(0, k('h'), 5n, k(`old${i}`)), k('x')]),
        [garbageKey(0, k('h'), 5n), Buffer.alloc(0)],
        [subKey(0, k('gone'), 3n, k('f')), k('x')],
        [scoreKey(0, k('gone'), 3n, 2, k('f')), Buffer.alloc(0)],
        [subKey(0, k('str'), 2n, k('f')), k('x')],
        [garbageKey(0, k('gone'), 3n), Buffer.alloc(0)],
        [metaKey(5, k('flushed')), encodeMeta({ type: Type.HASH, flags: 0, expire: 99, version: 4n, size: 1 })],
        [subKey(5, k('flushed'), 4n, k('f')), k('x')],
        [garbageKey(5, k('h'), 2n), Buffer.alloc(0)],
        [expiryKey(99, 5, k('flushed')), Buffer.alloc(0)],
        [countKey(5), Buffer.alloc(16)],
      ];
      await db.batch([...live, ...dead].map(([key, value]) => ({ type: 'put' as const, key, value })));
      await db.close();
      expected.push(live.map(([key]) => key));
    }
    const temp = path.join(root, 'backups', TEMP_PREFIX + 'b1');
    const final = path.join(root, 'backups', 'b1');
    const r = await runCopy(paths, temp, final);
    expect(r.aborted).toBe(false);
    expect(r.keys).toBe(2 * 3);
    expect(r.records).toBe(2 * 11);
    expect(r.bytes).toBeGreaterThan(0);
    expect(fs.existsSync(temp)).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(final, 'CAIRN'), 'utf8'))).toMatchObject({ format: FORMAT_VERSION, shards: 2 });
    for (let s = 0; s < 2; s++) {
      const db = await openDb(path.join(final, `shard-${s}`));
      const keys = await db.keys().all();
      // The copy has no retired id left to sweep.
      expect(decodeDbIds((await db.get(DB_IDS_KEY))!)).toEqual({ ids: [0], retired: [], expiring: [] });
      await db.close();
      expect(keys.map((x) => x.toString('hex'))).toEqual(expected[s]!.map((x) => x.toString('hex')).sort());
      expect(keys.some((x) => x[0] === Prefix.GARBAGE)).toBe(false);
    }
  });

  it('aborts before the snapshot without leaving a directory behind', async () => {
    const root = tempDir('cairn-backup-unit-');
    onTestFinished(() => fs.rmSync(root, { recursive: true, force: true }));
    const shard = path.join(root, 'shard-0');
    const db = await openDb(shard, true);
    await db.put(INFO_KEY, Buffer.from('{}'));
    await db.close();
    const temp = path.join(root, 'backups', TEMP_PREFIX + 'b');
    const r = await runCopy([shard], temp, path.join(root, 'backups', 'b'), 'abort');
    expect(r.aborted).toBe(true);
    expect(backupDirs(root)).toEqual([]);
  });
});

// ------------------------------------------------------------------ against the server

describe(`BGSAVE / SAVE / LASTSAVE (${SHARDS} shards)`, () => {
  let server: TestServer;
  let r: Redis;
  const restored: TestServer[] = [];

  beforeAll(async () => {
    server = await startServer({ shards: SHARDS });
    r = connect(server.port);
  });

  afterAll(async () => {
    r?.disconnect();
    for (const s of restored) await s.stop();
    await server?.stop();
  });

  it('LASTSAVE is the start time before any save; BGSAVE SCHEDULE / syntax / arity errors as Redis', async () => {
    const started = Number(await r.call('LASTSAVE'));
    expect(Math.abs(started - Date.now() / 1000)).toBeLessThan(60);
    expect((await info(r)).get('rdb_last_save_time')).toBe(String(started));
    await expect(r.call('BGSAVE', 'NOW')).rejects.toThrow('ERR syntax error');
    await expect(r.call('BGSAVE', 'SCHEDULE', 'x')).rejects.toThrow('ERR syntax error');
    await expect(r.call('SAVE', 'x')).rejects.toThrow("ERR wrong number of arguments for 'save' command");
    await expect(r.call('LASTSAVE', 'x')).rejects.toThrow("ERR wrong number of arguments for 'lastsave' command");
  });

  it('a BGSAVE taken while clients write is one moment across shards, and a server on the backup reads it all back', async () => {
    await writeEveryType(r);
    const before = await readEveryType(r);
    const gen = keysOverShards('gen:', 16);
    const seq = keysOverShards('seq:', 16);
    // Writer 1: MSET of one generation number to keys on every shard, again and again.
    // Writer 2: INCR of seq:0 .. seq:15 in order, again and again (each INCR its own command).
    const w1 = connect(server.port);
    const w2 = connect(server.port);
    let stop = false;
    const mset = (async () => {
      for (let g = 1; !stop; g++) await w1.mset(...gen.flatMap((k) => [k, String(g)]));
    })();
    const incr = (async () => {
      while (!stop) {
        const p = w2.pipeline();
        for (const k of seq) p.incr(k);
        await p.exec();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await r.call('BGSAVE')).toBe('Background saving started');
    await new Promise((resolve) => setTimeout(resolve, 100));
    stop = true;
    await Promise.all([mset, incr]);
    w1.disconnect();
    w2.disconnect();
    const i = await saved(r);
    expect(i.get('rdb_last_bgsave_status')).toBe('ok');
    expect(Number(i.get('rdb_saves'))).toBeGreaterThanOrEqual(1);
    expect(i.get('backup_dir')).toBe(path.join(server.dir, 'backups'));
    const dir = i.get('backup_last_path')!;
    expect(path.dirname(dir)).toBe(path.join(server.dir, 'backups'));
    expect(Number(i.get('backup_last_bytes'))).toBeGreaterThan(0);
    // Everything written before (5 x 40 + 1 + 1 keys) plus the writers' 32 keys.
    expect(Number(i.get('backup_last_keys'))).toBe(5 * 40 + 2 + 32);
    expect(Number(await r.call('LASTSAVE'))).toBe(Number(i.get('rdb_last_save_time')));

    const copy = await startServer({ dir, shards: 0 });
    restored.push(copy);
    const c = connect(copy.port);
    onTestFinished(() => c.disconnect());
    expect(await readEveryType(c)).toEqual(before);
    const gens = await c.mget(...gen);
    expect(new Set(gens).size).toBe(1);
    expect(Number(gens[0])).toBeGreaterThan(0);
    // A consistent cut of one client's command sequence: seq:0 >= seq:1 >= ... >= seq:15 >= seq:0 - 1.
    const seqs = (await c.mget(...seq)).map(Number);
    expect(seqs[0]).toBeGreaterThan(0);
    for (let j = 1; j < seqs.length; j++) expect(seqs[j - 1]! - seqs[j]!).toBeGreaterThanOrEqual(0);
    expect(seqs[0]! - seqs[seqs.length - 1]!).toBeLessThanOrEqual(1);
    // The backup carries no garbage: its sweep has nothing to do.
    const ci = await info(c, 'stats');
    expect(ci.get('sweep_pending_versions')).toBe('0');
  });

  it('a second BGSAVE or a SAVE while one runs: "already in progress"', async () => {
    // Enough records that the copy is still running when the next command arrives behind it.
    const p = r.pipeline();
    for (let i = 0; i < 30; i++) p.hset(`big:${i}`, Object.fromEntries(Array.from({ length: 1000 }, (_, j) => [`f${j}`, `v${j}`])));
    await p.exec();
    const replies = (await r.pipeline().bgsave().bgsave().save().call('BGSAVE', 'SCHEDULE').exec())!;
    expect(replies[0]).toEqual([null, 'Background saving started']);
    for (const [err] of replies.slice(1)) expect(err?.message).toBe('ERR Background save already in progress');
    await saved(r);
  });

  it('SAVE answers +OK when the backup is complete; LASTSAVE and rdb_changes_since_last_save follow', async () => {
    await saved(r);
    const last = Number(await r.call('LASTSAVE'));
    // LASTSAVE has one-second resolution: let a second pass so that the new save shows.
    while (Math.floor(Date.now() / 1000) <= last) await new Promise((resolve) => setTimeout(resolve, 20));
    const dirsBefore = backupDirs(server.dir);
    expect(await r.call('SAVE')).toBe('OK');
    expect(Number(await r.call('LASTSAVE'))).toBeGreaterThan(last);
    const after = backupDirs(server.dir);
    expect(after.length).toBe(dirsBefore.length + 1);
    const i = await info(r);
    expect(i.get('rdb_bgsave_in_progress')).toBe('0');
    expect(i.get('rdb_changes_since_last_save')).toBe('0');
    expect(i.get('backup_last_path')).toBe(path.join(server.dir, 'backups', after[after.length - 1]!));
    await r.set('one', '1');
    await r.mset('two', '2', 'three', '3');
    await r.get('one');
    expect((await info(r)).get('rdb_changes_since_last_save')).toBe('2');
    // CONFIG RESETSTAT zeroes the call counts the figure comes from: it counts on from zero.
    await r.call('CONFIG', 'RESETSTAT');
    await r.set('four', '4');
    expect((await info(r)).get('rdb_changes_since_last_save')).toBe('1');
    // Every backup is complete: a data directory with its CAIRN record, and no temp directory left.
    for (const d of after) {
      expect(d.startsWith(TEMP_PREFIX)).toBe(false);
      expect(fs.existsSync(path.join(server.dir, 'backups', d, 'CAIRN'))).toBe(true);
    }
  });
});

describe('SAVE with the shard on the front thread (shard-threads no)', () => {
  it('makes a backup that a server started on it serves', async () => {
    const server = await startServer({ shards: 1, args: ['--shard-threads', 'no'] });
    const r = connect(server.port);
    onTestFinished(async () => {
      r.disconnect();
      await server.stop();
    });
    await r.hset('h', 'a', '1', 'b', '2');
    await r.set('s', 'v');
    expect(await r.call('SAVE')).toBe('OK');
    const copy = await startServer({ dir: (await info(r)).get('backup_last_path')!, shards: 1, args: ['--shard-threads', 'no'] });
    const c = connect(copy.port);
    onTestFinished(async () => {
      c.disconnect();
      await copy.stop();
    });
    expect(await c.hgetall('h')).toEqual({ a: '1', b: '2' });
    expect(await c.get('s')).toBe('v');
  });
});

describe('a shutdown while a backup runs', () => {
  it('stops cleanly (exit 0) and leaves no half backup', async () => {
    const server = await startServer({ shards: 2 });
    const r = connect(server.port);
    onTestFinished(() => r.disconnect());
    const p = r.pipeline();
    for (let i = 0; i < 60; i++) p.hset(`big:${i}`, Object.fromEntries(Array.from({ length: 1000 }, (_, j) => [`f${j}`, `v${j}`])));
    await p.exec();
    expect(await r.call('BGSAVE')).toBe('Background saving started');
    expect(await server.stop()).toBe(0);
    expect(server.output()).toMatch(/Background saving (aborted|terminated with success)/);
    for (const d of backupDirs(server.dir)) {
      expect(d.startsWith(TEMP_PREFIX)).toBe(false);
      expect(fs.existsSync(path.join(server.dir, 'backups', d, 'CAIRN'))).toBe(true);
    }
  });
});
