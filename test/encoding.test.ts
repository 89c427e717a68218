/**
 * The on-disk encoding (src/storage/encoding.ts): every key and value encoder round-trips, and
 * bytewise order is the order the commands need (LevelDB has no custom comparator).
 */
import { describe, it, expect } from 'vitest';
import { randomBytes, randomInt } from 'node:crypto';
import {
  Prefix, Type, TYPE_NAMES, META_HEADER, COLLECTION_HEADER, type Meta,
  metaKey, metaPrefix, decodeMetaKey, versionPrefix, subKey, subKeyLength, writeSubKey, scoreKey, garbageKey, expiryKey, decodeExpiryKey,
  countKey, encodeStringMeta, encodeCollectionMeta, encodeMeta, decodeMeta, metaExpire,
  writeU64, readU64, writeSortableI64, readSortableI64, writeSortableDouble, readSortableDouble, prefixEnd,
} from '../src/storage/encoding.js';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;

function sortableDouble(d: number): Buffer {
  const b = Buffer.alloc(8);
  writeSortableDouble(b, d, 0);
  return b;
}

function sortableI64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  writeSortableI64(b, n, 0);
  return b;
}

/** A double from 64 random bits: every exponent (subnormals included) and both signs; no NaN. */
function randomDouble(): number {
  for (;;) {
    const d = randomBytes(8).readDoubleBE(0);
    if (!Number.isNaN(d)) return d;
  }
}

function randomI64(): bigint {
  return randomBytes(8).readBigInt64BE(0);
}

/** Asserts that sorting the encodings bytewise sorts the values as `compare` does. */
function expectSameOrder<T>(values: T[], encode: (v: T) => Buffer, compare: (a: T, b: T) => number): void {
  const byValue = [...values].sort(compare);
  const byBytes = values.map((v) => ({ v, b: encode(v) })).sort((x, y) => Buffer.compare(x.b, y.b)).map((x) => x.v);
  for (let i = 0; i < values.length; i++) {
    if (byValue[i] !== byBytes[i] && compare(byValue[i]!, byBytes[i]!) !== 0) {
      expect.fail(`order differs at ${i}: by value ${String(byValue[i])}, by bytes ${String(byBytes[i])}`);
    }
  }
}

const binaryKey = Buffer.from([0x00, 0xff, 0x7b, 0x0d, 0x0a, 0x61]);

