/**
 * Synchronous LevelDB batch writes through the bundled addon (native/sync_write.cc), so a shard
 * writes its group commit on its own thread instead of a round trip through the libuv pool.
 * When the addon is not built (or cannot load), `nativeWriter` is null and callers write
 * asynchronously with classic-level's db.batch().
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Db, BatchOp } from './store.js';
import { addon, contextOf } from './native-addon.js';

const require = createRequire(import.meta.url);

interface ClassicBinding {
  batch_init(db: unknown): unknown;
  batch_put(batch: unknown, key: Buffer, value: Buffer): void;
  batch_del(batch: unknown, key: Buffer): void;
}

export interface NativeWriter {
  /** Writes `ops` as one batch on this thread; throws (code CAIRN_LEVELDB_WRITE) on failure. */
  write(db: Db, ops: readonly BatchOp[], sync: boolean): void;
}

function load(): NativeWriter | null {
  if (addon === null) return null;
  const native = addon;
  let binding: ClassicBinding;
  try {
    // classic-level's own loaded binding (same module instance as the databases use).
    binding = require(path.join(path.dirname(require.resolve('classic-level')), 'binding.js')) as ClassicBinding;
  } catch {
    return null;
  }
  return {
    write(db, ops, sync) {
      const batch = binding.batch_init(contextOf(db));
      for (const op of ops) {
        if (op.type === 'put') binding.batch_put(batch, op.key, op.value!);
        else binding.batch_del(batch, op.key);
      }
      native.writeSync(batch, sync);
    },
  };
}

export const nativeWriter: NativeWriter | null = load();
