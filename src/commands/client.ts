/**
 * CLIENT subcommands: ID, GETNAME, SETNAME, INFO, LIST, KILL, GETREDIR, HELP.
 * Connection state lives on the front thread (ClientState), so all of them run there.
 */
import { command, type CommandSpec, type FrontCall } from './types.js';
import type { ClientState } from '../server/context.js';
import { lower } from './args.js';
import { CommandError, E, errorArg } from './errors.js';
import { parseI64 } from '../util/number.js';
import { helpReply } from './help.js';

const BAD_NAME = 'ERR Client names cannot contain spaces, newlines or special characters.';
const CLIENT_TYPES = new Set(['normal', 'master', 'slave', 'replica', 'pubsub']);

/**
 * A name for SETNAME / HELLO SETNAME: printable ASCII without spaces (so CLIENT LIST stays
 * splittable on spaces). Returns it as a string; '' clears the name.
 */
export function validateClientName(b: Buffer): string {
  for (const ch of b) if (ch < 0x21 || ch > 0x7e) throw new CommandError(BAD_NAME);
  return b.toString('latin1');
}

/** Every connection is a normal client for now (no replicas, no pub/sub mode yet). */
function clientType(_c: ClientState): string {
  return 'normal';
}

function typeArg(b: Buffer): string {
  const t = lower(b);
  if (!CLIENT_TYPES.has(t)) throw new CommandError(`ERR Unknown client type '${errorArg(b, b.length)}'`);
  return t === 'slave' ? 'replica' : t;
}

/** One CLIENT LIST / CLIENT INFO line, with Redis 7.0's fields in its order. */
export function clientInfoLine(c: ClientState, now = Date.now()): string {
  const qbuf = c.queryBufferLength();
  const omem = c.outputBufferLength();
  return `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${c.fd} name=${c.name}` +
    ` age=${Math.floor((now - c.createdAt) / 1000)} idle=${Math.floor((now - c.lastInteraction) / 1000)}` +
    ` flags=N db=${c.db} sub=0 psub=0 ssub=0 multi=-1 qbuf=${qbuf} qbuf-free=0 argv-mem=0 multi-mem=0` +
    ` rbs=0 rbp=0 obl=0 oll=0 omem=${omem} tot-mem=${qbuf + omem} events=${omem > 0 ? 'rw' : 'r'}` +
    ` cmd=${c.lastCommand} user=default redir=-1 resp=${c.resp}`;
}

function clientList(c: FrontCall): void {
  const { args } = c;
  const clients = c.ctx.server.clients;
  let selected: ClientState[];
  if (args.length === 4 && lower(args[2]!) === 'type') {
    const type = typeArg(args[3]!);
    selected = [...clients.values()].filter((cl) => clientType(cl) === type);
  } else if (args.length > 3 && lower(args[2]!) === 'id') {
    selected = [];
    for (let j = 3; j < args.length; j++) {
      const id = parseI64(args[j]!);
      if (id === null) throw new CommandError('ERR Invalid client ID');
      const cl = clients.get(Number(id));
      if (cl) selected.push(cl);
    }
  } else if (args.length !== 2) {
    throw new CommandError(E.SYNTAX);
  } else {
    selected = [...clients.values()];
  }
  const now = Date.now();
  c.w.verbatim(selected.map((cl) => clientInfoLine(cl, now) + '\n').join(''));
}

interface KillFilter {
  addr?: string;
  laddr?: string;
  id?: number;
  type?: string;
  skipMe: boolean;
}

