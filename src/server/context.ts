/**
 * What front-thread command handlers can reach: their client's connection state and the server.
 */
import type { CacheSizes } from './memory-budget.js';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { ShardPool } from './shards.js';
import type { Coordinator } from './coordinator.js';
import type { CommandSpec } from '../commands/types.js';

/** Connection state kept on the front thread. */
export interface ClientState {
  readonly id: number;
  name: string;
  /** Selected database. */
  db: number;
  resp: 2 | 3;
  readonly addr: string;
  readonly laddr: string;
  readonly fd: number;
  readonly createdAt: number;
  lastInteraction: number;
  lastCommand: string;
  libName: string;
  libVersion: string;
  /** Close the connection once every reply queued so far has been written (QUIT). */
  closeAfterReplies(): void;
  /** Close at once (CLIENT KILL). */
  kill(): void;
  /** Bytes waiting in the query buffer and output buffer, for CLIENT LIST / INFO. */
  queryBufferLength(): number;
  outputBufferLength(): number;
}

export interface ServerStats {
  startedAt: number;
  totalConnections: number;
  rejectedConnections: number;
  totalCommands: number;
  netInputBytes: number;
  netOutputBytes: number;
  /** Per command name: [calls, usec total, rejected calls, failed calls]. */
  commandStats: Map<string, { calls: number; usec: number; rejected: number; failed: number }>;
  errorReplies: number;
  /** Error replies of the front thread by error code (first word: ERR, WRONGTYPE...), for INFO errorstats. */
  errorCounts: Map<string, number>;
  /** Clients closed for client-query-buffer-limit / client-output-buffer-limit (INFO stats, as Redis 7.2). */
  queryLimitDisconnections: number;
  outputLimitDisconnections: number;
}

/** Shards that cannot write to LevelDB (Redis' MISCONF state; src/shard/write-error.ts). */
export interface WriteErrors {
  /** Shard index -> why its writes fail, for the shards in the state now. */
  readonly byShard: ReadonlyMap<number, string>;
  /** Times a shard entered the state since start. */
  readonly entered: number;
  /** The latest reason (kept after writes were restored; '' if none). */
  readonly last: string;
}

export interface ServerState {
  readonly config: Config;
  readonly log: Logger;
  readonly shards: ShardPool;
  readonly coord: Coordinator;
  readonly clients: ReadonlyMap<number, ClientState>;
  readonly stats: ServerStats;
  /** The port actually listened on. */
  readonly port: number;
  readonly runId: string;
  readonly executable: string;
  readonly configFile: string;
  /** Per-shard cache sizes in effect (the configured ones, fitted to maxmemory when set). */
  readonly caches: Readonly<CacheSizes>;
  readonly writeErrors: WriteErrors;
  /** The shard that owns a key. */
  shardOf(key: Buffer): number;
  /** Sends a command (by table name, internal ones included) to one shard; resolves with the raw RESP2 reply. */
  callShard(shard: number, db: number, args: readonly (Buffer | string)[], resp?: 2 | 3): Promise<Buffer>;
  /** Applies a changed config value (after CONFIG SET validated it). */
  configChanged(name: string): void;
  /** Stops the server: pending writes finish, every LevelDB closes, the process exits. */
  shutdown(reason: string): Promise<void>;
  lookupCommand(name: string): CommandSpec | undefined;
}

export interface FrontContext {
  readonly client: ClientState;
  readonly server: ServerState;
}
