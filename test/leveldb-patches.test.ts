/**
 * The classic-level that `npm install` rebuilds with LevelDB patches (native/leveldb-build.cjs) is
 * the one loaded, and the patches do what they are for, on a real database.
 */
import { describe, it, expect } from 'vitest';
import { ClassicLevel } from 'classic-level';
import os from 'node:os';
import path from 'node:path';
import { classicLevelBinary, leveldbPatches } from '../src/storage/native-addon.js';
import { tempDir } from './helpers/server.js';

type Db = ClassicLevel<string, string>;

const levels = (db: Db): number[] =>
  Array.from({ length: 7 }, (_, l) => Number(db.getProperty(`leveldb.num-files-at-level${l}`)));

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
});
