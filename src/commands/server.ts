/**
 * Server commands.
 */
import { command, type CommandSpec } from './types.js';

export const serverCommands: readonly CommandSpec[] = [
  command({
    name: 'time', arity: 1, flags: ['loading', 'stale', 'fast'], acl: ['fast'], keys: null,
    group: 'server', since: '2.6.0', summary: 'Returns the server time.',
    front: (c) => {
      const us = BigInt(Math.round(performance.timeOrigin * 1000 + performance.now() * 1000));
      c.w.array(2);
      c.w.bulk(String(us / 1000000n));
      c.w.bulk(String(us % 1000000n));
    },
  }),
];
