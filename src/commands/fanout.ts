/**
 * Running one multi-key command over several shards from the front thread.
 *
 * All parts are sent in one synchronous step, so every shard sees them at the same point of the
 * global order (see coordinator.ts): the command is atomic without reserving anything.
 */
import type { FrontCall } from './types.js';
import { parseReply, ReplyErr, type RespValue } from '../server/resp/reply-parser.js';
import { CommandError } from './errors.js';

export interface ShardPart {
  shard: number;
  /** Indices (into the original args) of the keys (or key groups) this part carries. */
  positions: number[];
}

/**
 * Groups key positions by owning shard, in the order shards first appear.
 * `width` is how many args make one group (1 for keys, 2 for key-value pairs).
 */
export function partsByShard(c: FrontCall, positions: number[]): ShardPart[] {
  const byShard = new Map<number, number[]>();
  for (const p of positions) {
    const s = c.ctx.server.shardOf(c.args[p]!);
    let list = byShard.get(s);
    if (!list) byShard.set(s, (list = []));
    list.push(p);
  }
  return [...byShard].map(([shard, pos]) => ({ shard, positions: pos }));
}

/** Sends `name` plus each part's args (each position widened to `width` args) to its shard; all sends happen now. */
export function sendParts(c: FrontCall, name: string, parts: ShardPart[], width = 1, db = c.ctx.client.db): Promise<RespValue[]> {
  const calls = parts.map((p) => {
    const args: Buffer[] = [];
    for (const pos of p.positions) for (let i = 0; i < width; i++) args.push(c.args[pos + i]!);
    return c.ctx.server.callShard(p.shard, db, [name, ...args]);
  });
  return Promise.all(calls).then((rs) => rs.map(parseReply));
}

/** Throws the first error reply among `replies` (as the client's reply). */
export function firstError(replies: RespValue[]): void {
  for (const r of replies) if (r instanceof ReplyErr) throw new CommandError(r.message);
}

/** Sum of integer replies, e.g. DEL/EXISTS/TOUCH/UNLINK over several shards. */
export async function sumOverShards(c: FrontCall, name: string, positions: number[]): Promise<void> {
  const replies = await sendParts(c, name, partsByShard(c, positions));
  firstError(replies);
  let n = 0;
  for (const r of replies) n += r as number;
  c.w.int(n);
}

/** Key positions 1..argc-1 (every argument after the name is a key). */
export function restArePositions(args: Buffer[], from = 1, step = 1): number[] {
  const out: number[] = [];
  for (let i = from; i < args.length; i += step) out.push(i);
  return out;
}
