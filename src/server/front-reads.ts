/**
 * Single-key reads answered on the front thread, from the shard's row cache in shared memory,
 * without a hop to the shard (pika answers hot reads on its network threads): GET, STRLEN, EXISTS
 * of one key, TYPE, TTL, PTTL, EXPIRETIME, PEXPIRETIME, and the sizes a collection's meta record
 * holds: HLEN, LLEN, SCARD, ZCARD; and the reads of fields or members whose records are cached
 * too (HGET, HEXISTS, HSTRLEN, SISMEMBER, ZSCORE, HMGET, SMISMEMBER, ZMSCORE: the meta record gives
 * the type and version, then each sub-key's record answers). The shard stays the only writer of its
 * cache; the front reads it lock-free (SharedRowReader: a seqlock, and only records whose group
 * commit is written). Anything it cannot answer for certain goes to the shard as before: a key
 * that is not cached, pending (written by a batch not yet in LevelDB), expired, of a type the
 * command does not take (the shard answers WRONGTYPE), a cache the shard kept changing while it read,
 * or database ids the shard has not published.
 *
 * The server uses it only where the answer cannot depend on a command still in flight: nothing
 * sent to the shard is unanswered (every command dispatched before has run and is written), the
 * client has no earlier command unanswered, and no cross-shard command holds the shard.
 */
import { SharedRowReader, UNKNOWN, ABSENT, type SharedRows } from '../storage/row-cache.js';
import { Type, TYPE_NAMES, META_HEADER, COLLECTION_HEADER, metaExpire, readU64, readSortableDouble, subKeyLength, writeMetaKey, writeSubKey } from '../storage/encoding.js';
import { formatDouble, ttlFigure } from '../util/number.js';

/** The commands answered here; each reads one key, args[1]. */
export type FieldRead = 'hget' | 'hexists' | 'hstrlen' | 'sismember' | 'zscore';
/** Reads of several fields or members: an array of what the one-field read gives for each. */
export type FieldsRead = 'hmget' | 'smismember' | 'zmscore';
export type FrontRead = 'get' | 'strlen' | 'exists' | 'type' | 'ttl' | 'pttl' | 'expiretime' | 'pexpiretime' | 'hlen' | 'llen' | 'scard' | 'zcard' | FieldRead | FieldsRead;
export const FRONT_READS: readonly FrontRead[] = ['get', 'strlen', 'exists', 'type', 'ttl', 'pttl', 'expiretime', 'pexpiretime', 'hlen', 'llen', 'scard', 'zcard',
  'hget', 'hexists', 'hstrlen', 'sismember', 'zscore', 'hmget', 'smismember', 'zmscore'];

/** The collection type each size or field read takes (another type goes to the shard, for its WRONGTYPE). */
const TYPE_OF: Partial<Record<FrontRead, number>> = {
  hlen: Type.HASH, llen: Type.LIST, scard: Type.SET, zcard: Type.ZSET,
  hget: Type.HASH, hexists: Type.HASH, hstrlen: Type.HASH, sismember: Type.SET, zscore: Type.ZSET,
  hmget: Type.HASH, smismember: Type.SET, zmscore: Type.ZSET,
};

/** The one-field read each read of several fields repeats. */
const EACH: Record<FieldsRead, FieldRead> = { hmget: 'hget', smismember: 'sismember', zmscore: 'zscore' };

/**
 * Whether a front read of `op` takes `n` arguments (its name included): one key; for a field
 * read, a field or member; for a read of several, at least one.
 */
export function frontReadArgs(op: FrontRead, n: number): boolean {
  return op in EACH ? n >= 3 : n === (isFieldRead(op) ? 3 : 2);
}

function isFieldRead(op: FrontRead): op is FieldRead {
  return op === 'hget' || op === 'hexists' || op === 'hstrlen' || op === 'sismember' || op === 'zscore';
}

const NIL2 = Buffer.from('$-1\r\n');
const NIL3 = Buffer.from('_\r\n');
const ZERO = Buffer.from(':0\r\n');
const ONE = Buffer.from(':1\r\n');
const NO_KEY = Buffer.from(':-2\r\n');
const NONE = Buffer.from('+none\r\n');
const TYPES = new Map(Object.entries(TYPE_NAMES).map(([t, name]) => [Number(t), Buffer.from(`+${name}\r\n`)]));
const CRLF = 0x0a0d; // '\r\n' as a little-endian u16
/** A read that met the shard changing its cache: read again, up to SEQ_TRIES times (a change takes microseconds). */
const RETRY = Buffer.alloc(0);
const SEQ_TRIES = 8;

