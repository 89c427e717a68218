/**
 * GET answered on the front thread, from the shard's row cache in shared memory, without a hop to
 * the shard (pika answers hot reads on its network threads). The shard stays the only writer of
 * its cache; the front reads it lock-free (SharedRowReader: a seqlock, and only records whose
 * group commit is written). Anything it cannot answer for certain goes to the shard as before:
 * a key that is not cached, pending (written by a batch not yet in LevelDB), expired, not a
 * string, a cache the shard changed while it read, or database ids the shard has not published.
 *
 * The server uses it only where the answer cannot depend on a command still in flight: nothing
 * sent to the shard is unanswered (every command dispatched before has run and is written), the
 * client has no earlier command unanswered, and no cross-shard command holds the shard.
 */
import { SharedRowReader, UNKNOWN, ABSENT, type SharedRows } from '../storage/row-cache.js';
import { Type, META_HEADER, metaExpire, writeMetaKey } from '../storage/encoding.js';

const NIL2 = Buffer.from('$-1\r\n');
const NIL3 = Buffer.from('_\r\n');
const CRLF = 0x0a0d; // '\r\n' as a little-endian u16

export class FrontReads {
  private readonly readers: (SharedRowReader | null)[] = [];
  private key = Buffer.allocUnsafe(1024);
  /** GETs answered here, and how many found their key (INFO keyspace_hits/misses add these). */
  served = 0;
  hits = 0;
  misses = 0;

  /** Shard `i` published its cache (null: it has none, row-cache-size 0). */
  attach(i: number, rows: SharedRows | null): void {
    this.readers[i] = rows === null ? null : new SharedRowReader(rows);
  }

  /** The reply to GET `key` in database `db` (RESP `resp`), or null when shard `shard` must answer. */
  get(shard: number, db: number, key: Buffer, resp: number): Buffer | null {
    const r = this.readers[shard];
    if (r === undefined || r === null) return null;
    const seq = r.begin();
    if (seq < 0) return null;
    const id = r.dbId(db);
    if (id < 0) return null;
    const at = r.locate(this.metaKey(id, key));
    if (at === UNKNOWN) return null;
    let out: Buffer;
    if (at === ABSENT) {
      out = resp === 3 ? NIL3 : NIL2;
    } else {
      const b = r.bytes;
      const len = r.length;
      if (len < META_HEADER || b[at] !== Type.STRING) return null;
      const expire = metaExpire(b, at);
      if (expire !== 0 && expire <= Date.now()) return null;
      const vlen = len - META_HEADER;
      const head = `$${vlen}\r\n`;
      out = Buffer.allocUnsafe(head.length + vlen + 2);
      out.write(head, 0, 'latin1');
      b.copy(out, head.length, at + META_HEADER, at + len);
      out.writeUInt16LE(CRLF, head.length + vlen);
    }
    // Whatever was read is only good if the shard did not touch its cache meanwhile.
    if (!r.valid(seq)) return null;
    this.served++;
    if (at === ABSENT) this.misses++;
    else this.hits++;
    return out;
  }

  /** encoding.ts metaKey(id, key), in a reused buffer. */
  private metaKey(id: number, key: Buffer): Buffer {
    const n = 2 + key.length;
    if (n > this.key.length) this.key = Buffer.allocUnsafe(Math.max(n, this.key.length * 2));
    return this.key.subarray(0, writeMetaKey(this.key, 0, id, key));
  }
}
