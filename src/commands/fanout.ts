/**
 * Running one multi-key command over several shards from the front thread.
 *
 * All parts are sent in one synchronous step, so every shard sees them at the same point of the
 * global order (see coordinator.ts): the command is atomic without reserving anything. A write's
 * parts go as one cross-shard write (writeParts), so a crash cannot keep some and lose others.
 */
import type { FrontCall } from './types.js';
import { parseReply, ReplyErr, type RespValue } from '../server/resp/reply-parser.js';
import { CommandError } from './errors.js';
import { crossWriteAll, type Part } from '../server/cross-write.js';

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

/** Each part as a command: `name` plus its args (each position widened to `width` args). */
export function partCommands(c: FrontCall, name: string, parts: ShardPart[], width = 1, db = c.ctx.client.db): Part[] {
  return parts.map((p) => {
    const args: Buffer[] = [];
    for (const pos of p.positions) for (let i = 0; i < width; i++) args.push(c.args[pos + i]!);
    return { shard: p.shard, db, args: [name, ...args] };
  });
}

/** Sends each part's command (partCommands) to its shard; all sends happen now. */
export function sendParts(c: FrontCall, name: string, parts: ShardPart[], width = 1, db = c.ctx.client.db): Promise<RespValue[]> {
  const calls = partCommands(c, name, parts, width, db).map((p) => c.ctx.server.callShard(p.shard, p.db, p.args));
  return Promise.all(calls).then((rs) => rs.map(parseReply));
}

/** sendParts for a write: one cross-shard write, which a crash cannot leave half done (crossWriteAll). */
export function writeParts(c: FrontCall, name: string, parts: ShardPart[], width = 1): Promise<RespValue[]> {
  return crossWriteAll(c.ctx.server, partCommands(c, name, parts, width));
}

/** Throws the first error reply among `replies` (as the client's reply). */
export function firstError(replies: RespValue[]): void {
  for (const r of replies) if (r instanceof ReplyErr) throw new CommandError(r.message);
}

/** Sum of integer replies, e.g. DEL/EXISTS/TOUCH/UNLINK over several shards (`write`: DEL, UNLINK). */
export async function sumOverShards(c: FrontCall, name: string, positions: number[], write = false): Promise<void> {
  const replies = await (write ? writeParts : sendParts)(c, name, partsByShard(c, positions));
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
