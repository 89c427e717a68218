/**
 * Memory bounds that are the server's own doing (not the dataset's): LevelDB table files read
 * through mmap count in the process's RSS, so by default Cairn has LevelDB read them with pread.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import { startServer } from './helpers/server.js';
import { connect } from './helpers/client.js';
import { CONFIG_BY_NAME } from '../src/config.js';
import { budgetCaches, openTableBytes, RUNTIME_BASE, RUNTIME_PER_SHARD } from '../src/server/memory-budget.js';

const MB = 1024 * 1024;
const DEFAULTS = { rowCacheSize: 32 * MB, cacheSize: 64 * MB, writeBufferSize: 4 * MB, maxOpenFiles: 5000 };
const BLOCK = CONFIG_BY_NAME.get('leveldb-block-size')!.default as number;

function infoField(info: string, name: string): number {
  const m = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  if (!m) throw new Error(`no ${name} in INFO`);
  return Number(m[1]);
}

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

describe.runIf(process.platform === 'linux')('the C allocator', () => {
  it('is bounded from start-up: the threads a load starts (compactions, overlapped reads) create no malloc arena', async () => {
    // Small memtables: compactions start at once; a small row cache: reads go to LevelDB, in overlapped batches.
    const server = await startServer({ shards: 4, args: ['--leveldb-write-buffer-size', '64kb', '--row-cache-size', '64kb', '--leveldb-overlapped-reads', 'always'] });
    const c = connect(server.port);
    try {
      const before = await c.info('memory');
      expect(infoField(before, 'cairn_malloc_arena_max')).toBe(2);
      expect(infoField(before, 'cairn_malloc_mmap_threshold')).toBe(1024 * 1024);
      const arenas = infoField(before, 'cairn_malloc_arenas');
      expect(arenas).toBeGreaterThan(0);
      const value = 'v'.repeat(1000);
      for (let round = 0; round < 4; round++) {
        const p = c.pipeline();
        for (let i = 0; i < 2000; i++) p.set(`alloc:${round}:${i}`, value);
        await p.exec();
      }
      const reads = c.pipeline();
      for (let i = 0; i < 2000; i++) reads.get(`alloc:${i % 4}:${i}`);
      const got = await reads.exec();
      expect(got!.every(([err, v]) => err === null && v === value)).toBe(true);
      const after = await c.info('all');
      expect(infoField(after, 'cairn_overlapped_read_calls')).toBeGreaterThan(0);
      expect(infoField(after, 'cairn_malloc_arenas')).toBe(arenas);
    } finally {
      c.disconnect();
      await server.stop();
    }
  });
});

describe('maxmemory: the budget of the process, met by sizing the caches', () => {
  it('keeps the configured sizes when there is no budget or a large one', () => {
    expect(budgetCaches(0, 2, DEFAULTS, BLOCK)).toEqual({ ...DEFAULTS, tooSmall: false });
    expect(budgetCaches(64 * 1024 * MB, 2, DEFAULTS, BLOCK)).toEqual({ ...DEFAULTS, tooSmall: false });
  });

  it('shrinks caches (never grows them) so that runtime, memtables and caches fit the budget', () => {
    for (const shards of [1, 2, 4]) {
      for (const maxmemory of [256 * MB, 512 * MB, 1024 * MB]) {
        if (maxmemory < RUNTIME_BASE + shards * (RUNTIME_PER_SHARD + 4 * MB)) continue; // the next test's case
        const b = budgetCaches(maxmemory, shards, DEFAULTS, BLOCK);
        expect(b.tooSmall).toBe(false);
        const total = RUNTIME_BASE + shards * (RUNTIME_PER_SHARD + b.rowCacheSize + b.cacheSize + 2 * b.writeBufferSize);
        expect(total).toBeLessThanOrEqual(maxmemory);
        expect(b.rowCacheSize).toBeLessThanOrEqual(DEFAULTS.rowCacheSize);
        expect(b.cacheSize).toBeLessThanOrEqual(DEFAULTS.cacheSize);
        expect(b.writeBufferSize).toBeLessThanOrEqual(DEFAULTS.writeBufferSize);
        // Open tables (what grows with the dataset): an eighth of the budget at most.
        expect(b.maxOpenFiles).toBeLessThanOrEqual(DEFAULTS.maxOpenFiles);
        expect(shards * b.maxOpenFiles * openTableBytes(BLOCK)).toBeLessThanOrEqual(maxmemory / 8);
        expect(b.maxOpenFiles).toBeGreaterThanOrEqual(74);
      }
    }
  });

  it('says when the budget cannot hold the runtime', () => {
    const b = budgetCaches(64 * MB, 4, DEFAULTS, BLOCK);
    expect(b.tooSmall).toBe(true);
    expect(b.rowCacheSize).toBe(0);
  });

  it('a server started with maxmemory reports the fitted sizes in INFO memory; CONFIG SET stores a new budget', async () => {
    const server = await startServer({ shards: 2, args: ['--maxmemory', '384mb'] });
    const c = connect(server.port);
    try {
      const info = await c.info('memory');
      const want = budgetCaches(384 * MB, 2, DEFAULTS, BLOCK);
      expect(infoField(info, 'maxmemory')).toBe(384 * MB);
      expect(infoField(info, 'cairn_row_cache_total')).toBe(2 * want.rowCacheSize);
      expect(infoField(info, 'cairn_leveldb_block_cache_total')).toBe(2 * want.cacheSize);
      expect(infoField(info, 'cairn_leveldb_write_buffers_total')).toBe(4 * want.writeBufferSize);
      expect(infoField(info, 'cairn_leveldb_max_open_files_total')).toBe(2 * want.maxOpenFiles);
      expect(want.maxOpenFiles).toBeLessThan(DEFAULTS.maxOpenFiles);
      expect(want.rowCacheSize).toBeLessThan(DEFAULTS.rowCacheSize);
      expect(await c.config('SET', 'maxmemory', '1gb')).toBe('OK');
      expect(await c.config('GET', 'maxmemory')).toEqual(['maxmemory', String(1024 * MB)]);
    } finally {
      c.disconnect();
      await server.stop();
    }
  });
});

describe('INFO memory: client buffers', () => {
  it('mem_clients_normal counts a query still arriving', async () => {
    const server = await startServer({ shards: 1 });
    const c = connect(server.port);
    const raw = net.connect(server.port, '127.0.0.1');
    try {
      await new Promise((r) => raw.once('connect', r));
      const before = infoField(await c.info('memory'), 'mem_clients_normal');
      // A SET whose 100,000-byte value is half sent: the server holds it in the query buffer.
      raw.write('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n' + 'x'.repeat(50_000));
      let held = before;
      for (let i = 0; i < 100 && held < before + 50_000; i++) {
        await new Promise((r) => setTimeout(r, 20));
        held = infoField(await c.info('memory'), 'mem_clients_normal');
      }
      expect(held).toBeGreaterThanOrEqual(before + 50_000);
      expect(infoField(await c.info('memory'), 'mem_clients_slaves')).toBe(0);
    } finally {
      raw.destroy();
      c.disconnect();
      await server.stop();
    }
  });
});
