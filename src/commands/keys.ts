/**
 * Generic key-space commands.
 */
import { command, allKeys, type CommandSpec } from './types.js';
import { sumOverShards, restArePositions } from './fanout.js';
import { parseReply } from '../server/resp/reply-parser.js';

export const keyCommands: readonly CommandSpec[] = [
  command({
    name: 'del', arity: -2, flags: ['write'], acl: ['keyspace', 'write', 'slow'], keys: allKeys,
    group: 'generic', since: '1.0.0', summary: 'Deletes one or more keys.',
    shard: (c) => {
      let n = 0;
      for (let i = 1; i < c.args.length; i++) {
        const m = c.store.lookup(c.db, c.args[i]!);
        if (m) {
          c.store.deleteKey(c.db, c.args[i]!, m);
          n++;
        }
      }
      c.w.int(n);
    },
    front: (c) => sumOverShards(c, 'del', restArePositions(c.args)),
  }),
  command({
    name: 'dbsize', arity: 1, flags: ['readonly', 'fast'], acl: ['keyspace', 'read', 'fast'], keys: null,
    group: 'server', since: '1.0.0', summary: 'Returns the number of keys in the database.', allShards: true,
    front: async (c) => {
      const { server, client } = c.ctx;
      const parts: Promise<Buffer>[] = [];
      for (let s = 0; s < server.shards.count; s++) parts.push(server.callShard(s, client.db, ['__dbsize']));
      let n = 0;
      for (const r of await Promise.all(parts)) n += parseReply(r) as number;
      c.w.int(n);
    },
  }),
  command({
    name: '__dbsize', arity: 1, flags: ['readonly', 'fast'], acl: [], keys: null, internal: true,
    group: 'internal', since: '0.1.0', summary: 'Keys in the selected database of this shard.',
    shard: (c) => c.w.int(c.store.counts[c.db]!),
  }),
];
