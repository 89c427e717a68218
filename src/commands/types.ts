/**
 * What a command is: declared once, as data beside its code (see table.ts for the registry).
 *
 * A command runs where its data is:
 *  - `shard`: on the shard worker that owns its key(s). Used whenever all keys of a call map to
 *    one shard. Synchronous by default; an async handler (iterators) must `await c.sync()` first.
 *  - `front`: on the front thread. Connection state (SELECT, HELLO, CLIENT), fan-out to every shard
 *    (DBSIZE, KEYS, FLUSHDB) and the cross-shard form of multi-key commands (MSET, RENAME, ...).
 * A command with keys that may span shards must have a `front` handler; the table checks this.
 */
import type { ReplyWriter } from '../server/resp/writer.js';
import type { Store } from '../storage/store.js';
import type { FrontContext } from '../server/context.js';

export type CommandFlag =
  | 'write' | 'readonly' | 'denyoom' | 'admin' | 'pubsub' | 'noscript' | 'blocking' | 'loading'
  | 'stale' | 'skip_monitor' | 'skip_slowlog' | 'fast' | 'no_auth' | 'may_replicate' | 'no_mandatory_keys' | 'no_async_loading'
  | 'no_multi' | 'allow_busy' | 'movablekeys';

export interface ShardCall {
  /** args[0] is the command name as the client sent it. */
  readonly args: Buffer[];
  /** The id of the client's database (the db byte of its records: Store.dbId). */
  readonly db: number;
  readonly w: ReplyWriter;
  readonly store: Store;
  /** Writes pending writes to LevelDB (and sends earlier replies) so iterators see everything. */
  sync(): Promise<void>;
}

export type ShardHandler = (c: ShardCall) => void | Promise<void>;

export interface FrontCall {
  readonly args: Buffer[];
  readonly ctx: FrontContext;
  readonly w: ReplyWriter;
}

export type FrontHandler = (c: FrontCall) => void | Promise<void>;

/** Key positions as Redis' legacy (first, last, step) triple; last < 0 counts from the end. */
export interface KeyRange {
  readonly first: number;
  readonly last: number;
  readonly step: number;
}

export interface CommandSpec {
  /** Lower case; a subcommand's name is 'parent|sub'. */
  readonly name: string;
  /** n: exactly n arguments (with the name); -n: at least n. */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  /** ACL categories without '@' (as COMMAND INFO shows them). */
  readonly acl: readonly string[];
  readonly keys: KeyRange | null;
  /** Key positions for commands whose keys move (e.g. after a numkeys argument). Indices into args. */
  readonly keyFn?: (args: Buffer[]) => number[];
  readonly shard?: ShardHandler;
  readonly front?: FrontHandler;
  /** A keyless front command that reaches every shard (DBSIZE, KEYS, FLUSHALL). */
  readonly allShards?: boolean;
  /** The front handler reserves shards and reads before it writes (RENAME, MSETNX across shards). */
  readonly coordinated?: boolean;
  /** Hidden internal command (front-to-shard only); clients get "unknown command". */
  readonly internal?: boolean;
  /** An internal wrapper whose args from this index on are a whole command (its keys are that command's). */
  readonly wraps?: number;
  readonly subcommands?: readonly CommandSpec[];
}

export function command(spec: CommandSpec): CommandSpec {
  return spec;
}

/** Key range helpers for the common shapes. */
export const oneKey: KeyRange = { first: 1, last: 1, step: 1 };
export const allKeys: KeyRange = { first: 1, last: -1, step: 1 };
export const keyValuePairs: KeyRange = { first: 1, last: -1, step: 2 };
export const twoKeys: KeyRange = { first: 1, last: 2, step: 1 };

/*
 * Front handlers and ordering: an async front handler that only fans out (DBSIZE, MGET/MSET over
 * several shards) must send all its shard calls before its first await; the connection's next
 * commands may then be sent right behind it. A handler that reads before it writes across shards
 * sets `coordinated`: it reserves its shards (Coordinator.withShards) and its connection sends
 * nothing more until it has finished.
 */

/** The flag and ACL bundles command families share, for one ACL category (e.g. 'hash'). */
export function accessSets<C extends string>(category: C) {
  return {
    RW_FAST: { flags: ['write', 'denyoom', 'fast'], acl: ['write', category, 'fast'] },
    RW_SLOW: { flags: ['write', 'denyoom'], acl: ['write', category, 'slow'] },
    W_FAST: { flags: ['write', 'fast'], acl: ['write', category, 'fast'] },
    W_SLOW: { flags: ['write'], acl: ['write', category, 'slow'] },
    RO_FAST: { flags: ['readonly', 'fast'], acl: ['read', category, 'fast'] },
    RO_SLOW: { flags: ['readonly'], acl: ['read', category, 'slow'] },
  } as const;
}