/** CLIENT KILL addr:port (old form, +OK) or CLIENT KILL <filter> <value> ... (count of killed clients). */
function clientKill(c: FrontCall): void {
  const { args } = c;
  const oldForm = args.length === 3;
  const f: KillFilter = { skipMe: !oldForm };
  if (oldForm) f.addr = args[2]!.toString();
  else {
    for (let i = 2; i < args.length; i += 2) {
      const opt = lower(args[i]!);
      const value = args[i + 1];
      if (value === undefined) throw new CommandError(E.SYNTAX);
      if (opt === 'id') {
        const id = parseI64(value);
        if (id === null || id < 1n) throw new CommandError('ERR client-id should be greater than 0');
        f.id = Number(id);
      } else if (opt === 'type') {
        f.type = typeArg(value);
      } else if (opt === 'addr') {
        f.addr = value.toString();
      } else if (opt === 'laddr') {
        f.laddr = value.toString();
      } else if (opt === 'user') {
        if (value.toString() !== 'default') throw new CommandError(`ERR No such user '${errorArg(value, value.length)}'`);
      } else if (opt === 'skipme') {
        const v = lower(value);
        if (v !== 'yes' && v !== 'no') throw new CommandError(E.SYNTAX);
        f.skipMe = v === 'yes';
      } else {
        throw new CommandError(E.SYNTAX);
      }
    }
  }
  const me = c.ctx.client;
  let killed = 0;
  let closeMe = false;
  for (const cl of [...c.ctx.server.clients.values()]) {
    if (f.addr !== undefined && cl.addr !== f.addr) continue;
    if (f.laddr !== undefined && cl.laddr !== f.laddr) continue;
    if (f.type !== undefined && clientType(cl) !== f.type) continue;
    if (f.id !== undefined && cl.id !== f.id) continue;
    if (cl === me && f.skipMe) continue;
    if (cl === me) closeMe = true;
    else cl.kill();
    killed++;
  }
  if (oldForm) {
    if (killed === 0) throw new CommandError('ERR No such client');
    c.w.ok();
  } else {
    c.w.int(killed);
  }
  // The caller itself goes after its reply, as Redis' CLIENT_CLOSE_AFTER_REPLY.
  if (closeMe) me.closeAfterReplies();
}

const HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETREDIR',
  '    Return the client ID we are redirecting to when tracking is enabled.',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
];

const CONN = ['slow', 'connection'];
const ADMIN_CONN = ['admin', 'slow', 'dangerous', 'connection'];

export const clientCommand: CommandSpec = command({
  name: 'client', arity: -2, flags: [], acl: ['slow'], keys: null,
  subcommands: [
    command({
      name: 'client|id', arity: 2, flags: ['noscript', 'loading', 'stale'], acl: CONN, keys: null,
      front: (c) => c.w.int(c.ctx.client.id),
    }),
    command({
      name: 'client|getname', arity: 2, flags: ['noscript', 'loading', 'stale'], acl: CONN, keys: null,
      front: (c) => {
        const name = c.ctx.client.name;
        if (name === '') c.w.nil();
        else c.w.bulk(Buffer.from(name, 'latin1'));
      },
    }),
    command({
      name: 'client|setname', arity: 3, flags: ['noscript', 'loading', 'stale'], acl: CONN, keys: null,
      front: (c) => {
        c.ctx.client.name = validateClientName(c.args[2]!);
        c.w.ok();
      },
    }),
    command({
      name: 'client|info', arity: 2, flags: ['noscript', 'loading', 'stale'], acl: CONN, keys: null,
      front: (c) => c.w.verbatim(clientInfoLine(c.ctx.client) + '\n'),
    }),
    command({
      name: 'client|list', arity: -2, flags: ['admin', 'noscript', 'loading', 'stale'], acl: ADMIN_CONN, keys: null,
      front: clientList,
    }),
    command({
      name: 'client|kill', arity: -3, flags: ['admin', 'noscript', 'loading', 'stale'], acl: ADMIN_CONN, keys: null,
      front: clientKill,
    }),
    command({
      name: 'client|getredir', arity: 2, flags: ['noscript', 'loading', 'stale'], acl: CONN, keys: null,
      // Client-side caching (tracking) is not supported: never redirected.
      front: (c) => c.w.int(-1),
    }),
    command({
      name: 'client|help', arity: 2, flags: ['loading', 'stale'], acl: CONN, keys: null,
      front: (c) => helpReply(c, HELP),
    }),
  ],
});
