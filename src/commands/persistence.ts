/**
 * BGSAVE, SAVE, LASTSAVE: backups of every shard at one snapshot moment, into
 * <dir>/backups/<timestamp> (a data directory `--dir` can serve). See src/server/backup.ts.
 *
 * Every acknowledged write is already in LevelDB, so a "save" here is a copy, not what makes data
 * durable. BGSAVE answers once the snapshot moment has passed (the calling connection's earlier
 * commands are in the backup, its later ones are not) and the copy runs in the background pool.
 * SAVE makes the same copy and answers when it is complete; unlike Redis it blocks only the
 * calling connection, every other client is served meanwhile.
 */
import { command, type CommandSpec, type FrontCall } from './types.js';
import { CommandError, E } from './errors.js';
import { lower } from './args.js';
import { Backups } from '../server/backup.js';

function backupsOf(c: FrontCall): Backups {
  const b = Backups.of(c.ctx.server);
  if (!b) throw new CommandError('ERR Backups are not available');
  return b;
}

/**
 * BGSAVE [SCHEDULE]. Redis schedules a BGSAVE asked for while an AOF rewrite runs; Cairn has no
 * other background child, so SCHEDULE starts at once like BGSAVE, and both answer "already in
 * progress" while a save runs (as Redis does).
 */
async function bgsave(c: FrontCall): Promise<void> {
  if (c.args.length > 2 || (c.args.length === 2 && lower(c.args[1]!) !== 'schedule')) throw new CommandError(E.SYNTAX);
  const { done } = await backupsOf(c).start();
  done.catch(() => undefined); // logged and reported by INFO (rdb_last_bgsave_status)
  c.w.simple('Background saving started');
}

async function save(c: FrontCall): Promise<void> {
  const { done } = await backupsOf(c).start();
  await done;
  c.w.ok();
}

const ADMIN = ['admin', 'slow', 'dangerous'];

export const persistenceCommands: readonly CommandSpec[] = [
  command({
    name: 'bgsave', arity: -1, flags: ['admin', 'noscript', 'no_async_loading'], acl: ADMIN, keys: null,
    coordinated: true,
    front: bgsave,
  }),
  command({
    name: 'save', arity: 1, flags: ['admin', 'noscript', 'no_async_loading', 'no_multi'], acl: ADMIN, keys: null,
    coordinated: true,
    front: save,
  }),
  command({
    name: 'lastsave', arity: 1, flags: ['loading', 'stale', 'fast'], acl: ['admin', 'fast', 'dangerous'], keys: null,
    front: (c) => {
      const ms = Backups.of(c.ctx.server)?.lastSave ?? c.ctx.server.stats.startedAt;
      c.w.int(Math.floor(ms / 1000));
    },
  }),
];
