/**
 * DEBUG: Redis' debugging command, refused unless `enable-debug-command` allows it (as in Redis
 * 7.0: no, yes, or local = only from a loopback connection). Cairn serves subcommands for fault
 * injection in tests:
 *
 *   DEBUG SET-DISK-ERROR <0|1> [shard]
 *     1: every LevelDB write of every shard (or of one) fails as a full disk would, so the shard
 *        enters the write-error state (MISCONF, src/shard/write-error.ts); 0: writes work again,
 *        and the shard's next probe (once a second) restores them.
 *   DEBUG SET-WRITE-DELAY <ms> [shard]
 *     every group commit of every shard (or of one) reaches LevelDB <ms> late, as when LevelDB
 *     stalls writers (with native writes the shard's thread is blocked meanwhile); 0: off.
 */
import { command, type CommandSpec, type FrontCall, type ShardCall } from './types.js';
import { CommandError, E } from './errors.js';
import { helpReply } from './help.js';
import { parseReply, ReplyErr } from '../server/resp/reply-parser.js';
import { lower } from './args.js';

/** The message an injected fault fails writes with (LevelDB's wording for ENOSPC). */
export const INJECTED_FAULT = 'IO error: No space left on device (injected by DEBUG SET-DISK-ERROR)';

const NOT_ALLOWED = 'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run ' +
  'it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.';

const HELP = [
  'DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'SET-DISK-ERROR <0|1> [<shard>]',
  '    1: every LevelDB write of every shard (or of <shard>) fails as on a full disk,',
  '    so writes get MISCONF errors; 0: writes are restored within about a second.',
  'SET-WRITE-DELAY <ms> [<shard>]',
  '    Every group commit of every shard (or of <shard>) reaches LevelDB <ms> late, as',
  '    when LevelDB stalls writers; 0: off.',
];

/** Longest SET-WRITE-DELAY (ms). */
const MAX_WRITE_DELAY = 60_000;

const badSubcommand = (sub: Buffer): CommandError =>
  new CommandError(`ERR unknown subcommand or wrong number of arguments for '${sub.toString('latin1')}'. Try DEBUG HELP.`);

/** The remote address of "host:port" is loopback. */
function isLocal(addr: string): boolean {
  const host = addr.slice(0, addr.lastIndexOf(':'));
  return host === '::1' || host.startsWith('127.') || host.startsWith('::ffff:127.');
}

/** SET-DISK-ERROR / SET-WRITE-DELAY: checks the value, then sets it on every shard (or on one). */
async function perShard(c: FrontCall, sub: 'set-disk-error' | 'set-write-delay'): Promise<void> {
  const { server, client } = c.ctx;
  const value = c.args[2]!.toString('latin1');
  const ok = sub === 'set-disk-error' ? value === '0' || value === '1'
    : /^\d+$/.test(value) && Number(value) <= MAX_WRITE_DELAY;
  if (!ok) throw new CommandError(sub === 'set-disk-error' ? E.NOT_INTEGER : `ERR the delay must be 0 to ${MAX_WRITE_DELAY} ms`);
  let shards = Array.from({ length: server.shards.count }, (_, i) => i);
  if (c.args.length === 4) {
    const s = Number(c.args[3]!.toString('latin1'));
    if (!Number.isInteger(s) || s < 0 || s >= server.shards.count) throw new CommandError('ERR shard index out of range');
    shards = [s];
  }
  const replies = await Promise.all(shards.map((s) => server.callShard(s, client.db, ['__debug', sub, value])));
  for (const r of replies) {
    const v = parseReply(r);
    if (v instanceof ReplyErr) throw new CommandError(v.message);
  }
  c.w.ok();
}

export const debugCommands: readonly CommandSpec[] = [
  command({
    name: 'debug', arity: -2, flags: ['admin', 'noscript', 'loading', 'stale'], acl: ['admin', 'slow', 'dangerous'], keys: null,
    allShards: true,
    front: (c) => {
      const mode = c.ctx.server.config['enable-debug-command'] as string;
      if (mode !== 'yes' && !(mode === 'local' && isLocal(c.ctx.client.addr))) throw new CommandError(NOT_ALLOWED);
      const sub = lower(c.args[1]!);
      if (sub === 'help' && c.args.length === 2) return helpReply(c, HELP);
      if ((sub === 'set-disk-error' || sub === 'set-write-delay') && (c.args.length === 3 || c.args.length === 4)) return perShard(c, sub);
      throw badSubcommand(c.args[1]!);
    },
  }),
  command({
    // DEBUG on one shard: SET-DISK-ERROR <0|1>, SET-WRITE-DELAY <ms>.
    // Not flagged `write`: it must reach a shard that refuses writes, to end the fault.
    name: '__debug', arity: 3, flags: [], acl: [], keys: null, internal: true,
    shard: (c: ShardCall) => {
      const value = c.args[2]!.toString('latin1');
      if (lower(c.args[1]!) === 'set-write-delay') c.store.injectedWriteDelay = Number(value);
      else c.store.injectedFault = value === '1' ? INJECTED_FAULT : null;
      c.w.ok();
    },
  }),
];
