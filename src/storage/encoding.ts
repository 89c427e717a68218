/**
 * Cairn's on-disk format: how Redis keys and types map onto one shard's LevelDB.
 *
 * THIS IS A CONTRACT. Every prefix and type byte has an explicit value that must never change
 * once released; a change of layout bumps FORMAT_VERSION, which is checked when a shard opens.
 *
 * All integers are big-endian, doubles are made byte-sortable, so LevelDB's bytewise order is
 * the order the commands need and no custom comparator exists.
 *
 *   Metadata        'M' | db(1) | user-key                                  -> meta value (below)
 *   Sub-key         'S' | db(1) | key-len(4) | user-key | version(8) | sub  -> sub value
 *   Score index     'Z' | db(1) | key-len(4) | user-key | version(8) | score(8, sortable) | member -> empty
 *   Expiry index    'E' | expire-ms(8) | db(1) | user-key                   -> empty
 *   Garbage         'G' | db(1) | key-len(4) | user-key | version(8)        -> empty | boot-id(8)
 *   Key count       'C' | db(1)                                             -> keys(8) | keys-with-expiry(8)
 *   Shard info      '!' 'format'                                            -> JSON {format, shard, shards}
 *   Database ids    '!' 'dbs'                                               -> JSON {ids, retired, expiring}
 *   Cross intent    '!' 'xi' | txid(8)                                      -> the other shards' parts
 *   Cross marker    '!' 'xm' | txid(8)                                      -> empty
 *   Cross watermark '!' 'xw'                                                -> txid(8)
 *
 * Meta value (the expiry sits at a fixed offset for every type, so the one place that decides
 * type and expiry needs no type switch):
 *
 *   +---------+----------+----------------+---------------------------------------------+
 *   | type(1) | flags(1) | expire-ms(8)   | type-specific                               |
 *   +---------+----------+----------------+---------------------------------------------+
 *     string:  value bytes, inline (no sub-keys)
 *     hash/set/zset/stream: version(8) | size(8)
 *     list:    version(8) | size(8) | head(8, sortable i64) | tail(8, sortable i64)
 *
 * expire-ms is a Unix time in milliseconds; 0 means no expiry. A list's elements sit densely at
 * indexes head .. tail-1 (tail is one past the last element, so size = tail - head; a new list
 * starts at head = tail = 0): see storage/list.ts.
 *
 * Sub-keys per type (under the collection's current version):
 *   hash:   field -> value          set:   member -> empty
 *   list:   index(8, sortable i64) -> element (head/tail in the meta value)
 *   zset:   member -> score(8, sortable), plus the 'Z' score index
 *   stream: entry id (ms(8) | seq(8)) -> encoded fields
 *
 * A version is fresh on each (re)creation of a collection. DEL, overwrite, expiry and FLUSHDB of
 * a collection only rewrite or drop its meta record and leave a 'G' record naming the old
 * version; the background sweep deletes that version's sub-keys and score entries.
 *
 * The db byte of every record is a database *id*, not the number SELECT takes. The '!dbs' record
 * maps each logical database to its id (ids[n] is database n's; absent record: id n for database
 * n), and lists the retired ids: FLUSHDB and FLUSHALL give a database a fresh unused id in the
 * same batch as the record, so they cost O(1) whatever the database holds, and the background
 * sweep deletes the retired id's records by range ('M', 'S', 'Z', 'G', 'C' of it, and its 'E'
 * entries if `expiring` lists it: the database had keys with a TTL) before the id is free for
 * reuse. With no unused id left (256 ids for up to 256 databases) FLUSHDB deletes key by key
 * instead. Format 1 is format 2 without the '!dbs' record.
 *
 * A 'G' record whose value is a shard's 8-byte boot id (random per process start) names a version
 * being staged by a cross-shard RENAME/COPY: its sub-keys are written before any meta record
 * points to it. The sweep leaves it alone while that process runs; the copy either commits (the
 * record is deleted as the meta is written) or aborts (the value becomes empty: garbage). After a
 * crash the boot id is stale, so a half-staged copy is swept like any other dead version.
 *
 * Cross-shard writes (src/server/cross-write.ts) leave short-lived '!x' records: a shard keeps
 * an intent naming the other shards' parts, or a marker, in the same batch as its own part, and a
 * watermark (every txid below it is written everywhere). A start-up after a crash runs the parts
 * that intents name on shards holding no record of the txid, then drops them all. They are
 * outside every database id, so FLUSHALL leaves them, and a build that does not know them never
 * reads them.
 */
