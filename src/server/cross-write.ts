/**
 * Cross-shard writes that a crash cannot leave half done.
 *
 * A command that writes on several shards (MSET, DEL/UNLINK of many keys, FLUSHDB, FLUSHALL,
 * SWAPDB, and the coordinated RENAME, SMOVE, LMOVE, MSETNX) writes one part per shard. Each shard's group commit is atomic,
 * but a process killed between two shards' commits used to keep one part and lose another: half
 * an MSET, a RENAME's key on both shards, an SMOVE's or LMOVE's element on neither. Now each part
 * runs wrapped (the shard's half is src/shard/intents.ts), with a txid:
 *  - `__xfirst`: the shard writes the part and, in the same batch, an intent record naming the
 *    other parts (as commands);
 *  - `__xpart`: the shard writes the part and, in the same batch, a marker record of the txid.
 * A shard holding either record for a txid has written its part. Two ways to run the parts:
 *  - crossWriteAll (MSET, DEL, the flushes, SWAPDB): every part at once, each as __xfirst (in one synchronous step, so
 *    clients see the command at one point of every shard's order: see coordinator.ts);
 *  - crossWrite (coordinated commands, whose shards are reserved): the first part as __xfirst,
 *    then, once it is written, the others as __xpart.
 * At start-up, before clients are served (recoverCrossWrites), every part named by an intent whose
 * shard holds no record of the txid runs (as __xpart); then every record goes.
 *
 * Why running a part late is right: a shard without a record of the txid did not write the part,
 * and a shard's LevelDB log keeps a prefix of what the shard wrote, so nothing it wrote after the
 * part is there either: the part runs on the state it would have run on, less writes never
 * acknowledged. For that, a shard must not lose its record while another still names the part:
 * records are deleted only by `__xforget`, which also raises the shard's watermark record, and
 * only for txids below the watermark it carries: every txid below it has all its parts written.
 * Recovery ignores txids below the highest watermark found, so a crash halfway through the
 * deletions never makes a part run twice.
 *
 * This holds for a killed process under every appendfsync setting; for a power loss only with
 * appendfsync always for the coordinated commands (each part is on disk before the next starts),
 * as with everysec or no a power loss may take the last second of acknowledged writes anyway.
 */
import { parseReply, ReplyErr, type RespValue } from './resp/reply-parser.js';
import type { ServerState } from './context.js';

/** One shard's part: a command (by table name) run on `shard` in logical database `db`. */
export interface Part {
  shard: number;
  db: number;
  args: readonly (Buffer | string)[];
}

type Caller = Pick<ServerState, 'callShard' | 'log'>;

/** INFO stats: cross-shard writes so far, those whose records are not deleted yet, parts finished at start-up. */
export const crossWriteStats = { writes: 0, unsettled: 0, recovered: 0 };

/**
 * Txids in flight and written ones waiting for deletion. Txids start at 1 on each start-up (the
 * recovery deleted every record, watermarks included), and are given in increasing order, so the
 * first txid in `running` (a Set keeps insertion order) is the lowest one not fully written.
 */
const tx = {
  next: 1n,
  running: new Set<bigint>(),
  written: [] as { txid: Buffer; n: bigint; shards: number[] }[],
  flushing: false,
};

function begin(): { txid: Buffer; n: bigint } {
  const n = tx.next++;
  tx.running.add(n);
  crossWriteStats.unsettled++;
  const txid = Buffer.allocUnsafe(8);
  txid.writeBigUInt64BE(n);
  return { txid, n };
}

/** Every part of `n` has answered: its records may go once all earlier txids are written too. */
function written(server: Caller, txid: Buffer, n: bigint, parts: readonly Part[], replies: RespValue[]): void {
  // A part refused by its shard (a LevelDB write error) leaves this write half done while the
  // server runs: finishing it after a restart could undo later writes, so it is not kept for that.
  if (replies.some((r) => r instanceof ReplyErr)) server.log.error({ command: String(parts[0]!.args[0]), replies: replies.map(String) }, 'a cross-shard write is half done: a shard refused its part');
  tx.running.delete(n);
  crossWriteStats.writes++;
  tx.written.push({ txid, n, shards: [...new Set(parts.map((p) => p.shard))] });
  scheduleForget(server);
}

