/**
 * Synchronous LevelDB batch writes through the bundled addon (native/sync_write.cc), so a shard
 * writes its group commit on its own thread instead of a round trip through the libuv pool.
 * When the addon is not built (or cannot load), `nativeWriter` is null and callers write
 * asynchronously with classic-level's db.batch().
 */
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db, BatchOp } from './store.js';

const require = createRequire(import.meta.url);

interface ClassicBinding {
  batch_init(db: unknown): unknown;
  batch_put(batch: unknown, key: Buffer, value: Buffer): void;
  batch_del(batch: unknown, key: Buffer): void;
}

interface Addon {
  writeSync(batch: unknown, sync: boolean): void;
}

export interface NativeWriter {
  /** Writes `ops` as one batch on this thread; throws (code CAIRN_LEVELDB_WRITE) on failure. */
  write(db: Db, ops: readonly BatchOp[], sync: boolean): void;
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

function load(): NativeWriter | null {
  const root = packageRoot();
  if (!root) return null;
  let addon: Addon;
  let binding: ClassicBinding;
  try {
    addon = require(path.join(root, 'native', 'build', 'Release', 'cairn_native.node')) as Addon;
    // classic-level's own loaded binding (same module instance as the databases use).
    binding = require(path.join(path.dirname(require.resolve('classic-level')), 'binding.js')) as ClassicBinding;
  } catch {
    return null;
  }
  const contexts = new WeakMap<Db, unknown>();
  const contextOf = (db: Db): unknown => {
    let ctx = contexts.get(db);
    if (ctx === undefined) {
      const sym = Object.getOwnPropertySymbols(db).find((s) => s.description === 'context');
      ctx = sym ? (db as unknown as Record<symbol, unknown>)[sym] : undefined;
      if (ctx === undefined) throw new Error('classic-level database context not found');
      contexts.set(db, ctx);
    }
    return ctx;
  };
  return {
    write(db, ops, sync) {
      const batch = binding.batch_init(contextOf(db));
      for (const op of ops) {
        if (op.type === 'put') binding.batch_put(batch, op.key, op.value!);
        else binding.batch_del(batch, op.key);
      }
      addon.writeSync(batch, sync);
    },
  };
}

export const nativeWriter: NativeWriter | null = load();
