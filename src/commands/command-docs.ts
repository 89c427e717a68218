/**
 * COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP), answered
 * from the command table, so every command a family file declares shows up by itself: its name,
 * arity, flags, legacy key range, ACL categories and subcommands are Cairn's own declaration; its
 * tips, key specs and documentation (summary, since, group, complexity, history, arguments...) are
 * Redis' own, as Redis 7.0 gives them (src/commands/redis-meta.ts, generated from a redis-server by
 * scripts/gen-command-meta.ts). GETKEYS and GETKEYSANDFLAGS read the key specs as Redis does.
 */
import { command, type CommandSpec, type FrontCall } from './types.js';
import { REDIS_META } from './redis-meta.js';
import { mapField, writeRespData, type RedisCommandMeta, type RespData } from './resp-value.js';
import type { ReplyWriter } from '../server/resp/writer.js';
import { publicCommands, lookupCommand } from './table.js';
import { commandKeys, type KeyRef } from './key-specs.js';
import { CommandError, E } from './errors.js';
import { lower } from './args.js';
import { globMatch } from '../util/glob.js';
import { helpReply } from './help.js';

const INVALID_COMMAND = 'ERR Invalid command specified';
const NO_KEY_ARGS = 'ERR The command has no key arguments';
const BAD_ARITY = 'ERR Invalid number of arguments specified for command';
const BAD_ARGS = 'ERR Invalid arguments specified for command';

/** A public command or subcommand by its full name ('get', 'client|list'); internal ones are hidden. */
export function findCommand(fullName: string): CommandSpec | undefined {
  const parts = fullName.toLowerCase().split('|');
  if (parts.length > 2) return undefined;
  const base = lookupCommand(parts[0]!);
  if (!base || base.internal) return undefined;
  if (parts.length === 1) return base;
  return base.subcommands?.find((s) => s.name === fullName.toLowerCase());
}

function hasKeys(spec: CommandSpec): boolean {
  return spec.keys !== null || spec.keyFn !== undefined;
}

/** Redis' description of a public command or subcommand (validateTable checks that each has one). */
export function redisMeta(spec: CommandSpec): RedisCommandMeta {
  const meta = REDIS_META[spec.name];
  if (meta === undefined) throw new Error(`no Redis metadata for '${spec.name}' (run scripts/gen-command-meta.ts)`);
  return meta;
}

/** COMMAND DOCS' group of a public command ('string', 'sorted-set', ...). */
export function commandGroup(spec: CommandSpec): string {
  return mapField(redisMeta(spec).docs, 'group') as string;
}

/** The tokens (option words) of a command's arguments in Redis' COMMAND DOCS, nested ones too. */
export function argumentTokens(spec: CommandSpec): string[] {
  const out: string[] = [];
  const walk = (args: RespData | undefined): void => {
    if (!Array.isArray(args)) return;
    for (const a of args) {
      const token = mapField(a, 'token');
      if (typeof token === 'string') out.push(token);
      walk(mapField(a, 'arguments'));
    }
  };
  walk(mapField(redisMeta(spec).docs, 'arguments'));
  return out;
}

/** COMMAND INFO's flags in Redis' order (server.c, addReplyCommandFlags; may_replicate is not shown). */
const FLAG_ORDER = ['write', 'readonly', 'denyoom', 'module', 'admin', 'pubsub', 'noscript', 'blocking', 'loading', 'stale',
  'skip_monitor', 'skip_slowlog', 'asking', 'fast', 'no_auth', 'no_mandatory_keys', 'no_async_loading', 'no_multi', 'movablekeys', 'allow_busy'];
/** ACL categories in Redis' order (acl.c, ACLCommandCategories). */
const ACL_ORDER = ['keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo', 'stream',
  'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting'];

/** `items` in `order`'s order, any others after them. */
function ordered(items: readonly string[], order: readonly string[]): string[] {
  return [...order.filter((x) => items.includes(x)), ...items.filter((x) => !order.includes(x))];
}

function commandFlags(spec: CommandSpec): string[] {
  const flags = spec.flags.filter((f) => f !== 'may_replicate');
  return ordered(spec.keyFn && !flags.includes('movablekeys') ? [...flags, 'movablekeys'] : flags, FLAG_ORDER);
}

function writeStatusSet(w: ReplyWriter, items: readonly string[]): void {
  w.set(items.length);
  for (const s of items) w.simple(s);
}

/** One COMMAND INFO entry, Redis 7.0 layout (10 fields). */
export function writeCommandInfo(w: ReplyWriter, spec: CommandSpec): void {
  const k = spec.keys;
  const meta = redisMeta(spec);
  w.array(10);
  w.bulk(spec.name);
  w.int(spec.arity);
  writeStatusSet(w, commandFlags(spec));
  w.int(k ? k.first : 0);
  w.int(k ? k.last : 0);
  w.int(k ? k.step : 0);
  writeStatusSet(w, ordered(spec.acl, ACL_ORDER).map((a) => '@' + a));
  writeRespData(w, meta.tips);
  writeRespData(w, meta.keySpecs);
  if (spec.subcommands) {
    w.array(spec.subcommands.length);
    for (const s of spec.subcommands) writeCommandInfo(w, s);
  } else {
    w.set(0);
  }
}

