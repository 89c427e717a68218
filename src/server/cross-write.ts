/**
 * Cross-shard writes that a crash cannot leave half done.
 *
 * A coordinated command (RENAME, SMOVE, LMOVE, MSETNX with keys on several shards) holds its
 * shards (Coordinator.withShards), reads what it needs, then writes a part on each of two or more
 * shards. Each shard's group commit is atomic, but a process killed between two shards' commits
 * used to leave one part written and not the other: a RENAME's key on both shards, an SMOVE's or
 * LMOVE's element on neither. So the parts are written this way (the shard's half is
 * src/shard/intents.ts):
 *  1. The first part runs as `__xfirst`: its shard writes an intent record (a txid and the other
 *     parts, as commands) in the same batch as the part itself.
 *  2. Once that is written, every other part runs as `__xpart`: its shard writes a marker record
 *     of the txid in the same batch as the part.
 *  3. After the reply, the intent is deleted, then the markers.
 * At start-up, before clients are served (recoverCrossWrites), every intent left by a crash is
 * finished: each of its parts whose shard has no marker runs now. Then every intent and marker goes.
 *
 * Why running a part late is right: a shard without the marker did not write the part, and a
 * shard's LevelDB log keeps a prefix of what the shard wrote, so nothing it wrote after the part is
 * there either. The part runs on the state it would have run on, less writes never acknowledged.
 * The intent is deleted before the markers, so an intent is never seen without the markers of the
 * parts that were written, and a part never runs twice.
 *
 * This holds for a killed process under every appendfsync setting; for a power loss only with
 * appendfsync always (each part is on disk before the next starts), as with everysec or no a power
 * loss may take the last second of acknowledged writes anyway. One-step fan-outs that reserve
 * nothing (MSET, DEL of many keys) are atomic for clients while the server runs, not across a crash.
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

/** Transaction ids: unique among the records that exist, as each start-up clears them all. */
let nextTxid = BigInt(Date.now()) << 16n;

/**
 * Writes `first`, then every part of `rest` (in parallel), as above; the caller holds every shard
 * involved and has checked that the parts will succeed. Returns the replies in order. When
 * `first` answers an error nothing else runs (and no intent was kept): its reply is the only one.
 */
export async function crossWrite(server: Caller, first: Part, rest: readonly Part[]): Promise<RespValue[]> {
  if (rest.length === 0) return [parseReply(await server.callShard(first.shard, first.db, first.args))];
  const txid = Buffer.allocUnsafe(8);
  txid.writeBigUInt64BE(nextTxid++);
  const head = parseReply(await server.callShard(first.shard, first.db, ['__xfirst', txid, encodeParts(rest), ...first.args]));
  if (head instanceof ReplyErr) return [head];
  crossWriteStats.writes++;
  crossWriteStats.unsettled++;
  const replies = (await Promise.all(rest.map((p) => server.callShard(p.shard, p.db, ['__xpart', txid, ...p.args])))).map(parseReply);
  // A part refused by its shard (a LevelDB write error) leaves this write half done while the
  // server runs, as before intents existed: finishing it after a restart could undo later writes.
  if (replies.some((r) => r instanceof ReplyErr)) server.log.error({ command: String(first.args[0]), replies: replies.map(String) }, 'a cross-shard write is half done: a shard refused its part');
  void forget(server, txid, first, rest);
  return [head, ...replies];
}

/** Deletes the intent, then (once that is written) the markers; what a failure leaves, start-up clears. */
async function forget(server: Caller, txid: Buffer, first: Part, rest: readonly Part[]): Promise<void> {
  try {
    if (parseReply(await server.callShard(first.shard, 0, ['__xforget', txid])) instanceof ReplyErr) return;
    await Promise.all(rest.map((p) => server.callShard(p.shard, 0, ['__xforget', txid])));
    crossWriteStats.unsettled--;
  } catch {
    // Shutting down: the records stay for the next start-up, which finds every part marked.
  }
}

/** Finishes the cross-shard writes a crash interrupted (see above); then no intent or marker is left. */
export async function recoverCrossWrites(server: Caller, shards: number): Promise<void> {
  const all = Array.from({ length: shards }, (_, s) => s);
  const lists = await Promise.all(all.map(async (s) => {
    const r = parseReply(await server.callShard(s, 0, ['__xlist']));
    if (r instanceof ReplyErr) throw new Error(`shard ${s}: ${r.message}`);
    return r as [Buffer[], Buffer[]];
  }));
  const intents: { txid: Buffer; parts: Part[] }[] = [];
  for (const [flat] of lists) for (let i = 0; i < flat.length; i += 2) intents.push({ txid: flat[i]!, parts: decodeParts(flat[i + 1]!) });
  const marks = lists.map(([, m]) => new Set(m.map((t) => t.toString('hex'))));
  if (intents.length === 0 && marks.every((m) => m.size === 0)) return;
  intents.sort((a, b) => Buffer.compare(a.txid, b.txid));
  let ran = 0;
  for (const { txid, parts } of intents) {
    for (const p of parts) {
      if (p.shard >= shards) throw new Error(`a cross-shard intent names shard ${p.shard} of ${shards}`);
      if (marks[p.shard]!.has(txid.toString('hex'))) continue;
      const r = parseReply(await server.callShard(p.shard, p.db, ['__xpart', txid, ...p.args]));
      if (r instanceof ReplyErr) server.log.error({ shard: p.shard, command: String(p.args[0]), error: r.message }, 'finishing a cross-shard write failed');
      else ran++;
    }
  }
  crossWriteStats.recovered += ran;
  await Promise.all(all.map((s) => server.callShard(s, 0, ['__xclear'])));
  server.log.info({ intents: intents.length, partsRun: ran }, 'cross-shard writes interrupted by a crash: finished');
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
