/**
 * Redis Cluster's key hash slot: CRC16 (XMODEM) of the key, or of the part inside the first
 * non-empty {hash tag}, mod 16384. Shards own contiguous, equal slot ranges.
 */
export const SLOTS = 16384;

const TABLE = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c = i << 8;
  for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  TABLE[i] = c;
}

export function crc16(b: Uint8Array, from = 0, to = b.length): number {
  let crc = 0;
  for (let i = from; i < to; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b[i]!) & 0xff]!;
  return crc;
}

export function keySlot(key: Uint8Array): number {
  const open = key.indexOf(123 /* { */);
  if (open >= 0) {
    const close = key.indexOf(125 /* } */, open + 1);
    if (close > open + 1) return crc16(key, open + 1, close) & (SLOTS - 1);
  }
  return crc16(key) & (SLOTS - 1);
}

/** The shard that owns a slot: slots are split into `shards` contiguous ranges. */
export function slotShard(slot: number, shards: number): number {
  return Math.floor((slot * shards) / SLOTS);
}

export function keyShard(key: Uint8Array, shards: number): number {
  return shards === 1 ? 0 : slotShard(keySlot(key), shards);
}