/** A txid that wrote nothing (its first part answered an error): no record to delete. */
function dropped(server: Caller, n: bigint): void {
  tx.running.delete(n);
  crossWriteStats.unsettled--;
  scheduleForget(server);
}

function scheduleForget(server: Caller): void {
  if (tx.flushing) return;
  tx.flushing = true;
  setImmediate(() => forgetWritten(server));
}

/** Deletes the records of the written txids below the watermark, one __xforget per shard. */
function forgetWritten(server: Caller): void {
  tx.flushing = false;
  const [lowestRunning] = tx.running;
  const watermark = lowestRunning ?? tx.next;
  const ready = tx.written.filter((w) => w.n < watermark);
  if (ready.length === 0) return;
  tx.written = tx.written.filter((w) => w.n >= watermark);
  const wm = Buffer.allocUnsafe(8);
  wm.writeBigUInt64BE(watermark);
  const byShard = new Map<number, Buffer[]>();
  for (const w of ready) for (const s of w.shards) (byShard.get(s) ?? byShard.set(s, []).get(s)!).push(w.txid);
  for (const [shard, txids] of byShard) {
    // A failure (shutting down, a write error) leaves the records to the next start-up.
    server.callShard(shard, 0, ['__xforget', wm, ...txids]).then(() => undefined, () => undefined);
  }
  crossWriteStats.unsettled -= ready.length;
}

/**
 * Runs every part at once as one cross-shard write (the sends happen now, in this synchronous
 * step); resolves with the replies in order. One part alone runs as it is.
 */
export function crossWriteAll(server: Caller, parts: readonly Part[]): Promise<RespValue[]> {
  if (parts.length === 1) return alone(server, parts[0]!);
  const { txid, n } = begin();
  const calls = parts.map((p, i) => server.callShard(p.shard, p.db, ['__xfirst', txid, encodeParts(parts.filter((_, j) => j !== i)), ...p.args]));
  return Promise.all(calls).then((raw) => {
    const replies = raw.map(parseReply);
    written(server, txid, n, parts, replies);
    return replies;
  });
}

/** A write on one shard only: as it is, no records. */
function alone(server: Caller, p: Part): Promise<RespValue[]> {
  return server.callShard(p.shard, p.db, p.args).then((r) => [parseReply(r)]);
}

/**
 * Writes `first`, then every part of `rest` (in parallel); the caller holds every shard involved
 * and has checked that the parts will succeed. Returns the replies in order. When `first`
 * answers an error nothing else runs (and it kept no intent): its reply is the only one.
 */
export async function crossWrite(server: Caller, first: Part, rest: readonly Part[]): Promise<RespValue[]> {
  if (rest.length === 0) return alone(server, first);
  const { txid, n } = begin();
  const head = parseReply(await server.callShard(first.shard, first.db, ['__xfirst', txid, encodeParts(rest), ...first.args]));
  if (head instanceof ReplyErr) {
    dropped(server, n);
    return [head];
  }
  const replies = (await Promise.all(rest.map((p) => server.callShard(p.shard, p.db, ['__xpart', txid, ...p.args])))).map(parseReply);
  written(server, txid, n, [first, ...rest], [head, ...replies]);
  return [head, ...replies];
}

