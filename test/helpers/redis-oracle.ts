/**
 * A real redis-server (the reference this project follows) for tests that compare replies.
 * Tests using it skip when /usr/bin/redis-server is not installed.
 */
import { startOracle, hasRedis as redisInstalled, REDIS_SERVER, type OracleServer } from './oracle.js';

export { REDIS_SERVER };
export const hasRedis = redisInstalled();
export type Oracle = OracleServer;

/** Starts redis-server on a free port, no persistence, in a temp dir (see oracle.ts). */
export async function startRedis(): Promise<Oracle> {
  const o = await startOracle();
  if (!o) throw new Error(`${REDIS_SERVER} is not installed`);
  return o;
}

/** A small seeded PRNG (mulberry32), so randomized comparisons are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
