/**
 * Connection commands: PING, ECHO, SELECT, QUIT (HELLO, RESET, CLIENT: see below).
 */
import { command, type CommandSpec } from './types.js';
import { dbArg } from './args.js';
import { CommandError, E } from './errors.js';

export const connectionCommands: readonly CommandSpec[] = [
  command({
    name: 'ping', arity: -1, flags: ['fast'], acl: ['fast', 'connection'], keys: null,
    group: 'connection', since: '1.0.0', summary: 'Returns the server\'s liveliness response.',
    front: (c) => {
      if (c.args.length > 2) throw new CommandError(E.WRONG_ARGS('ping'));
      if (c.args.length === 2) c.w.bulk(c.args[1]!);
      else c.w.simple('PONG');
    },
  }),
  command({
    name: 'echo', arity: 2, flags: ['fast'], acl: ['fast', 'connection'], keys: null,
    group: 'connection', since: '1.0.0', summary: 'Returns the given string.',
    front: (c) => c.w.bulk(c.args[1]!),
  }),
  command({
    name: 'select', arity: 2, flags: ['loading', 'stale', 'fast'], acl: ['fast', 'connection'], keys: null,
    group: 'connection', since: '1.0.0', summary: 'Changes the selected database.',
    front: (c) => {
      c.ctx.client.db = dbArg(c.args[1]!, c.ctx.server.config.databases as number);
      c.w.ok();
    },
  }),
  command({
    name: 'quit', arity: -1, flags: ['allow_busy', 'noscript', 'loading', 'stale', 'fast', 'no_auth'], acl: ['fast', 'connection'], keys: null,
    group: 'connection', since: '1.0.0', summary: 'Closes the connection.',
    front: (c) => {
      c.w.ok();
      c.ctx.client.closeAfterReplies();
    },
  }),
];
