/**
 * Hash slots as Redis Cluster computes them (CRC16/XMODEM, {hash tags}), and the slot -> shard map.
 * The known slots are what redis-server 7.0 answers to CLUSTER KEYSLOT; where one is installed,
 * random keys are compared with it too.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { randomBytes, randomInt } from 'node:crypto';
import { crc16, keySlot, slotShard, keyShard, SLOTS } from '../src/server/slot.js';
import { connect } from './helpers/client.js';
import { startOracle, hasRedis, type OracleServer } from './helpers/oracle.js';

const slotOf = (k: string | Buffer): number => keySlot(Buffer.isBuffer(k) ? k : Buffer.from(k));

describe('crc16 and key slots', () => {
  it('crc16 is CRC16/XMODEM (check value of "123456789" is 0x31C3)', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    expect(crc16(Buffer.alloc(0))).toBe(0);
    expect(crc16(Buffer.from('x123456789y'), 1, 10)).toBe(0x31c3);
  });

  it.each([
    ['foo', 12182],
    ['bar', 5061],
    ['somekey', 11058],
    ['123456789', 12739],
    ['', 0],
    ['foo{hash_tag}', 2515],
    ['bar{hash_tag}', 2515],
    ['{user1000}.following', 3443],
    ['{user1000}.followers', 3443],
    ['foo{}{bar}', 8363], // empty tag: the whole key is hashed
    ['{}', 15257],
    ['foo{{bar}}zap', 4015], // the tag is "{bar"
    ['{bar', 4015],
    ['foo{bar}{zap}', 5061], // only the first tag counts: "bar"
    ['a{b', 13340], // no closing brace: the whole key
    ['a}b{c}', 7365],
  ])('CLUSTER KEYSLOT %j = %i', (key, slot) => {
    expect(slotOf(key)).toBe(slot);
  });

  it('keys sharing a hash tag share a slot', () => {
    expect(slotOf('{user1000}.following')).toBe(slotOf('{user1000}.followers'));
    expect(slotOf('foo{{bar}}zap')).toBe(slotOf('{bar'));
    expect(slotOf('a}b{c}')).toBe(slotOf('c'));
  });
});

describe('slot -> shard', () => {
  it.each([1, 2, 3, 4, 7, 16, 256])('%i shards own contiguous, near-equal slot ranges covering every slot', (shards) => {
    const sizes = new Array<number>(shards).fill(0);
    let prev = 0;
    for (let slot = 0; slot < SLOTS; slot++) {
      const s = slotShard(slot, shards);
      expect(s === prev || s === prev + 1, `slot ${slot}: shard ${s} after ${prev}`).toBe(true);
      sizes[s]!++;
      prev = s;
    }
    expect(slotShard(0, shards)).toBe(0);
    expect(slotShard(SLOTS - 1, shards)).toBe(shards - 1);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('keyShard maps a key through its slot, and everything to shard 0 with one shard', () => {
    for (const k of ['foo', 'bar', '{user1000}.following', 'x']) {
      expect(keyShard(Buffer.from(k), 4)).toBe(slotShard(slotOf(k), 4));
      expect(keyShard(Buffer.from(k), 1)).toBe(0);
    }
    expect(keyShard(Buffer.from('{tag}a'), 4)).toBe(keyShard(Buffer.from('{tag}b'), 4));
  });
});

describe.skipIf(!hasRedis())('random keys against redis-server CLUSTER KEYSLOT', () => {
  let oracle: OracleServer | null = null;
  afterAll(async () => {
    await oracle?.stop();
  });

  it('agrees on 2000 random binary keys with braces', async () => {
    oracle = await startOracle(['--cluster-enabled', 'yes']);
    const braces = [0x7b, 0x7d];
    const keys = Array.from({ length: 2000 }, () => {
      const k = randomBytes(randomInt(0, 12));
      for (let i = 0; i < k.length; i++) if (randomInt(0, 4) === 0) k[i] = braces[randomInt(0, 2)]!;
      return k;
    });
    const r = connect(oracle!.port);
    const p = r.pipeline();
    for (const k of keys) p.call('CLUSTER', 'KEYSLOT', k);
    const res = (await p.exec())!;
    r.disconnect();
    const mismatches = keys.filter((k, i) => res[i]![1] !== slotOf(k)).map((k) => k.toString('hex'));
    expect(mismatches).toEqual([]);
  });
});