import { copyBytes } from '../util/bytes.js';

export const FORMAT_VERSION = 2;
/** Older formats this build opens (and upgrades in place: see FORMAT_VERSION's history above). */
export const READABLE_FORMATS: readonly number[] = [1, 2];

/** Record-kind prefixes (first byte of every LevelDB key). Never change these values. */
export const Prefix = {
  META: 0x4d, // 'M'
  SUB: 0x53, // 'S'
  SCORE: 0x5a, // 'Z'
  EXPIRY: 0x45, // 'E'
  GARBAGE: 0x47, // 'G'
  COUNT: 0x43, // 'C'
  INFO: 0x21, // '!'
} as const;

/** Record kinds stored per collection version; the sweep and copies of a collection walk each. */
export const VERSIONED_PREFIXES = [Prefix.SUB, Prefix.SCORE] as const;

/** Type bytes stored in the meta value. Never change these values. */
export const Type = {
  STRING: 1,
  HASH: 2,
  LIST: 3,
  SET: 4,
  ZSET: 5,
  STREAM: 6,
} as const;
export type TypeCode = (typeof Type)[keyof typeof Type];

/** Redis' names for TYPE and SCAN TYPE. */
export const TYPE_NAMES: Record<number, string> = {
  [Type.STRING]: 'string',
  [Type.HASH]: 'hash',
  [Type.LIST]: 'list',
  [Type.SET]: 'set',
  [Type.ZSET]: 'zset',
  [Type.STREAM]: 'stream',
};

export const META_HEADER = 10; // type(1) flags(1) expire(8)
export const COLLECTION_HEADER = META_HEADER + 16; // + version(8) size(8)

export const INFO_KEY = Buffer.from('!format', 'latin1');
export const DB_IDS_KEY = Buffer.from('!dbs', 'latin1');
/** Prefixes of the cross-shard intent and marker records (txid follows). */
export const CROSS_INTENT = Buffer.from('!xi', 'latin1');
export const CROSS_MARK = Buffer.from('!xm', 'latin1');
export const CROSS_WATERMARK = Buffer.from('!xw', 'latin1');
/** Database ids: one byte in every record key. */
export const DB_ID_COUNT = 256;

/** The '!dbs' record: database n's id is ids[n]; retired ids still hold records for the sweep. */
export interface DbIds {
  ids: number[];
  retired: number[];
  /** The retired ids that have 'E' entries (their database had keys with a TTL when flushed). */
  expiring: number[];
}

export function encodeDbIds(d: DbIds): Buffer {
  return Buffer.from(JSON.stringify(d));
}

export function decodeDbIds(v: Buffer): DbIds {
  const d = JSON.parse(v.toString()) as DbIds;
  return { ids: d.ids, retired: d.retired, expiring: d.expiring ?? [] };
}

// ---------------------------------------------------------------- keys

export function metaKey(db: number, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + key.length);
  writeMetaKey(out, 0, db, key);
  return out;
}

/** metaKey(db, key) written into `out` at `at` (2 + key.length bytes); returns where it ends. */
export function writeMetaKey(out: Buffer, at: number, db: number, key: Buffer): number {
  out[at] = Prefix.META;
  out[at + 1] = db;
  key.copy(out, at + 2);
  return at + 2 + key.length;
}

/** The prefix shared by every meta key of `db` (for SCAN/KEYS/FLUSHDB). */
export function metaPrefix(db: number): Buffer {
  return Buffer.from([Prefix.META, db]);
}

/** Decodes a meta key into [db, user-key]. */
export function decodeMetaKey(k: Buffer): { db: number; key: Buffer } {
  return { db: k[1]!, key: k.subarray(2) };
}

/** 'S'|'Z'|'G' | db | key-len(4) | key | version(8): the prefix of one collection version. */
export function versionPrefix(prefix: number, db: number, key: Buffer, version: bigint, extra = 0): Buffer {
  const out = Buffer.allocUnsafe(1 + 1 + 4 + key.length + 8 + extra);
  out.writeBigUInt64BE(version, writeKeyHead(out, prefix, db, key));
  return out;
}

