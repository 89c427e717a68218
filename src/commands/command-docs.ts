/**
 * COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP), answered
 * from the command table alone, so every command a family file declares shows up by itself.
 *
 * Key specs are derived from each spec's key positions: a (first, last, step) range becomes an
 * index/range key spec, a key function (movable keys) an unknown/unknown one. Their flags come from
 * the command's flags (readonly: RO access; write: RW update; otherwise RW access), so they are
 * coarser than Redis' hand-written ones.
 */
import { command, type CommandSpec, type DocArg, type FrontCall } from './types.js';
import type { ReplyWriter } from '../server/resp/writer.js';
import { publicCommands, lookupCommand, keyIndexes } from './table.js';
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

/** The access flags of the command's (single, derived) key spec. */
export function keySpecFlags(spec: CommandSpec): string[] {
  if (spec.flags.includes('readonly')) return ['RO', 'access'];
  if (spec.flags.includes('write')) return ['RW', 'update'];
  return ['RW', 'access'];
}

function commandFlags(spec: CommandSpec): string[] {
  const flags: string[] = [...spec.flags];
  if (spec.keyFn && !flags.includes('movablekeys')) flags.push('movablekeys');
  return flags;
}

function writeStatusSet(w: ReplyWriter, items: readonly string[]): void {
  w.set(items.length);
  for (const s of items) w.simple(s);
}

function writeKeySpecs(w: ReplyWriter, spec: CommandSpec): void {
  if (!hasKeys(spec)) {
    w.set(0);
    return;
  }
  w.set(1);
  w.map(3);
  w.bulk('flags');
  writeStatusSet(w, keySpecFlags(spec));
  const k = spec.keys;
  if (spec.keyFn || !k) {
    for (const field of ['begin_search', 'find_keys']) {
      w.bulk(field);
      w.map(2);
      w.bulk('type');
      w.bulk('unknown');
      w.bulk('spec');
      w.map(0);
    }
    return;
  }
  w.bulk('begin_search');
  w.map(2);
  w.bulk('type');
  w.bulk('index');
  w.bulk('spec');
  w.map(1);
  w.bulk('index');
  w.int(k.first);
  w.bulk('find_keys');
  w.map(2);
  w.bulk('type');
  w.bulk('range');
  w.bulk('spec');
  w.map(3);
  w.bulk('lastkey');
  w.int(k.last < 0 ? k.last : k.last - k.first);
  w.bulk('keystep');
  w.int(k.step);
  w.bulk('limit');
  w.int(0);
}

/** One COMMAND INFO entry, Redis 7.0 layout (10 fields). */
export function writeCommandInfo(w: ReplyWriter, spec: CommandSpec): void {
  const k = spec.keys;
  w.array(10);
  w.bulk(spec.name);
  w.int(spec.arity);
  writeStatusSet(w, commandFlags(spec));
  w.int(k ? k.first : 0);
  w.int(k ? k.last : 0);
  w.int(k ? k.step : 0);
  writeStatusSet(w, spec.acl.map((a) => '@' + a));
  w.set(0); // tips
  writeKeySpecs(w, spec);
  if (spec.subcommands) {
    w.array(spec.subcommands.length);
    for (const s of spec.subcommands) writeCommandInfo(w, s);
  } else {
    w.set(0);
  }
}

function writeDocArgs(w: ReplyWriter, args: readonly DocArg[]): void {
  w.array(args.length);
  for (const a of args) {
    const flags: string[] = [];
    if (a.optional) flags.push('optional');
    if (a.multiple) flags.push('multiple');
    const nested = a.type === 'oneof' || a.type === 'block';
    w.map(2 + (a.type === 'key' ? 1 : 0) + (a.token ? 1 : 0) + (flags.length ? 1 : 0) + (nested ? 1 : 0));
    w.bulk('name');
    w.bulk(a.name);
    w.bulk('type');
    w.bulk(a.type);
    if (a.type === 'key') {
      w.bulk('key_spec_index');
      w.int(0); // every command has one (derived) key spec
    }
    if (a.token) {
      w.bulk('token');
      w.bulk(a.token);
    }
    if (flags.length) {
      w.bulk('flags');
      writeStatusSet(w, flags);
    }
    if (nested) {
      w.bulk('arguments');
      writeDocArgs(w, a.arguments ?? []);
    }
  }
}

