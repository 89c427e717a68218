/**
 * The command table: every command, declared once in its family's file, gathered here.
 * It drives arity errors, routing (key positions) and the COMMAND replies, and checks itself
 * when loaded: a bad table refuses to run.
 */
import type { CommandSpec, CommandFlag } from './types.js';
import { connectionCommands } from './connection.js';
import { stringCommands } from './string.js';
import { keyCommands } from './keys.js';
import { serverCommands } from './server.js';
import { hashCommands } from './hash.js';
import { setCommands } from './set.js';
import { listCommands } from './list.js';
import { zsetCommands } from './zset.js';
import { objectCommands } from './object.js';
import { sweepCommands } from '../shard/sweep.js';
import { backupCommands } from '../shard/backup.js';
import { intentCommands } from '../shard/intents.js';
import { debugCommands } from './debug.js';
import { REDIS_META } from './redis-meta.js';

/** Every top-level command; a command's id (sent in frames) is its index here. */
export const COMMAND_LIST: readonly CommandSpec[] = [
  ...connectionCommands,
  ...stringCommands,
  ...keyCommands,
  ...serverCommands,
  ...hashCommands,
  ...setCommands,
  ...listCommands,
  ...zsetCommands,
  ...objectCommands,
  ...sweepCommands,
  ...backupCommands,
  ...intentCommands,
  ...debugCommands,
];

const BY_NAME = new Map<string, CommandSpec>();
const IDS = new Map<CommandSpec, number>();
COMMAND_LIST.forEach((c, i) => {
  BY_NAME.set(c.name, c);
  IDS.set(c, i);
});

export function lookupCommand(lowerName: string): CommandSpec | undefined {
  return BY_NAME.get(lowerName);
}

export function commandId(spec: CommandSpec): number {
  return IDS.get(spec)!;
}

/** Public (non-internal) commands, for COMMAND. */
export function publicCommands(): CommandSpec[] {
  return COMMAND_LIST.filter((c) => !c.internal);
}

/** Indices into args of the keys of this call. */
export function keyIndexes(spec: CommandSpec, args: Buffer[]): number[] {
  if (spec.keyFn) return spec.keyFn(args);
  const k = spec.keys;
  if (!k) return [];
  const last = k.last < 0 ? args.length + k.last : k.last;
  const out: number[] = [];
  for (let i = k.first; i <= last && i < args.length; i += k.step) out.push(i);
  return out;
}

const KNOWN_FLAGS = new Set<CommandFlag>([
  'write', 'readonly', 'denyoom', 'admin', 'pubsub', 'noscript', 'blocking', 'loading', 'stale', 'skip_monitor',
  'skip_slowlog', 'fast', 'no_auth', 'may_replicate', 'no_mandatory_keys', 'no_async_loading', 'no_multi', 'allow_busy', 'movablekeys',
]);

/** Start-up self-check; throws on the first problem. */
export function validateTable(list: readonly CommandSpec[] = COMMAND_LIST): void {
  const seen = new Set<string>();
  const check = (c: CommandSpec, parent?: CommandSpec): void => {
    const where = `command table: '${c.name}'`;
    if (c.name !== c.name.toLowerCase()) throw new Error(`${where} must be lower case`);
    if (parent ? !c.name.startsWith(parent.name + '|') : c.name.includes('|')) throw new Error(`${where} has a bad name`);
    if (seen.has(c.name)) throw new Error(`${where} is declared twice`);
    seen.add(c.name);
    if (!Number.isInteger(c.arity) || c.arity === 0) throw new Error(`${where} has a bad arity`);
    for (const f of c.flags) if (!KNOWN_FLAGS.has(f)) throw new Error(`${where} has unknown flag '${f}'`);
    // COMMAND INFO and DOCS give Redis' own key specs and documentation of every public command.
    if (!c.internal && !(c.name in REDIS_META)) throw new Error(`${where} has no Redis metadata (regenerate src/commands/redis-meta.ts)`);
    if (c.keys) {
      const { first, last, step } = c.keys;
      if (first < 1 || step < 1 || (last >= 0 && last < first)) throw new Error(`${where} has a bad key range`);
      if (c.arity > 0 && last >= c.arity) throw new Error(`${where} key range passes its arity`);
    }
    if (c.subcommands) {
      // A container may have a front handler of its own for the bare call (COMMAND without a subcommand).
      if (c.shard) throw new Error(`${where} has subcommands and a shard handler`);
      for (const s of c.subcommands) check(s, c);
      return;
    }
    if (!c.shard && !c.front) throw new Error(`${where} has no handler`);
    const hasKeys = c.keys !== null || c.keyFn !== undefined;
    if (c.shard && !hasKeys && !c.internal) throw new Error(`${where} runs on a shard but names no key`);
    const multiKey = c.keyFn !== undefined || (c.keys !== null && (c.keys.last < 0 || c.keys.last > c.keys.first));
    if (multiKey && !c.front) throw new Error(`${where} may span shards but has no front handler`);
    if (c.internal && !c.shard) throw new Error(`${where} is internal but does not run on a shard`);
  };
  for (const c of list) check(c);
  if (list.length > 65535) throw new Error('command table: too many commands for a 16-bit id');
}

validateTable();