/** The reply to `op` for a key that does not exist (`n` fields for a read of several). */
function absent(op: FrontRead, resp: number, n = 0): Buffer {
  if (op in EACH) {
    const one = absent(EACH[op as FieldsRead], resp);
    return Buffer.concat([Buffer.from(`*${n}\r\n`, 'latin1'), ...Array<Buffer>(n).fill(one)]);
  }
  switch (op) {
    case 'get': return resp === 3 ? NIL3 : NIL2;
    case 'strlen': case 'exists': case 'hlen': case 'llen': case 'scard': case 'zcard':
    case 'hexists': case 'hstrlen': case 'sismember': return ZERO;
    case 'hget': case 'zscore': return resp === 3 ? NIL3 : NIL2;
    case 'type': return NONE;
    default: return NO_KEY;
  }
}

const int = (n: number): Buffer => Buffer.from(`:${n}\r\n`, 'latin1');

/** `len` bytes of `b` from `at` as a RESP bulk string. */
function bulk(b: Buffer, at: number, len: number): Buffer {
  const head = `$${len}\r\n`;
  const out = Buffer.allocUnsafe(head.length + len + 2);
  out.write(head, 0, 'latin1');
  b.copy(out, head.length, at, at + len);
  out.writeUInt16LE(CRLF, head.length + len);
  return out;
}

export class FrontReads {
  private readonly readers: (SharedRowReader | null)[] = [];
  private key = Buffer.allocUnsafe(1024);
  /** Reads answered here, and how many found their key (INFO keyspace_hits/misses add these). */
  served = 0;
  hits = 0;
  misses = 0;

  /** Shard `i` published its cache (null: it has none, row-cache-size 0). */
  attach(i: number, rows: SharedRows | null): void {
    this.readers[i] = rows === null ? null : new SharedRowReader(rows);
  }

  /**
   * The reply to `op` of `key` (args[1]) in database `db` (RESP `resp`; the fields or members
   * follow the key in `args`), or null when shard `shard` must answer.
   */
  read(op: FrontRead, shard: number, db: number, args: readonly Buffer[], resp: number): Buffer | null {
    const r = this.readers[shard];
    if (r === undefined || r === null) return null;
    for (let tries = 0; tries < SEQ_TRIES; tries++) {
      const out = this.readOnce(op, r, db, args, resp);
      if (out !== RETRY) return out;
    }
    return null;
  }

  /** read() in one seqlock window: RETRY when the shard changed its cache meanwhile. */
  private readOnce(op: FrontRead, r: SharedRowReader, db: number, args: readonly Buffer[], resp: number): Buffer | null {
    const seq = r.begin();
    if (seq < 0) return RETRY;
    const key = args[1]!;
    const id = r.dbId(db);
    const at = id < 0 ? UNKNOWN : this.live(r, id, key);
    if (at === UNKNOWN) return r.valid(seq) ? null : RETRY;
    let out: Buffer | null;
    if (at === ABSENT) out = absent(op, resp, args.length - 2);
    else {
      const len = r.length;
      if (isFieldRead(op)) out = this.field(op, r, id, key, args[2]!, at, len, resp);
      else if (op in EACH) out = this.fields(EACH[op as FieldsRead], r, id, args, at, len, resp);
      else out = present(op, r.bytes, at, len, metaExpire(r.bytes, at), Date.now());
    }
    // Whatever was read is only good if the shard did not touch its cache meanwhile.
    if (!r.valid(seq)) return RETRY;
    if (out === null) return null;
    this.served++;
    if (at === ABSENT) this.misses++;
    else this.hits++;
    return out;
  }

  /**
   * MGET of args[1..], the key args[i + 1] on shard shards[i], all cached: the reply, or null when
   * the shards must answer. A key of another type reads as nil, as in Redis.
   */
  mget(db: number, args: readonly Buffer[], shards: readonly number[], resp: number): Buffer | null {
    const parts: Buffer[] = [Buffer.from(`*${args.length - 1}\r\n`, 'latin1')];
    const nil = resp === 3 ? NIL3 : NIL2;
    let hits = 0;
    for (let i = 1; i < args.length; i++) {
      const r = this.readers[shards[i - 1]!];
      if (r === undefined || r === null) return null;
      let part: Buffer | null = RETRY;
      for (let tries = 0; part === RETRY && tries < SEQ_TRIES; tries++) {
        const seq = r.begin();
        if (seq < 0) continue;
        const id = r.dbId(db);
        const at = id < 0 ? UNKNOWN : this.live(r, id, args[i]!);
        const b = r.bytes;
        part = at === UNKNOWN ? null : at !== ABSENT && b[at] === Type.STRING ? bulk(b, at + META_HEADER, r.length - META_HEADER) : nil;
        if (!r.valid(seq)) part = RETRY;
        else if (at !== ABSENT && at !== UNKNOWN) hits++;
      }
      if (part === null || part === RETRY) return null;
      parts.push(part);
    }
    this.served++;
    this.hits += hits;
    this.misses += args.length - 1 - hits;
    return Buffer.concat(parts);
  }

