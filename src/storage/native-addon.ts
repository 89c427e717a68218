/**
 * The bundled native addon (native/*.cc, built by `npm install`), loaded once: synchronous batch
 * writes (native-write.ts) and range reads (scan.ts) on the calling thread. `addon` is null when
 * it is not built or cannot load; Cairn then uses classic-level's pool-threaded calls.
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './store.js';

const require = createRequire(import.meta.url);

export interface Addon {
  writeSync(batch: unknown, sync: boolean): void;
  /** Finds LevelDB's WriteBatchInternal::SetContents in classic-level's binary; false if absent. */
  bindBatchContents?(classicLevelBinary: string): boolean;
  /** Writes `length` bytes of encoded batch contents through a (reused) classic-level batch. */
  writeContentsSync?(batch: unknown, contents: Buffer, length: number, sync: boolean): void;
  /** LevelDB's process-wide table mmap limit (native/memory.cc); false if the setter is absent. */
  setMmapLimit?(classicLevelBinary: string, limit: number): boolean;
  setCompactionNice?(classicLevelBinary: string, nice: number): boolean;
  setThreadBatch?(on: boolean): boolean;
  setThreadName?(name: string): boolean;
  /** mallopt(M_ARENA_MAX) and mallopt(M_MMAP_THRESHOLD) (native/memory.cc); true when both took. */
  tuneAllocator?(arenaMax: number, mmapThreshold: number): boolean;
  /** glibc's malloc_info XML. */
  mallocInfo?(): string | undefined;
  /** See native/sync_scan.cc for the arguments and the layout of the returned buffer. */
  scanSync(ctx: unknown, lower: Buffer | null, lowerExclusive: boolean, upper: Buffer | null, upperInclusive: boolean,
    flags: number, skip: number, limit: number, maxBytes: number): Buffer;
  /** scanSync's walk, entries written as RESP bulk strings (native/sync_scan.cc); absent in older builds. */
  respSync?(ctx: unknown, lower: Buffer | null, lowerExclusive: boolean, upper: Buffer | null, upperInclusive: boolean,
    flags: number, skip: number, limit: number, maxBytes: number, keySkip: number): Buffer;
  countSync(ctx: unknown, lower: Buffer | null, lowerExclusive: boolean, upper: Buffer | null, upperInclusive: boolean,
    limit: number): number;
  /** LevelDB's approximate bytes of [start, end) in table files (native/sync_scan.cc); absent in older builds. */
  sizeSync?(ctx: unknown, start: Buffer, end: Buffer): number;
  /** Finds the patched LevelDB's cairn_leveldb_get_many (native/sync_get.cc); false with the prebuild. */
  bindGetMany?(classicLevelBinary: string): boolean;
  /** Point reads of many keys in one call (native/sync_get.cc for the arguments and the result). */
  getManySync?(ctx: unknown, keys: Buffer, ends: Uint32Array, count: number, parallel: boolean, slowMicros: number): Buffer;
  /** One write(2) to a non-blocking fd: bytes written or -errno (native/fd_write.cc). */
  fdWrite?(fd: number, data: Buffer): number;
}

/** The package root: the nearest folder above this module with native/binding.gyp. */
function packageRoot(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'native', 'binding.gyp'))) return dir;
    dir = path.dirname(dir);
  }
  return null;
}

function load(): Addon | null {
  const root = packageRoot();
  if (!root) return null;
  try {
    const a = require(path.join(root, 'native', 'build', 'Release', 'cairn_native.node')) as Partial<Addon>;
    // A build from older sources lacks the scan functions: use none of it rather than half.
    if (typeof a.writeSync !== 'function' || typeof a.scanSync !== 'function' || typeof a.countSync !== 'function') return null;
    return a as Addon;
  } catch {
    return null;
  }
}

export const addon: Addon | null = load();

const contexts = new WeakMap<Db, unknown>();

/** classic-level's native database context (the external its own binding calls take). */
export function contextOf(db: Db): unknown {
  let ctx = contexts.get(db);
  if (ctx === undefined) {
    const sym = Object.getOwnPropertySymbols(db).find((s) => s.description === 'context');
    ctx = sym ? (db as unknown as Record<symbol, unknown>)[sym] : undefined;
    if (ctx === undefined) throw new Error('classic-level database context not found');
    contexts.set(db, ctx);
  }
  return ctx;
}

/** The classic-level binary that node-gyp-build loads (the one every database in this process uses). */
export function classicLevelBinary(): string | null {
  try {
    const main = require.resolve('classic-level');
    const dir = path.dirname(main);
    const gypBuild = createRequire(main)('node-gyp-build') as { path(dir: string): string };
    require(path.join(dir, 'binding.js'));
    return gypBuild.path(dir);
  } catch {
    return null;
  }
}

let patches: string[] | undefined;
/**
 * The LevelDB patches in the classic-level binary this process uses (native/leveldb-build.cjs
 * writes their names next to the binary it builds); empty for classic-level's prebuild.
 */
export function leveldbPatches(): string[] {
  if (patches !== undefined) return patches;
  patches = [];
  const binary = classicLevelBinary();
  if (binary !== null && path.basename(path.dirname(binary)) === 'Release') {
    try {
      const marker = JSON.parse(fs.readFileSync(path.join(path.dirname(binary), '..', 'cairn-patches.json'), 'utf8')) as { patches?: unknown };
      if (Array.isArray(marker.patches)) patches = marker.patches.map(String);
    } catch {
      // built elsewhere (no marker): not ours, so no patches known
    }
  }
  return patches;
}
