/**
 * String commands.
 */
import { command, oneKey, type CommandSpec } from './types.js';
import { CommandError, E } from './errors.js';
import { WRONGTYPE } from '../storage/store.js';

export const stringCommands: readonly CommandSpec[] = [
  command({
    name: 'get', arity: 2, flags: ['readonly', 'fast'], acl: ['read', 'string', 'fast'], keys: oneKey,
    group: 'string', since: '1.0.0', summary: 'Returns the string value of a key.',
    shard: (c) => {
      const v = c.store.getString(c.db, c.args[1]!);
      if (v === WRONGTYPE) throw new CommandError(E.WRONGTYPE);
      if (v === null) c.w.nil();
      else c.w.bulk(v);
    },
  }),
  command({
    name: 'set', arity: -3, flags: ['write', 'denyoom'], acl: ['write', 'string', 'slow'], keys: oneKey,
    group: 'string', since: '1.0.0', summary: 'Sets the string value of a key, ignoring its type. The key is created if it doesn\'t exist.',
    shard: (c) => {
      if (c.args.length !== 3) throw new CommandError(E.SYNTAX);
      const key = c.args[1]!;
      const old = c.store.lookup(c.db, key);
      c.store.setString(c.db, key, c.args[2]!, 0, old);
      c.w.ok();
    },
  }),
];