/** Finishes the cross-shard writes a crash interrupted (see above); then no record is left. */
export async function recoverCrossWrites(server: Caller, shards: number): Promise<void> {
  const all = Array.from({ length: shards }, (_, s) => s);
  const lists = await Promise.all(all.map(async (s) => {
    const r = parseReply(await server.callShard(s, 0, ['__xlist']));
    if (r instanceof ReplyErr) throw new Error(`shard ${s}: ${r.message}`);
    return r as [Buffer[], Buffer[], Buffer | null];
  }));
  let watermark: Buffer = Buffer.alloc(8);
  for (const [, , wm] of lists) if (wm !== null && Buffer.compare(wm, watermark) > 0) watermark = wm;
  // Per txid at or above the watermark: the shards holding a record, and the parts named.
  const txs = new Map<string, { txid: Buffer; holders: Set<number>; parts: Part[] }>();
  const entry = (txid: Buffer): { txid: Buffer; holders: Set<number>; parts: Part[] } | null => {
    if (Buffer.compare(txid, watermark) < 0) return null;
    const hex = txid.toString('hex');
    let e = txs.get(hex);
    if (!e) txs.set(hex, (e = { txid, holders: new Set(), parts: [] }));
    return e;
  };
  let records = 0;
  lists.forEach(([intents, marks], s) => {
    records += intents.length / 2 + marks.length;
    for (let i = 0; i < intents.length; i += 2) {
      const e = entry(intents[i]!);
      e?.holders.add(s);
      e?.parts.push(...decodeParts(intents[i + 1]!));
    }
    for (const t of marks) entry(t)?.holders.add(s);
  });
  if (records === 0 && lists.every(([, , wm]) => wm === null)) return;
  let ran = 0;
  for (const { txid, holders, parts } of [...txs.values()].sort((a, b) => Buffer.compare(a.txid, b.txid))) {
    for (const p of parts) {
      if (p.shard >= shards) throw new Error(`a cross-shard intent names shard ${p.shard} of ${shards}`);
      if (holders.has(p.shard)) continue;
      holders.add(p.shard);
      const r = parseReply(await server.callShard(p.shard, p.db, ['__xpart', txid, ...p.args]));
      // Start-up stops, records kept: the next start-up (once the shard can write) finishes it.
      if (r instanceof ReplyErr) throw new Error(`cannot finish a cross-shard write that a crash interrupted (shard ${p.shard}, ${String(p.args[0])}): ${r.message}`);
      ran++;
    }
  }
  await Promise.all(all.map((s) => server.callShard(s, 0, ['__xclear'])));
  crossWriteStats.recovered += ran;
  server.log.info({ records, partsRun: ran }, 'cross-shard write records found at start-up: writes finished, records deleted');
}

/** parts: count(4) then per part shard(2) db(2) argc(4) and per argument length(4) bytes. */
export function encodeParts(parts: readonly Part[]): Buffer {
  const bufs = parts.map((p) => p.args.map((a) => (typeof a === 'string' ? Buffer.from(a, 'latin1') : a)));
  let size = 4;
  for (const args of bufs) size += 8 + args.reduce((n, a) => n + 4 + a.length, 0);
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt32BE(parts.length, 0);
  parts.forEach((p, i) => {
    at = out.writeUInt16BE(p.shard, at);
    at = out.writeUInt16BE(p.db, at);
    at = out.writeUInt32BE(bufs[i]!.length, at);
    for (const a of bufs[i]!) {
      at = out.writeUInt32BE(a.length, at);
      at += a.copy(out, at);
    }
  });
  return out;
}

export function decodeParts(b: Buffer): Part[] {
  const parts: Part[] = [];
  let at = 4;
  for (let n = b.readUInt32BE(0); n > 0; n--) {
    const shard = b.readUInt16BE(at);
    const db = b.readUInt16BE(at + 2);
    const argc = b.readUInt32BE(at + 4);
    at += 8;
    const args: Buffer[] = [];
    for (let i = 0; i < argc; i++) {
      const len = b.readUInt32BE(at);
      args.push(b.subarray(at + 4, at + 4 + len));
      at += 4 + len;
    }
    parts.push({ shard, db, args });
  }
  if (at !== b.length) throw new Error('a cross-shard intent record is malformed');
  return parts;
}
