/**
 * Active expiry: expired keys leave disk and DBSIZE without being touched.
 *
 * Each cycle (hz times a second) reads the expiry index ('E' records, ordered by time) from its
 * start up to now and deletes what it finds, at most a bounded number of keys per cycle so
 * commands keep flowing; when it hits the bound it goes again on the next turn.
 */
import { Prefix, decodeExpiryKey } from '../storage/encoding.js';
import type { Store } from '../storage/store.js';
import { scan } from '../storage/scan.js';

export const KEYS_PER_CYCLE = 200;

/** Runs one cycle; returns true when more expired keys may remain. */
export async function expireCycle(store: Store, effort: number, sync: () => Promise<void>): Promise<boolean> {
  if (store.hasPending) await sync();
  const now = Date.now();
  const limit = KEYS_PER_CYCLE * effort;
  const lt = Buffer.allocUnsafe(9);
  lt[0] = Prefix.EXPIRY;
  lt.writeBigUInt64BE(BigInt(now + 1), 1);
  // The deletes go to the overlay as the index is read; the rest of it is read from LevelDB.
  const seen = await scan(store, { gte: Buffer.from([Prefix.EXPIRY]), lt, limit, values: false }, (k) => {
    const { expireMs, db, key } = decodeExpiryKey(k);
    const n = store.dbNumber(db);
    if (n < 0 || n >= store.databases) {
      store.del(k); // a flushed database's id (the sweep deletes the rest) or one not configured
      return;
    }
    const m = store.lookup(db, key, now); // deletes the key (and this entry) if it is expired
    if (m !== null ? m.expire !== expireMs : !store.readOnly) store.del(k); // stale: the key is gone or its expiry moved
  });
  return seen >= limit;
}
