/**
 * Connection commands: PING, ECHO, SELECT, QUIT, HELLO, RESET, AUTH (CLIENT: see client.ts).
 */
import { command, type CommandSpec, type FrontCall } from './types.js';
import { dbArg, lower } from './args.js';
import { CommandError, E, errorArg } from './errors.js';
import { clientCommand, validateClientName } from './client.js';
import { REDIS_VERSION } from './info.js';
import { parseI64 } from '../util/number.js';

const NOPROTO = 'NOPROTO unsupported protocol version';
const PROTO_NOT_INT = 'ERR Protocol version is not an integer or out of range';
const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';
const AUTH_NO_PASSWORD =
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?';

/**
 * Authentication as Redis does it with no password configured: the only user is "default",
 * which accepts any password (nopass). Throws WRONGPASS for any other user.
 */
function authenticate(user: Buffer): void {
  if (user.toString() !== 'default') throw new CommandError(WRONGPASS);
}

/** HELLO [protover [AUTH username password] [SETNAME clientname]] */
function hello(c: FrontCall): void {
  const { args } = c;
  let proto: 2 | 3 | 0 = 0;
  if (args.length >= 2) {
    const v = parseI64(args[1]!);
    if (v === null) throw new CommandError(PROTO_NOT_INT);
    if (v !== 2n && v !== 3n) throw new CommandError(NOPROTO);
    proto = v === 2n ? 2 : 3;
  }
  let user: Buffer | null = null;
  let name: string | null = null;
  for (let j = 2; j < args.length; j++) {
    const more = args.length - 1 - j;
    const opt = lower(args[j]!);
    if (opt === 'auth' && more >= 2) {
      user = args[j + 1]!;
      j += 2;
    } else if (opt === 'setname' && more >= 1) {
      name = validateClientName(args[j + 1]!);
      j++;
    } else {
      throw new CommandError(`ERR Syntax error in HELLO option '${errorArg(args[j]!, args[j]!.length)}'`);
    }
  }
  if (user) authenticate(user);
  const client = c.ctx.client;
  if (name !== null) client.name = name;
  if (proto) client.resp = proto;
  // The reply already speaks the protocol just chosen.
  c.w.resp = client.resp;
  c.w.map(7);
  c.w.bulk('server');
  c.w.bulk('redis');
  c.w.bulk('version');
  c.w.bulk(REDIS_VERSION);
  c.w.bulk('proto');
  c.w.int(client.resp);
  c.w.bulk('id');
  c.w.int(client.id);
  c.w.bulk('mode');
  c.w.bulk('standalone');
  c.w.bulk('role');
  c.w.bulk('master');
  c.w.bulk('modules');
  c.w.array(0);
}

export const connectionCommands: readonly CommandSpec[] = [
  command({
    name: 'ping', arity: -1, flags: ['fast'], acl: ['fast', 'connection'], keys: null,
    front: (c) => {
      if (c.args.length > 2) throw new CommandError(E.WRONG_ARGS('ping'));
      if (c.args.length === 2) c.w.bulk(c.args[1]!);
      else c.w.simple('PONG');
    },
  }),
  command({
    name: 'echo', arity: 2, flags: ['loading', 'stale', 'fast'], acl: ['fast', 'connection'], keys: null,
    front: (c) => c.w.bulk(c.args[1]!),
  }),
  command({
    name: 'select', arity: 2, flags: ['loading', 'stale', 'fast'], acl: ['fast', 'connection'], keys: null,
    front: (c) => {
      c.ctx.client.db = dbArg(c.args[1]!, c.ctx.server.config.databases as number);
      c.w.ok();
    },
  }),
  command({
    name: 'quit', arity: -1, flags: ['allow_busy', 'noscript', 'loading', 'stale', 'fast', 'no_auth'], acl: ['fast', 'connection'], keys: null,
    front: (c) => {
      c.w.ok();
      c.ctx.client.closeAfterReplies();
    },
  }),
  command({
    name: 'hello', arity: -1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], acl: ['fast', 'connection'], keys: null,
    front: hello,
  }),
  command({
    name: 'reset', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], acl: ['fast', 'connection'], keys: null,
    front: (c) => {
      // Back to a fresh connection's state (MULTI, WATCH, pub/sub and tracking do not exist yet).
      const client = c.ctx.client;
      client.resp = 2;
      client.db = 0;
      client.name = '';
      c.w.resp = 2;
      c.w.simple('RESET');
    },
  }),
  command({
    name: 'auth', arity: -2, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], acl: ['fast', 'connection'], keys: null,
    front: (c) => {
      if (c.args.length > 3) throw new CommandError(E.SYNTAX);
      if (c.args.length === 2) throw new CommandError(AUTH_NO_PASSWORD);
      authenticate(c.args[1]!);
      c.w.ok();
    },
  }),
  clientCommand,
];