/** One COMMAND DOCS value (the map after the name), Redis 7.0 field order. */
export function writeCommandDocs(w: ReplyWriter, spec: CommandSpec): void {
  w.map(3 + (spec.complexity ? 1 : 0) + (spec.docArgs ? 1 : 0) + (spec.subcommands ? 1 : 0));
  w.bulk('summary');
  w.bulk(spec.summary);
  w.bulk('since');
  w.bulk(spec.since);
  w.bulk('group');
  w.bulk(spec.group);
  if (spec.complexity) {
    w.bulk('complexity');
    w.bulk(spec.complexity);
  }
  if (spec.docArgs) {
    w.bulk('arguments');
    writeDocArgs(w, spec.docArgs);
  }
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

/** The command a GETKEYS call names (its subcommand when it has one), and the keys' positions in `target`. */
function targetKeys(c: FrontCall): { target: Buffer[]; positions: number[]; spec: CommandSpec } {
  const target = c.args.slice(2);
  let spec = lookupCommand(lower(target[0]!));
  if (spec?.internal) spec = undefined;
  if (spec?.subcommands && target.length >= 2) {
    spec = spec.subcommands.find((s) => s.name === spec!.name + '|' + lower(target[1]!));
  }
  if (!spec) throw new CommandError(INVALID_COMMAND);
  if (!hasKeys(spec)) throw new CommandError(NO_KEY_ARGS);
  if ((spec.arity > 0 && target.length !== spec.arity) || target.length < -spec.arity) throw new CommandError(BAD_ARITY);
  const positions = keyIndexes(spec, target);
  if (positions.length === 0 && !spec.flags.includes('no_mandatory_keys')) throw new CommandError(BAD_ARGS);
  return { target, positions, spec };
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
  group: 'server', since: '2.8.13', complexity: 'O(N) where N is the total number of Redis commands',
  summary: 'Returns detailed information about all commands.',
  front: (c) => commandInfo(c, 1),
  subcommands: [
    command({
      name: 'command|count', arity: 2, flags: [...FLAGS], acl: ACL, keys: null,
      group: 'server', since: '2.8.13', complexity: 'O(1)', summary: 'Returns a count of commands.',
      front: (c) => c.w.int(publicCommands().length),
    }),
    command({
      name: 'command|info', arity: -2, flags: [...FLAGS], acl: ACL, keys: null,
      group: 'server', since: '2.8.13', complexity: 'O(N) where N is the number of commands to look up',
      summary: 'Returns information about one, multiple or all commands.',
      docArgs: [{ name: 'command-name', type: 'string', optional: true, multiple: true }],
      front: (c) => commandInfo(c, 2),
    }),
    command({
      name: 'command|docs', arity: -2, flags: [...FLAGS], acl: ACL, keys: null,
      group: 'server', since: '7.0.0', complexity: 'O(N) where N is the number of commands to look up',
      summary: 'Returns documentary information about one, multiple or all commands.',
      docArgs: [{ name: 'command-name', type: 'string', optional: true, multiple: true }],
      front: commandDocs,
    }),
    command({
      name: 'command|list', arity: -2, flags: [...FLAGS], acl: ACL, keys: null,
      group: 'server', since: '7.0.0', complexity: 'O(N) where N is the total number of Redis commands',
      summary: 'Returns a list of command names.',
      docArgs: [{ name: 'filterby', type: 'oneof', token: 'FILTERBY', optional: true, arguments: [
        { name: 'module-name', type: 'string', token: 'MODULE' },
        { name: 'category', type: 'string', token: 'ACLCAT' },
        { name: 'pattern', type: 'pattern', token: 'PATTERN' },
      ] }],
      front: commandList,
    }),
    command({
      name: 'command|getkeys', arity: -4, flags: [...FLAGS], acl: ACL, keys: null,
      group: 'server', since: '2.8.13', complexity: 'O(N) where N is the number of arguments to the command',
      summary: 'Extracts the key names from an arbitrary command.',
      docArgs: [{ name: 'command', type: 'string' }, { name: 'arg', type: 'string', optional: true, multiple: true }],
      front: (c) => {
        const { target, positions } = targetKeys(c);
        c.w.array(positions.length);
        for (const p of positions) c.w.bulk(target[p]!);
      },
    }),
    command({
      name: 'command|getkeysandflags', arity: -4, flags: [...FLAGS], acl: ACL, keys: null,
      group: 'server', since: '7.0.0', complexity: 'O(N) where N is the number of arguments to the command',
      summary: 'Extracts the key names and access flags for an arbitrary command.',
      docArgs: [{ name: 'command', type: 'string' }, { name: 'arg', type: 'string', optional: true, multiple: true }],
      front: (c) => {
        const { target, positions, spec } = targetKeys(c);
        const flags = keySpecFlags(spec);
        c.w.array(positions.length);
        for (const p of positions) {
          c.w.array(2);
          c.w.bulk(target[p]!);
          writeStatusSet(c.w, flags);
        }
      },
    }),
    command({
      name: 'command|help', arity: 2, flags: [...FLAGS], acl: ACL, keys: null,
      group: 'server', since: '5.0.0', complexity: 'O(1)', summary: 'Returns helpful text about the different subcommands.',
      front: (c) => helpReply(c, HELP),
    }),
  ],
});
