/**
 * A RESP3 reply kept as data (src/commands/redis-meta.ts holds Redis' COMMAND INFO and DOCS
 * replies this way) and written back through a ReplyWriter, so it comes out in the connection's
 * protocol: maps and sets as RESP3 maps and sets, or as RESP2 arrays, exactly as Redis writes them.
 */
import type { ReplyWriter } from '../server/resp/writer.js';

/** A bulk string, an integer, a simple string, an array, a map (keys and values alternating) or a set. */
export type RespData = string | number | { s: string } | RespData[] | { m: RespData[] } | { set: RespData[] };

/** What Redis says of one command: COMMAND INFO's tips and key specs, COMMAND DOCS' map (less subcommands). */
export interface RedisCommandMeta {
  readonly tips: RespData;
  readonly keySpecs: RespData;
  readonly docs: RespData;
}

export function writeRespData(w: ReplyWriter, v: RespData): void {
  if (typeof v === 'string') w.bulk(v);
  else if (typeof v === 'number') w.int(v);
  else if (Array.isArray(v)) {
    w.array(v.length);
    for (const x of v) writeRespData(w, x);
  } else if ('s' in v) w.simple(v.s);
  else if ('m' in v) {
    w.map(v.m.length / 2);
    for (const x of v.m) writeRespData(w, x);
  } else {
    w.set(v.set.length);
    for (const x of v.set) writeRespData(w, x);
  }
}

/** The value under `key` in a map, or undefined. */
export function mapField(v: RespData, key: string): RespData | undefined {
  if (typeof v !== 'object' || !('m' in v)) return undefined;
  for (let i = 0; i < v.m.length; i += 2) if (v.m[i] === key) return v.m[i + 1];
  return undefined;
}
