/**
 * The classic-level that `npm install` rebuilds with LevelDB patches (native/leveldb-build.cjs) is
 * the one loaded, and the patches do what they are for, on a real database.
 */
import { describe, it, expect } from 'vitest';
import { ClassicLevel } from 'classic-level';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { classicLevelBinary, leveldbPatches } from '../src/storage/native-addon.js';
import { limitTableMmaps } from '../src/storage/native-memory.js';
import { tempDir } from './helpers/server.js';

type Db = ClassicLevel<string, string>;

/** Read syscalls this process made so far (/proc/self/io; the read of the file itself included). */
const readCalls = (): number => Number(/^syscr: (\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'utf8'))![1]);

const levels = (db: Db): number[] =>
  Array.from({ length: 7 }, (_, l) => Number(db.getProperty(`leveldb.num-files-at-level${l}`)));

// As a Cairn server does (server.ts): tables are read with pread, not mapped, so reads are syscalls.
limitTableMmaps(0);

describe('patched LevelDB', () => {
  it('is built by npm install and loaded instead of the prebuild', () => {
    expect(classicLevelBinary()).toMatch(/[/\\]build[/\\]Release[/\\]classic_level\.node$/);
    const expected = ['no-seek-compaction', 'background-threads', 'memtable-splice', 'table-tail-read', ...(os.arch() === 'x64' ? ['sse42-crc32c'] : [])];
    expect(leveldbPatches()).toEqual(expect.arrayContaining(expected));
  });

  it('reads never trigger a compaction (no seek compactions)', async () => {
    const db: Db = new ClassicLevel(path.join(tempDir(), 'db'), { writeBufferSize: 64 * 1024 });
    await db.open();
    try {
      // The bulk of the keys at the bottom, then one small table above it spanning the same range.
      const value = 'v'.repeat(100);
      await db.batch(Array.from({ length: 20_000 }, (_, i) => ({ type: 'put' as const, key: `k${String(i).padStart(6, '0')}`, value })));
      await db.compactRange('k', 'l');
      await db.batch([{ type: 'put', key: 'k000000a', value }, { type: 'put', key: 'k019999a', value }]);
      await db.compactRange('a', 'a'); // flushes the memtable; the range holds no table
      const before = levels(db);
      const upper = before.findIndex((n) => n > 0);
      expect(before.slice(upper + 1).some((n) => n > 0)).toBe(true);
      // Each of these Gets looks in the upper table first (its bloom filter says no), then finds
      // the key below: unpatched LevelDB charges the upper table a seek and compacts it after 100.
      for (let round = 0; round < 5; round++) {
        for (let i = 1; i < 19_999; i += 97) expect(db.getSync(`k${String(i).padStart(6, '0')}`)).toBe(value);
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(levels(db)).toEqual(before);
    } finally {
      await db.close();
    }
  });

  it('opens tables from one read of their tail (table-tail-read), whatever their index and filter sizes', async () => {
    // Every table is opened after the reopen; tables with small index blocks and with large ones
    // (1 KB blocks, long keys: an index of ~400 KB, past the largest tail read, so those reads
    // fall back to the file).
    for (const [blockSize, keyPad] of [[16 * 1024, 0], [1024, 400]] as const) {
      const dir = path.join(tempDir(), 'db');
      let db: Db = new ClassicLevel(dir, { writeBufferSize: 256 * 1024, maxOpenFiles: 10, blockSize, maxFileSize: 64 * 1024, compression: false });
      await db.open();
      const key = (i: number): string => `k${String(i).padStart(6, '0')}${'p'.repeat(keyPad)}`;
      const value = (i: number): string => `v${i}`.repeat(1 + (i % 40));
      const n = 60_000;
      for (let start = 0; start < n; start += 5000) {
        await db.batch(Array.from({ length: 5000 }, (_, j) => ({ type: 'put' as const, key: key(start + j), value: value(start + j) })));
      }
      await db.compactRange(key(0), key(n));
      await db.close();
      db = new ClassicLevel(dir, { maxOpenFiles: 10, blockSize, maxFileSize: 64 * 1024 });
      await db.open();
      try {
        const tables = levels(db).reduce((a, b) => a + b, 0);
        expect(tables).toBeGreaterThanOrEqual(10);
        for (let i = 0; i < n; i += 37) expect(db.getSync(key(i)), `${blockSize} ${i}`).toBe(value(i));
        for (let i = n - 1; i >= 0; i -= 1013) expect(db.getSync(key(i))).toBe(value(i));
        expect(db.getSync(`k${'9'.repeat(7)}`)).toBeUndefined();
      } finally {
        await db.close();
      }
    }
  });

  it('reopens each table with exactly its own tail (table-tail-read), when tables of small and large filters alternate', async () => {
    // Tables alternate between ~13,000 small records (a ~16 KB bloom filter) and ~250 large ones
    // (a tail of ~1 KB). LevelDB keeps at most 64 tables open (its floor for max_open_files, in 16
    // LRU shards of 4), so cycling through 160 of them opens a table on nearly every read: one read
    // of its tail, one of the data block. With only a guess shared by all opens (what the last open needed), every
    // small-record table opened after a large-record one would read its filter separately.
    const dir = path.join(tempDir(), 'db');
    const db: Db = new ClassicLevel(dir, { writeBufferSize: 256 * 1024, maxOpenFiles: 10, blockSize: 4096, maxFileSize: 256 * 1024, compression: false });
    await db.open();
    try {
      const ranges = 160;
      const first: string[] = [];
      for (let r = 0; r < ranges; r++) {
        const big = r % 2 === 1;
        const prefix = `r${String(r).padStart(3, '0')}`;
        const [count, value] = big ? [250, 'v'.repeat(1000)] : [13_000, 'v'.repeat(8)];
        await db.batch(Array.from({ length: count }, (_, i) => ({ type: 'put' as const, key: `${prefix}${String(i).padStart(6, '0')}`, value })));
        first.push(`${prefix}${String(Math.floor(count / 2)).padStart(6, '0')}`);
      }
      await db.compactRange('r', 's');
      const tables = levels(db).reduce((a, b) => a + b, 0);
      expect(tables).toBeGreaterThan(150);
      for (const k of first) expect(db.getSync(k)).toBeDefined(); // every table opened once
      const before = readCalls();
      const rounds = 3;
      for (let round = 0; round < rounds; round++) for (const k of first) expect(db.getSync(k)).toBeDefined();
      const perRead = (readCalls() - before - 1) / (rounds * ranges);
      expect(perRead).toBeGreaterThan(1.8); // nearly every read opened its table
      expect(perRead).toBeLessThan(2.1);
    } finally {
      await db.close();
    }
  });
});
