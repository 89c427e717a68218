/**
 * Server commands: TIME, SHUTDOWN, and the families with their own files (INFO, CONFIG, COMMAND,
 * BGSAVE/SAVE/LASTSAVE).
 */
import { command, type CommandSpec, type FrontCall } from './types.js';
import { CommandError, E } from './errors.js';
import { lower } from './args.js';
import { infoCommand, statsCommand } from './info.js';
import { configCommand } from './config-cmd.js';
import { commandCommand } from './command-docs.js';
import { persistenceCommands } from './persistence.js';

/**
 * SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. Every write is already in LevelDB, so SAVE and
 * NOSAVE stop alike: pending writes finish, every shard closes its LevelDB, the process exits 0.
 * A shutdown is never left pending, so ABORT always finds none in progress.
 */
function shutdown(c: FrontCall): Promise<void> {
  let save = false;
  let nosave = false;
  let abort = false;
  let other = false;
  for (const a of c.args.slice(1)) {
    const opt = lower(a);
    if (opt === 'nosave') nosave = true;
    else if (opt === 'save') save = true;
    else if (opt === 'now' || opt === 'force') other = true;
    else if (opt === 'abort') abort = true;
    else throw new CommandError(E.SYNTAX);
  }
  if ((abort && (save || nosave || other)) || (save && nosave)) throw new CommandError(E.SYNTAX);
  if (abort) throw new CommandError('ERR No shutdown in progress.');
  // No reply: the connection closes when the server stops, as with Redis; nothing after it runs.
  c.ctx.client.closeAfterReplies();
  return c.ctx.server.shutdown('SHUTDOWN').then(() => new Promise<void>(() => undefined));
}

export const serverCommands: readonly CommandSpec[] = [
  command({
    name: 'time', arity: 1, flags: ['loading', 'stale', 'fast'], acl: ['fast'], keys: null,
    front: (c) => {
      const us = BigInt(Math.round(performance.timeOrigin * 1000 + performance.now() * 1000));
      c.w.array(2);
      c.w.bulk(String(us / 1000000n));
      c.w.bulk(String(us % 1000000n));
    },
  }),
  command({
    name: 'shutdown', arity: -1, flags: ['admin', 'noscript', 'loading', 'stale', 'no_multi', 'allow_busy'],
    acl: ['admin', 'slow', 'dangerous'], keys: null,
    front: shutdown,
  }),
  infoCommand,
  configCommand,
  commandCommand,
  statsCommand,
  ...persistenceCommands,
];
