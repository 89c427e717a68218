/**
 * A RESP3 reply kept as data (src/commands/redis-meta.ts holds Redis' COMMAND INFO and DOCS
 * replies this way) and written back through a ReplyWriter, so it comes out in the connection's
 * protocol: maps and sets as RESP3 maps and sets, or as RESP2 arrays, exactly as Redis writes them.
 */
import type { ReplyWriter } from '../server/resp/writer.js';

/** A bulk string, an integer, a simple string, an array, a map (keys and values alternating) or a set. */
export type RespValue = string | number | { s: string } | RespValue[] | { m: RespValue[] } | { set: RespValue[] };

/** What Redis says of one command: COMMAND INFO's tips and key specs, COMMAND DOCS' map (less subcommands). */
export interface RedisCommandMeta {
  readonly tips: RespValue;
  readonly keySpecs: RespValue;
  readonly docs: RespValue;
}

export function writeRespValue(w: ReplyWriter, v: RespValue): void {
  if (typeof v === 'string') w.bulk(v);
  else if (typeof v === 'number') w.int(v);
  else if (Array.isArray(v)) {
    w.array(v.length);
    for (const x of v) writeRespValue(w, x);
  } else if ('s' in v) w.simple(v.s);
  else if ('m' in v) {
    w.map(v.m.length / 2);
    for (const x of v.m) writeRespValue(w, x);
  } else {
    w.set(v.set.length);
    for (const x of v.set) writeRespValue(w, x);
  }
}

/** The value under `key` in a map, or undefined. */
export function mapField(v: RespValue, key: string): RespValue | undefined {
  if (typeof v !== 'object' || !('m' in v)) return undefined;
  for (let i = 0; i < v.m.length; i += 2) if (v.m[i] === key) return v.m[i + 1];
  return undefined;
}
