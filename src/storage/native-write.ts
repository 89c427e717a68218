/**
 * Synchronous LevelDB batch writes through the bundled addon (native/sync_write.cc), so a shard
 * writes its group commit on its own thread instead of a round trip through the libuv pool.
 * When the addon is not built (or cannot load), `nativeWriter` is null and callers write
 * asynchronously with classic-level's db.batch().
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Db, BatchOp } from './store.js';
import { addon, contextOf, classicLevelBinary } from './native-addon.js';
import { copyBytes } from '../util/bytes.js';

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

/** varint32 length of n (LevelDB's PutVarint32). */
function varintLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function putVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
  return at;
}

/**
 * Encodes ops as a LevelDB WriteBatch's contents (leveldb/db/write_batch.cc): sequence(8) = 0
 * (DB::Write sets it), count(4, little endian), then per record kTypeValue(1) key value or
 * kTypeDeletion(0) key, each a varint32 length and the bytes. Returns the encoded length; `into`
 * is used when large enough, otherwise a new buffer is returned in `buf`.
 */
export function encodeBatchContents(ops: readonly BatchOp[], into: Buffer): { buf: Buffer; length: number } {
  let size = 12;
  for (const op of ops) {
    const k = op.key.length;
    size += 1 + varintLength(k) + k;
    if (op.type === 'put') size += varintLength(op.value!.length) + op.value!.length;
  }
  const buf = size <= into.length ? into : Buffer.allocUnsafeSlow(size);
  buf.fill(0, 0, 8);
  buf.writeUInt32LE(ops.length, 8);
  let at = 12;
  for (const op of ops) {
    buf[at++] = op.type === 'put' ? 1 : 0;
    at = putVarint(buf, at, op.key.length);
    copyBytes(op.key, 0, buf, at, op.key.length);
    at += op.key.length;
    if (op.type === 'put') {
      at = putVarint(buf, at, op.value!.length);
      copyBytes(op.value!, 0, buf, at, op.value!.length);
      at += op.value!.length;
    }
  }
  return { buf, length: size };
}

/** Encoded batches up to this size reuse one buffer per thread; larger ones get their own. */
const CONTENTS_BUFFER = 1024 * 1024;

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
  // One call per group commit when the addon found WriteBatchInternal::SetContents; otherwise
  // one classic-level batch_put per record.
  const binary = classicLevelBinary();
  if (binary && native.bindBatchContents?.(binary) && native.writeContentsSync) {
    const writeContents = native.writeContentsSync;
    const batches = new WeakMap<Db, unknown>();
    const contents = Buffer.allocUnsafeSlow(CONTENTS_BUFFER);
    return {
      write(db, ops, sync) {
        const { buf, length } = encodeBatchContents(ops, contents);
        if (buf !== contents) {
          // A large batch gets a batch of its own: the reused one would keep its memory for good.
          writeContents(binding.batch_init(contextOf(db)), buf, length, sync);
          return;
        }
        let batch = batches.get(db);
        if (batch === undefined) batches.set(db, (batch = binding.batch_init(contextOf(db))));
        writeContents(batch, buf, length, sync);
      },
    };
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