describe('record keys', () => {
  it('meta keys: prefix, db and key round-trip; the db prefix covers them', () => {
    for (const [db, key] of [[0, Buffer.from('foo')], [15, binaryKey], [255, Buffer.alloc(0)]] as const) {
      const k = metaKey(db, key);
      expect(k[0]).toBe(Prefix.META);
      expect(decodeMetaKey(k)).toEqual({ db, key });
      expect(k.subarray(0, 2).equals(metaPrefix(db))).toBe(true);
    }
  });

  it('sub-keys, score keys and garbage keys share their version prefix and keep every field', () => {
    const version = 0x0123456789abcdefn;
    const vp = versionPrefix(Prefix.SUB, 3, binaryKey, version);
    expect(vp[0]).toBe(Prefix.SUB);
    expect(vp[1]).toBe(3);
    expect(vp.readUInt32BE(2)).toBe(binaryKey.length);
    expect(vp.subarray(6, 6 + binaryKey.length).equals(binaryKey)).toBe(true);
    expect(vp.readBigUInt64BE(6 + binaryKey.length)).toBe(version);

    const sk = subKey(3, binaryKey, version, Buffer.from('field'));
    expect(sk.subarray(0, vp.length).equals(vp)).toBe(true);
    expect(sk.subarray(vp.length).toString()).toBe('field');
    // The same key from a meta record's stored version bytes (the front thread's field reads).
    const meta = encodeCollectionMeta({ type: Type.HASH, flags: 0, expire: 0, version, size: 1 });
    const out = Buffer.alloc(subKeyLength(binaryKey, Buffer.from('field')) + 4);
    expect(out.subarray(0, writeSubKey(out, 3, binaryKey, meta, META_HEADER, Buffer.from('field'))).equals(sk)).toBe(true);

    const zk = scoreKey(3, binaryKey, version, -2.5, Buffer.from('member'));
    expect(zk[0]).toBe(Prefix.SCORE);
    expect(zk.subarray(1, vp.length).equals(vp.subarray(1))).toBe(true);
    expect(readSortableDouble(zk, vp.length)).toBe(-2.5);
    expect(zk.subarray(vp.length + 8).toString()).toBe('member');

    const gk = garbageKey(3, binaryKey, version);
    expect(gk[0]).toBe(Prefix.GARBAGE);
    expect(gk.subarray(1).equals(vp.subarray(1))).toBe(true);
  });

  it('the key length keeps one key\'s sub-keys apart from a longer key\'s', () => {
    // Without the length, "a" + version bytes could collide with a key starting with "a".
    const short = versionPrefix(Prefix.SUB, 0, Buffer.from('a'), 1n);
    const long = subKey(0, Buffer.from('ab'), 1n, Buffer.from('x'));
    expect(long.subarray(0, short.length).equals(short)).toBe(false);
  });

  it('score keys of one version sort by score, then member', () => {
    const scores = [-Infinity, -1e300, -1, -Number.MIN_VALUE, 0, Number.MIN_VALUE, 0.5, 1, 1e300, Infinity];
    const entries = scores.flatMap((s) => ['b', 'a', 'ab'].map((m) => ({ s, m })));
    expectSameOrder(entries, (e) => scoreKey(1, Buffer.from('z'), 7n, e.s, Buffer.from(e.m)),
      (x, y) => (x.s < y.s ? -1 : x.s > y.s ? 1 : Buffer.compare(Buffer.from(x.m), Buffer.from(y.m))));
  });

  it('expiry keys round-trip and sort by time first', () => {
    const times = [0, 1, 255, 256, 1_700_000_000_000, 2 ** 40, Number.MAX_SAFE_INTEGER,
      ...Array.from({ length: 200 }, () => randomInt(0, 2 ** 48 - 1))];
    for (const t of times) {
      expect(decodeExpiryKey(expiryKey(t, 7, binaryKey))).toEqual({ expireMs: t, db: 7, key: binaryKey });
    }
    // Key bytes must not affect the time order: give later times smaller keys.
    expectSameOrder(times.map((t, i) => ({ t, key: Buffer.from([255 - (i % 256)]) })),
      (e) => expiryKey(e.t, 0, e.key), (x, y) => x.t - y.t || Buffer.compare(x.key, y.key));
  });

  it('count keys name their db', () => {
    expect(countKey(9)).toEqual(Buffer.from([Prefix.COUNT, 9]));
  });
});

describe('meta values', () => {
  it('strings round-trip with and without expiry, any bytes', () => {
    for (const [value, expire] of [[Buffer.from('hello'), 0], [Buffer.alloc(0), 1_700_000_000_123], [randomBytes(1000), Number.MAX_SAFE_INTEGER]] as const) {
      const v = encodeStringMeta(value, expire);
      expect(v.length).toBe(META_HEADER + value.length);
      expect(decodeMeta(v)).toEqual({ type: Type.STRING, flags: 0, expire, value });
      expect(metaExpire(v)).toBe(expire);
      expect(encodeMeta({ type: Type.STRING, flags: 0, expire, value }).equals(v)).toBe(true);
    }
  });

  it.each([Type.HASH, Type.SET, Type.ZSET, Type.STREAM])('collection type %i round-trips version, size, flags and expiry', (type) => {
    const m: Meta = { type, flags: 3, expire: 1_700_000_000_000, version: 0xfedcba9876543210n, size: 2 ** 40 + 5 };
    const v = encodeCollectionMeta(m);
    expect(v.length).toBe(COLLECTION_HEADER);
    expect(decodeMeta(v)).toEqual(m);
    expect(metaExpire(v)).toBe(m.expire);
    expect(encodeMeta(m).equals(v)).toBe(true);
  });

  it('lists round-trip head and tail, including the ends of the i64 range', () => {
    for (const [head, tail] of [[0n, 0n], [-5n, 10n], [I64_MIN, I64_MAX], [-1n, -1n]]) {
      const m: Meta = { type: Type.LIST, flags: 0, expire: 0, version: 1n, size: 16, head, tail };
      const v = encodeCollectionMeta(m);
      expect(v.length).toBe(COLLECTION_HEADER + 16);
      expect(decodeMeta(v)).toEqual(m);
    }
  });

  it('every type has a name', () => {
    for (const t of Object.values(Type)) expect(TYPE_NAMES[t]).toMatch(/^[a-z]+$/);
  });
});