/** 'S'|'Z'|'G' | db | key-len(4) | key, at the start of `out`; returns where the version goes. */
function writeKeyHead(out: Buffer, prefix: number, db: number, key: Buffer): number {
  out[0] = prefix;
  out[1] = db;
  out.writeUInt32BE(key.length, 2);
  key.copy(out, 6);
  return 6 + key.length;
}

/**
 * subKey(db, key, version, sub) written at the start of `out` (long enough: subKeyLength), with
 * the version as its 8 stored bytes (`version` from `at`, as a meta record holds it); returns its
 * length. For readers of raw records (the front thread's reads of the row cache).
 */
export function writeSubKey(out: Buffer, db: number, key: Buffer, version: Buffer, at: number, sub: Buffer): number {
  const v = writeKeyHead(out, Prefix.SUB, db, key);
  version.copy(out, v, at, at + 8);
  sub.copy(out, v + 8);
  return v + 8 + sub.length;
}

/** The length of subKey(db, key, version, sub). */
export function subKeyLength(key: Buffer, sub: Buffer): number {
  return 6 + key.length + 8 + sub.length;
}

export function subKey(db: number, key: Buffer, version: bigint, sub: Buffer): Buffer {
  return subKeyAfter(versionPrefix(Prefix.SUB, db, key, version), sub);
}

/** subKey() from its version prefix, built once per collection (no BigInt write per sub-key). */
export function subKeyAfter(head: Buffer, sub: Buffer): Buffer {
  const out = Buffer.allocUnsafe(head.length + sub.length);
  copyBytes(head, 0, out, 0, head.length);
  copyBytes(sub, 0, out, head.length, sub.length);
  return out;
}

export function scoreKey(db: number, key: Buffer, version: bigint, score: number, member: Buffer): Buffer {
  return scoreKeyAfter(versionPrefix(Prefix.SCORE, db, key, version), score, member);
}

/** scoreKey() from its version prefix, built once per sorted set. */
export function scoreKeyAfter(head: Buffer, score: number, member: Buffer): Buffer {
  const out = Buffer.allocUnsafe(head.length + 8 + member.length);
  copyBytes(head, 0, out, 0, head.length);
  writeSortableDouble(out, score, head.length);
  copyBytes(member, 0, out, head.length + 8, member.length);
  return out;
}

export function garbageKey(db: number, key: Buffer, version: bigint): Buffer {
  return versionPrefix(Prefix.GARBAGE, db, key, version);
}

/** Decodes a 'G' record's key into the dead version it names. */
export function decodeGarbageKey(k: Buffer): { db: number; key: Buffer; version: bigint } {
  const len = k.readUInt32BE(2);
  return { db: k[1]!, key: k.subarray(6, 6 + len), version: k.readBigUInt64BE(6 + len) };
}

/** Offset of the database id in an 'E' key: prefix(1) | expire-ms(8) | db(1) | key. */
export const EXPIRY_DB_OFFSET = 9;

export function expiryKey(expireMs: number, db: number, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + 8 + 1 + key.length);
  out[0] = Prefix.EXPIRY;
  out.writeBigUInt64BE(BigInt(expireMs), 1);
  out[EXPIRY_DB_OFFSET] = db;
  key.copy(out, EXPIRY_DB_OFFSET + 1);
  return out;
}

export function decodeExpiryKey(k: Buffer): { expireMs: number; db: number; key: Buffer } {
  return { expireMs: Number(k.readBigUInt64BE(1)), db: k[EXPIRY_DB_OFFSET]!, key: k.subarray(EXPIRY_DB_OFFSET + 1) };
}

export function countKey(db: number): Buffer {
  return Buffer.from([Prefix.COUNT, db]);
}

// ---------------------------------------------------------------- meta values

export interface Meta {
  type: TypeCode;
  flags: number;
  /** Unix ms, 0 = none */
  expire: number;
  /** String value (strings only). */
  value?: Buffer;
  /** Collections: */
  version?: bigint;
  size?: number;
  head?: bigint;
  tail?: bigint;
}

