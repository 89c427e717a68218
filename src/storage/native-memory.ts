/**
 * Process-wide memory control from the bundled addon (native/memory.cc): limitTableMmaps(n) sets
 * how many LevelDB table files may be read through mmap in this process (LevelDB's default is
 * 1000, and every touched page of a mapped file counts in RSS). It must run before the first
 * LevelDB database opens in the process; later calls have no effect. Without the addon it reports
 * false.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from './native-addon.js';

const require = createRequire(import.meta.url);

interface MemoryAddon {
  setMmapLimit(binaryPath: string, limit: number): boolean;
}

/** Loads native/build/Release/<name>.node, or null when it was not built. */
function loadAddon<T>(name: string): T | null {
  const root = packageRoot();
  if (!root) return null;
  try {
    return require(path.join(root, 'native', 'build', 'Release', `${name}.node`)) as T;
  } catch {
    return null;
  }
}

const addon = loadAddon<MemoryAddon>('cairn_memory');

/** The classic-level binary that node-gyp-build loads (the one every database in this process uses). */
function classicLevelBinary(): string | null {
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

let mmapLimitSet: number | null = null;

/** Sets LevelDB's process-wide table mmap limit; true when applied. Call before any database opens. */
export function limitTableMmaps(limit: number): boolean {
  if (mmapLimitSet !== null) return mmapLimitSet === limit;
  const binary = addon && classicLevelBinary();
  if (!addon || !binary) return false;
  const ok = addon.setMmapLimit(binary, limit);
  if (ok) mmapLimitSet = limit;
  return ok;
}