  /**
   * Where `key`'s meta record (database id `id`) starts in r.bytes (its length in r.length), ABSENT
   * when it is known not to exist, or UNKNOWN: not cached, pending, malformed, or expired (the
   * shard expires it). Inside the caller's begin/valid window.
   */
  private live(r: SharedRowReader, id: number, key: Buffer): number {
    const at = r.locate(this.metaKey(id, key));
    if (at < 0) return at;
    if (r.length < META_HEADER) return UNKNOWN;
    const expire = metaExpire(r.bytes, at);
    return expire !== 0 && expire <= Date.now() ? UNKNOWN : at;
  }

  /**
   * A field read of the live collection whose meta record is at `at` (`len` bytes): its sub-key's
   * record, if cached, answers (inside the caller's begin/valid window).
   */
  private field(op: FieldRead, r: SharedRowReader, id: number, key: Buffer, field: Buffer, at: number, len: number, resp: number): Buffer | null {
    const b = r.bytes;
    if (b[at] !== TYPE_OF[op] || len < COLLECTION_HEADER) return null;
    // The field's sub-key, with the version the meta record holds.
    const n = subKeyLength(key, field);
    if (n > this.sub.length) this.sub = Buffer.allocUnsafe(Math.max(n, this.sub.length * 2));
    const sat = r.locate(this.sub.subarray(0, writeSubKey(this.sub, id, key, b, at + META_HEADER, field)));
    if (sat === UNKNOWN) return null;
    if (sat === ABSENT) return absent(op, resp);
    const vlen = r.length;
    switch (op) {
      case 'hexists': case 'sismember': return ONE;
      case 'hstrlen': return int(vlen);
      case 'hget': return bulk(b, sat, vlen);
      case 'zscore': {
        if (vlen !== 8) return null;
        const score = readSortableDouble(b, sat);
        const text = formatDouble(score === 0 ? 0 : score); // -0 prints as 0, as Redis does
        return Buffer.from(resp === 3 ? `,${text}\r\n` : `$${text.length}\r\n${text}\r\n`, 'latin1');
      }
    }
  }

  /** A read of several fields: the one-field read `each` of args[2..], all cached, as one array. */
  private fields(each: FieldRead, r: SharedRowReader, id: number, args: readonly Buffer[], at: number, len: number, resp: number): Buffer | null {
    const parts: Buffer[] = [Buffer.from(`*${args.length - 2}\r\n`, 'latin1')];
    for (let i = 2; i < args.length; i++) {
      const part = this.field(each, r, id, args[1]!, args[i]!, at, len, resp);
      if (part === null) return null;
      parts.push(part);
    }
    return Buffer.concat(parts);
  }

  private sub = Buffer.allocUnsafe(1024);

  /** encoding.ts metaKey(id, key), in a reused buffer. */
  private metaKey(id: number, key: Buffer): Buffer {
    const n = 2 + key.length;
    if (n > this.key.length) this.key = Buffer.allocUnsafe(Math.max(n, this.key.length * 2));
    return this.key.subarray(0, writeMetaKey(this.key, 0, id, key));
  }
}

/** The reply to `op` for a live record (type at b[at], `len` bytes), or null: not for this command. */
function present(op: FrontRead, b: Buffer, at: number, len: number, expire: number, now: number): Buffer | null {
  const type = b[at]!;
  switch (op) {
    case 'get': return type === Type.STRING ? bulk(b, at + META_HEADER, len - META_HEADER) : null;
    case 'strlen': return type === Type.STRING ? int(len - META_HEADER) : null;
    case 'exists': return ONE;
    case 'type': return TYPES.get(type) ?? null;
    case 'hlen': case 'llen': case 'scard': case 'zcard':
      return type === TYPE_OF[op] && len >= COLLECTION_HEADER ? int(readU64(b, at + META_HEADER + 8)) : null;
    default: return int(ttlFigure(expire, now, op === 'pttl' || op === 'pexpiretime', op === 'expiretime' || op === 'pexpiretime'));
  }
}