/** One COMMAND DOCS value (the map after the name): Redis' fields, then Cairn's subcommands. */
export function writeCommandDocs(w: ReplyWriter, spec: CommandSpec): void {
  const docs = (redisMeta(spec).docs as { m: RespData[] }).m;
  w.map(docs.length / 2 + (spec.subcommands ? 1 : 0));
  for (const v of docs) writeRespData(w, v);
  if (spec.subcommands) {
    w.bulk('subcommands');
    w.map(spec.subcommands.length);
    for (const s of spec.subcommands) {
      w.bulk(s.name);
      writeCommandDocs(w, s);
    }
  }
}

/** Every public command followed by its subcommands. */
function allWithSubcommands(): CommandSpec[] {
  const out: CommandSpec[] = [];
  for (const c of publicCommands()) {
    out.push(c);
    if (c.subcommands) out.push(...c.subcommands);
  }
  return out;
}

function commandInfo(c: FrontCall, from: number): void {
  if (c.args.length <= from) {
    const all = publicCommands();
    c.w.array(all.length);
    for (const spec of all) writeCommandInfo(c.w, spec);
    return;
  }
  c.w.array(c.args.length - from);
  for (let i = from; i < c.args.length; i++) {
    const spec = findCommand(c.args[i]!.toString());
    if (spec) writeCommandInfo(c.w, spec);
    else c.w.nil();
  }
}

function commandDocs(c: FrontCall): void {
  let specs: { name: string; spec: CommandSpec }[];
  if (c.args.length === 2) specs = publicCommands().map((spec) => ({ name: spec.name, spec }));
  else {
    specs = [];
    for (let i = 2; i < c.args.length; i++) {
      const spec = findCommand(c.args[i]!.toString());
      if (spec) specs.push({ name: spec.name, spec });
    }
  }
  c.w.map(specs.length);
  for (const { name, spec } of specs) {
    c.w.bulk(name);
    writeCommandDocs(c.w, spec);
  }
}

function commandList(c: FrontCall): void {
  const { args } = c;
  let keep: (s: CommandSpec) => boolean = () => true;
  if (args.length === 5 && lower(args[2]!) === 'filterby') {
    const kind = lower(args[3]!);
    const arg = args[4]!;
    if (kind === 'module') keep = () => false; // no modules
    else if (kind === 'aclcat') {
      const cat = lower(arg);
      keep = (s) => s.acl.includes(cat);
    } else if (kind === 'pattern') keep = (s) => globMatch(arg, s.name, true);
    else throw new CommandError(E.SYNTAX);
  } else if (args.length !== 2) {
    throw new CommandError(E.SYNTAX);
  }
  const names = allWithSubcommands().filter(keep).map((s) => s.name);
  c.w.array(names.length);
  for (const n of names) c.w.bulk(n);
}

/** The command line a GETKEYS call names (`target`) and its keys, read from Redis' key specs. */
function targetKeys(c: FrontCall): { target: Buffer[]; keys: KeyRef[] } {
  const target = c.args.slice(2);
  let spec = lookupCommand(lower(target[0]!));
  if (spec?.internal) spec = undefined;
  if (spec?.subcommands && target.length >= 2) {
    spec = spec.subcommands.find((s) => s.name === spec!.name + '|' + lower(target[1]!));
  }
  if (!spec) throw new CommandError(INVALID_COMMAND);
  if (!hasKeys(spec)) throw new CommandError(NO_KEY_ARGS);
  if ((spec.arity > 0 && target.length !== spec.arity) || target.length < -spec.arity) throw new CommandError(BAD_ARITY);
  const keys = commandKeys(spec, redisMeta(spec).keySpecs, target);
  if (keys.length === 0 && !spec.flags.includes('no_mandatory_keys')) throw new CommandError(BAD_ARGS);
  return { target, keys };
}

const HELP = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full Redis command.',
  'GETKEYSANDFLAGS <full-command>',
  '    Return the keys and the access flags from a full Redis command.',
];

const FLAGS = ['loading', 'stale'] as const;
const ACL = ['slow', 'connection'];

export const commandCommand: CommandSpec = command({
  name: 'command', arity: -1, flags: [...FLAGS], acl: ACL, keys: null,
  front: (c) => commandInfo(c, 1),
  subcommands: [
    command({
      name: 'command|count', arity: 2, flags: [...FLAGS], acl: ACL, keys: null,
      front: (c) => c.w.int(publicCommands().length),
    }),
    command({
      name: 'command|info', arity: -2, flags: [...FLAGS], acl: ACL, keys: null,
      front: (c) => commandInfo(c, 2),
    }),
    command({
      name: 'command|docs', arity: -2, flags: [...FLAGS], acl: ACL, keys: null,
      front: commandDocs,
    }),
    command({
      name: 'command|list', arity: -2, flags: [...FLAGS], acl: ACL, keys: null,
      front: commandList,
    }),
    command({
      name: 'command|getkeys', arity: -4, flags: [...FLAGS], acl: ACL, keys: null,
      front: (c) => {
        const { target, keys } = targetKeys(c);
        c.w.array(keys.length);
        for (const k of keys) c.w.bulk(target[k.pos]!);
      },
    }),
    command({
      name: 'command|getkeysandflags', arity: -4, flags: [...FLAGS], acl: ACL, keys: null,
      front: (c) => {
        const { target, keys } = targetKeys(c);
        c.w.array(keys.length);
        for (const k of keys) {
          c.w.array(2);
          c.w.bulk(target[k.pos]!);
          writeRespData(c.w, k.flags);
        }
      },
    }),
    command({
      name: 'command|help', arity: 2, flags: [...FLAGS], acl: ACL, keys: null,
      front: (c) => helpReply(c, HELP),
    }),
  ],
});
