/**
 * The native sync-write addon against a real classic-level database: it must write exactly what
 * classic-level's own batch() writes, on this thread, and fail cleanly on a closed database.
 */
import { describe, it, expect } from 'vitest';
import { ClassicLevel } from 'classic-level';
import path from 'node:path';
import { nativeWriter } from '../src/storage/native-write.js';
import { tempDir } from './helpers/server.js';

type Db = ClassicLevel<Buffer, Buffer>;

async function open(dir: string): Promise<Db> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', writeBufferSize: 64 * 1024 });
  await db.open();
  return db;
}

describe('native sync writes', () => {
  it('is built by npm install (package.json "install" script)', () => {
    expect(nativeWriter).not.toBeNull();
  });

  it('writes puts and deletes in order, visible at once and after reopening', async () => {
    const dir = path.join(tempDir(), 'db');
    let db = await open(dir);
    const b = (s: string): Buffer => Buffer.from(s);
    nativeWriter!.write(db, [
      { type: 'put', key: b('a'), value: b('1') },
      { type: 'put', key: b('b'), value: b('2') },
      { type: 'del', key: b('a') },
      { type: 'put', key: b('c'), value: Buffer.alloc(100_000, 7) },
    ], false);
    expect(db.getSync(b('a'))).toBeUndefined();
    expect(db.getSync(b('b'))!.toString()).toBe('2');
    // Many batches, so data leaves the 64 KiB memtable for table files.
    for (let i = 0; i < 200; i++) {
      nativeWriter!.write(db, Array.from({ length: 50 }, (_, j) => ({ type: 'put' as const, key: b(`k${i}:${j}`), value: Buffer.alloc(64, i) })), i % 50 === 0);
    }
    await db.close();
    db = await open(dir);
    expect(db.getSync(b('b'))!.toString()).toBe('2');
    expect(db.getSync(b('c'))!.length).toBe(100_000);
    expect(db.getSync(b('k199:49'))![0]).toBe(199);
    expect(await db.keys({ gte: b('k'), lt: b('l') }).all()).toHaveLength(200 * 50);
    await db.close();
  });

  it('refuses a closed database instead of crashing', async () => {
    const db = await open(path.join(tempDir(), 'db'));
    await db.close();
    expect(() => nativeWriter!.write(db, [{ type: 'put', key: Buffer.from('x'), value: Buffer.from('y') }], false)).toThrow();
  });
});
