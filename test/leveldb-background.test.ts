/**
 * LevelDB's background work, kept off the serving threads' way. The file reaper against a real
 * LevelDB: it holds a second link to every table and log file, so a file LevelDB deletes (after a
 * compaction) stays on disk until the reaper's next round frees it, the database reads everything
 * it should meanwhile, and a server runs a reaper per shard. The compaction threads: how many, and their nice value.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { FileReaper, REAPER_DIR } from '../src/shard/file-reaper.js';
import { threadStats } from './helpers/proc.js';
import { startServer, tempDir } from './helpers/server.js';
import { connect } from './helpers/client.js';

const LEVELDB_FILE = /^\d+\.(ldb|sst|log)$/;
const files = (dir: string): string[] => fs.readdirSync(dir).filter((n) => LEVELDB_FILE.test(n)).sort();

describe('FileReaper', () => {
  it('frees the files LevelDB deleted only at its next round, and only those', async () => {
    const dir = path.join(tempDir(), 'shard-0');
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', writeBufferSize: 64 * 1024, compression: false });
    await db.open();
    const errors: Error[] = [];
    const reaper = new FileReaper(dir, (e) => errors.push(e));
    fs.mkdirSync(path.join(dir, REAPER_DIR));
    try {
      const value = Buffer.alloc(1000, 7);
      for (let round = 0; round < 4; round++) {
        const ops = [];
        for (let i = 0; i < 500; i++) ops.push({ type: 'put' as const, key: Buffer.from(`k${String(i).padStart(5, '0')}`), value: Buffer.concat([value, Buffer.from([round])]) });
        await db.batch(ops);
        await reaper.round();
      }
      const held = files(path.join(dir, REAPER_DIR));
      expect(held.length).toBeGreaterThan(1);
      expect(files(dir)).toEqual(expect.arrayContaining(held.filter((n) => fs.existsSync(path.join(dir, n)))));

      // Compacting everything makes LevelDB delete the old tables and logs: the reaper's links keep them.
      // (Closed after it, so no background compaction changes the files while this test looks.)
      await db.compactRange(Buffer.from('k'), Buffer.from('l'));
      await db.close();
      const live = new Set(files(dir));
      const deleted = held.filter((n) => !live.has(n));
      expect(deleted.length).toBeGreaterThan(0);
      for (const n of deleted) expect(fs.statSync(path.join(dir, REAPER_DIR, n)).nlink).toBe(1);

      const reapedBefore = reaper.reaped; // (earlier rounds freed what background compactions deleted)
      await reaper.round();
      expect(reaper.reaped - reapedBefore).toBe(deleted.length);
      // What is left: links to live files only, one per live file.
      expect(files(path.join(dir, REAPER_DIR))).toEqual([...live].sort());
      for (const n of live) expect(fs.statSync(path.join(dir, n)).nlink).toBe(2);
      await db.open();
      expect((await db.get(Buffer.from('k00042')))!.at(-1)).toBe(3);
      expect(errors).toEqual([]);
    } finally {
      await reaper.stop();
      await db.close();
    }
  });

  it('runs in every shard of a server, and leftovers of an earlier run are freed at start', async () => {
    const dir = tempDir();
    let server = await startServer({ shards: 2, dir });
    let r = connect(server.port);
    try {
      await r.set('a', 'x'.repeat(1000));
      await new Promise((resolve) => setTimeout(resolve, 1200));
      for (let i = 0; i < 2; i++) expect(files(path.join(dir, `shard-${i}`, REAPER_DIR)).length).toBeGreaterThan(0);
    } finally {
      r.disconnect();
      await server.stop();
    }
    // A link whose file LevelDB no longer has (as after a crash between a delete and a round).
    const stray = path.join(dir, 'shard-0', REAPER_DIR, '999999.ldb');
    fs.writeFileSync(stray, 'gone');
    server = await startServer({ shards: 2, dir });
    r = connect(server.port);
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(fs.existsSync(stray)).toBe(false);
      expect(await r.get('a')).toBe('x'.repeat(1000));
    } finally {
      r.disconnect();
      await server.stop();
    }
  });
});

describe('LevelDB background threads', () => {
  it.runIf(process.platform === 'linux')('one per shard by default (leveldb-background-threads), named leveldb-bg, at leveldb-compaction-nice', async () => {
    const cases: [string[], number, number][] = [[[], 19, 2], [['--leveldb-compaction-nice', '5', '--leveldb-background-threads', '3'], 5, 3], [['--leveldb-compaction-nice', '0'], 0, 2]];
    for (const [args, nice, threads] of cases) {
      const server = await startServer({ shards: 2, args });
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const stats = threadStats(server.proc.pid!);
        const bg = stats.filter((t) => t.name === 'leveldb-bg');
        expect(bg.map((t) => t.nice), args.join(' ')).toEqual(Array(threads).fill(nice));
        // Nothing else changed its nice value. (The background pool's threads run at +10,
        // piscina's niceIncrement, and come and go.)
        expect(stats.filter((t) => t.name !== 'leveldb-bg' && t.nice !== 0 && t.nice !== 10)).toEqual([]);
      } finally {
        await server.stop();
      }
    }
  });
});
