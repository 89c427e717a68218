/**
 * Memory bounds that are the server's own doing (not the dataset's): LevelDB table files read
 * through mmap count in the process's RSS, so by default Cairn has LevelDB read them with pread.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import { startServer } from './helpers/server.js';
import { connect } from './helpers/client.js';

/** Table files (.ldb) of the server's data directory that are mapped into its address space. */
function mappedTables(pid: number, dir: string): number {
  const maps = fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n');
  return maps.filter((l) => l.includes(dir) && l.endsWith('.ldb')).length;
}

async function readsAfterFlush(mmapFiles: number): Promise<number> {
  // Small memtables and no block cache: the data lands in many table files that reads must open.
  const server = await startServer({
    shards: 1,
    args: ['--leveldb-write-buffer-size', '64kb', '--leveldb-cache-size', '0', '--row-cache-size', '0',
      '--leveldb-mmap-files', String(mmapFiles)],
  });
  const c = connect(server.port);
  try {
    const value = 'v'.repeat(200);
    for (let b = 0; b < 20; b++) {
      const args: string[] = [];
      for (let i = 0; i < 500; i++) args.push(`key:${b}:${i}`, value);
      await c.mset(...args);
    }
    // Let the memtables reach table files, then read keys spread over all of them.
    await new Promise((r) => setTimeout(r, 500));
    for (let b = 0; b < 20; b++) expect(await c.get(`key:${b}:7`)).toBe(value);
    return mappedTables(server.proc.pid!, server.dir);
  } finally {
    c.disconnect();
    await server.stop();
  }
}

describe.runIf(process.platform === 'linux')('LevelDB table files and RSS', () => {
  it('reads tables with pread by default (none mapped), and maps them when leveldb-mmap-files allows', async () => {
    expect(await readsAfterFlush(0)).toBe(0);
    expect(await readsAfterFlush(1000)).toBeGreaterThan(0);
  });
});