describe('numbers', () => {
  it('u64 round-trips up to 2^53 - 1 and sorts bytewise', () => {
    const values = [0, 1, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER, ...Array.from({ length: 500 }, () => randomInt(0, 2 ** 48 - 1) * randomInt(1, 32))];
    const enc = (n: number): Buffer => {
      const b = Buffer.alloc(8);
      writeU64(b, n, 0);
      return b;
    };
    for (const n of values) expect(readU64(enc(n), 0)).toBe(n);
    expectSameOrder(values, enc, (a, b) => a - b);
  });

  it('sortable i64 round-trips and sorts bytewise as numbers, range ends included', () => {
    const values = [I64_MIN, I64_MIN + 1n, -1n, 0n, 1n, I64_MAX - 1n, I64_MAX, ...Array.from({ length: 1000 }, randomI64)];
    for (const n of values) expect(readSortableI64(sortableI64(n), 0)).toBe(n);
    expectSameOrder(values, sortableI64, (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  });

  it('sortable doubles round-trip (-0 as +0) and sort bytewise as numbers', () => {
    const special = [
      -Infinity, -Number.MAX_VALUE, -1, -2.2250738585072014e-308, -2.225073858507201e-308 /* largest subnormal */,
      -Number.MIN_VALUE, -0, 0, Number.MIN_VALUE, 2.225073858507201e-308, 2.2250738585072014e-308 /* smallest normal */,
      1, Number.MAX_VALUE, Infinity,
    ];
    const values = [...special, ...Array.from({ length: 2000 }, randomDouble)];
    for (const d of values) {
      const back = readSortableDouble(sortableDouble(d), 0);
      expect(Object.is(back, d === 0 ? 0 : d), `${d}`).toBe(true);
    }
    expect(sortableDouble(-0).equals(sortableDouble(0))).toBe(true);
    expectSameOrder(values, sortableDouble, (a, b) => a - b);
    // Neighbouring specials are strictly ordered (equal only for -0/+0).
    for (let i = 1; i < special.length; i++) {
      const c = Buffer.compare(sortableDouble(special[i - 1]!), sortableDouble(special[i]!));
      expect(c, `${special[i - 1]} vs ${special[i]}`).toBe(special[i - 1] === special[i] ? 0 : -1);
    }
  });

  it('writes at an offset without touching the bytes around', () => {
    const b = Buffer.alloc(12, 0xaa);
    writeSortableI64(b, -3n, 2);
    expect(readSortableI64(b, 2)).toBe(-3n);
    writeSortableDouble(b, 1.5, 2);
    expect(b[0]).toBe(0xaa);
    expect(b[1]).toBe(0xaa);
    expect(b[10]).toBe(0xaa);
    expect(readSortableDouble(b, 2)).toBe(1.5);
  });
});

describe('prefixEnd', () => {
  it('is the smallest key above every key with the prefix', () => {
    expect(prefixEnd(Buffer.from([1, 2, 3]))).toEqual(Buffer.from([1, 2, 4]));
    expect(prefixEnd(Buffer.from([1, 0xff, 0xff]))).toEqual(Buffer.from([2]));
    expect(prefixEnd(Buffer.from([0xff, 0xff]))).toBeNull();
    const p = metaPrefix(4);
    const end = prefixEnd(p)!;
    for (const k of [metaKey(4, Buffer.alloc(0)), metaKey(4, Buffer.from([0xff, 0xff, 0xff])), metaKey(4, randomBytes(20))]) {
      expect(Buffer.compare(k, end)).toBe(-1);
    }
    expect(Buffer.compare(metaKey(5, Buffer.alloc(0)), end)).toBeGreaterThanOrEqual(0);
  });
});