export function encodeStringMeta(value: Buffer, expire: number): Buffer {
  const out = Buffer.allocUnsafe(META_HEADER + value.length);
  out[0] = Type.STRING;
  out[1] = 0;
  writeU64(out, expire, 2);
  value.copy(out, META_HEADER);
  return out;
}

export function encodeCollectionMeta(m: Meta): Buffer {
  const isList = m.type === Type.LIST;
  const out = Buffer.allocUnsafe(COLLECTION_HEADER + (isList ? 16 : 0));
  out[0] = m.type;
  out[1] = m.flags;
  writeU64(out, m.expire, 2);
  out.writeBigUInt64BE(m.version!, META_HEADER);
  writeU64(out, m.size!, META_HEADER + 8);
  if (isList) {
    writeSortableI64(out, m.head!, COLLECTION_HEADER);
    writeSortableI64(out, m.tail!, COLLECTION_HEADER + 8);
  }
  return out;
}

export function encodeMeta(m: Meta): Buffer {
  return m.type === Type.STRING ? encodeStringMeta(m.value!, m.expire) : encodeCollectionMeta(m);
}

export function decodeMeta(v: Buffer): Meta {
  const type = v[0] as TypeCode;
  const m: Meta = { type, flags: v[1]!, expire: readU64(v, 2) };
  if (type === Type.STRING) {
    m.value = v.subarray(META_HEADER);
  } else {
    m.version = v.readBigUInt64BE(META_HEADER);
    m.size = readU64(v, META_HEADER + 8);
    if (type === Type.LIST) {
      m.head = readSortableI64(v, COLLECTION_HEADER);
      m.tail = readSortableI64(v, COLLECTION_HEADER + 8);
    }
  }
  return m;
}

/** Reads only the expiry of an encoded meta value (no full decode), which starts at `at` in `v`. */
export function metaExpire(v: Buffer, at = 0): number {
  return readU64(v, at + 2);
}

// ---------------------------------------------------------------- numbers

/** Writes a non-negative integer < 2^53 as a big-endian u64. */
export function writeU64(b: Buffer, n: number, off: number): void {
  b.writeUInt32BE(Math.floor(n / 0x100000000), off);
  b.writeUInt32BE(n >>> 0, off + 4);
}

export function readU64(b: Buffer, off: number): number {
  return b.readUInt32BE(off) * 0x100000000 + b.readUInt32BE(off + 4);
}

/** Signed 64-bit as sortable bytes: big-endian with the sign bit flipped. */
export function writeSortableI64(b: Buffer, n: bigint, off: number): void {
  b.writeBigUInt64BE(BigInt.asUintN(64, n) ^ 0x8000000000000000n, off);
}

export function readSortableI64(b: Buffer, off: number): bigint {
  return BigInt.asIntN(64, b.readBigUInt64BE(off) ^ 0x8000000000000000n);
}

/**
 * A double as 8 bytes whose unsigned bytewise order equals numeric order:
 * positive numbers get their sign bit set, negative numbers have every bit inverted.
 * -0 is stored as +0 (Redis treats them as equal scores).
 */
export function writeSortableDouble(b: Buffer, d: number, off: number): void {
  if (d === 0) d = 0;
  b.writeDoubleBE(d, off);
  if (b[off]! & 0x80) {
    for (let i = off; i < off + 8; i++) b[i] = ~b[i]! & 0xff;
  } else {
    b[off] = b[off]! | 0x80;
  }
}

/** Scratch space of readSortableDouble (one thread per isolate, and it never re-enters). */
const SCORE = Buffer.alloc(8);

export function readSortableDouble(b: Buffer, off: number): number {
  const t = SCORE;
  b.copy(t, 0, off, off + 8);
  if (t[0]! & 0x80) t[0] = t[0]! & 0x7f;
  else for (let i = 0; i < 8; i++) t[i] = ~t[i]! & 0xff;
  return t.readDoubleBE(0);
}

/** The smallest key greater than every key starting with `prefix` (for range ends), or null if none. */
export function prefixEnd(prefix: Buffer): Buffer | null {
  const out = Buffer.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i] = out[i]! + 1;
      return out.subarray(0, i + 1);
    }
  }
  return null;
}
