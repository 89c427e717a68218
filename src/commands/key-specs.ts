/**
 * The keys of a command line and how it uses each (RW, OW, RM, access, update, ...), read from
 * Redis 7.0's key specs of the command (src/commands/redis-meta.ts) the way Redis reads them
 * (db.c, getKeysFromCommandWithSpecs): each spec's begin_search (an index, or a keyword searched
 * forwards or backwards) and find_keys (a range, or a count given by a numkeys argument). A spec
 * that does not fit the line makes the whole reading fail; Redis then asks the command's own key
 * function, and so does this (the command table's key positions). A spec with variable flags
 * (SET: GET makes it a read too) is read by the command's own rule, as Redis' setGetKeys does.
 */
import type { CommandSpec } from './types.js';
import { keyIndexes } from './table.js';
import { mapField, type RespData } from './resp-value.js';
import { parseInteger } from '../util/number.js';

/** A key's position in the command line and its flags (a RESP set of simple strings). */
export interface KeyRef {
  pos: number;
  flags: RespData;
}

/** The members of a set or array reply (none for anything else). */
function items(v: RespData | undefined): RespData[] {
  if (Array.isArray(v)) return v;
  return v !== undefined && typeof v === 'object' && 'set' in v ? v.set : [];
}

/** Whether a key spec's flags (a set of simple strings) hold `f`. */
function hasFlag(flags: RespData | undefined, f: string): boolean {
  return items(flags).some((x) => typeof x === 'object' && !Array.isArray(x) && 's' in x && x.s === f);
}

const num = (m: RespData | undefined, key: string): number => mapField(m!, key) as number;
const flagSet = (...names: string[]): RespData => ({ set: names.map((s) => ({ s })) });

/** getKeysUsingKeySpecs: null when a spec does not fit (or is incomplete). */
function keysFromSpecs(specs: readonly RespData[], argv: readonly Buffer[], arity: number): KeyRef[] | null {
  const argc = argv.length;
  const out: KeyRef[] = [];
  for (const spec of specs) {
    const flags = mapField(spec, 'flags')!;
    if (hasFlag(flags, 'not_key')) continue;
    const bs = mapField(spec, 'begin_search')!;
    const bsSpec = mapField(bs, 'spec');
    let first = 0;
    const bsType = mapField(bs, 'type');
    if (bsType === 'index') first = num(bsSpec, 'index');
    else if (bsType === 'keyword') {
      const keyword = (mapField(bsSpec!, 'keyword') as string).toLowerCase();
      const from = num(bsSpec, 'startfrom');
      const start = from > 0 ? from : argc + from;
      const end = from > 0 ? argc - 1 : 1;
      for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (argv[i]!.toString('latin1').toLowerCase() === keyword) {
          first = i + 1;
          break;
        }
      }
      if (first === 0) continue; // keyword not found: this spec has no keys here
    } else return null;
    const fk = mapField(spec, 'find_keys')!;
    const fkSpec = mapField(fk, 'spec');
    const fkType = mapField(fk, 'type');
    let last: number;
    let step: number;
    if (fkType === 'range') {
      step = num(fkSpec, 'keystep');
      const lastkey = num(fkSpec, 'lastkey');
      const limit = num(fkSpec, 'limit');
      if (lastkey >= 0) last = first + lastkey;
      else if (limit === 0) last = argc + lastkey;
      else last = first + (Math.trunc((argc - first) / limit) + lastkey);
    } else if (fkType === 'keynum') {
      step = num(fkSpec, 'keystep');
      const idx = num(fkSpec, 'keynumidx');
      if (idx >= argc || first + idx >= argc) return null;
      const n = parseInteger(argv[first + idx]!); // Redis' string2ll
      if (n === null || n < 0) return null;
      first += num(fkSpec, 'firstkey');
      last = first + n - 1;
    } else return null;
    if (last >= argc || last < first || first >= argc) return null;
    for (let i = first; i <= last; i += step) {
      if (i >= argc || i < first) {
        if (arity < 0) continue;
        return null;
      }
      out.push({ pos: i, flags });
    }
    if (hasFlag(flags, 'incomplete')) return null;
  }
  return out;
}

/**
 * The keys of `argv` (argv[0] the command's name) for `spec`, with their flags, as COMMAND
 * GETKEYSANDFLAGS gives them; `keySpecs` is Redis' key specs of the command.
 */
export function commandKeys(spec: CommandSpec, keySpecs: RespData, argv: readonly Buffer[]): KeyRef[] {
  const specs = items(keySpecs);
  const hasKeySpec = specs.some((s) => !hasFlag(mapField(s, 'flags'), 'not_key'));
  const variable = specs.some((s) => hasFlag(mapField(s, 'flags'), 'variable_flags'));
  if (hasKeySpec && !variable) {
    const keys = keysFromSpecs(specs, argv, spec.arity);
    if (keys !== null) return keys;
  }
  if (spec.name === 'set') {
    // setGetKeys: with GET the key is read too.
    const get = argv.slice(3).some((a) => a.length === 3 && a.toString('latin1').toLowerCase() === 'get');
    return [{ pos: 1, flags: get ? flagSet('RW', 'access', 'update') : flagSet('OW', 'update') }];
  }
  // The command's own key function, as Redis falls back to its getkeys_proc.
  let positions: number[];
  try {
    positions = keyIndexes(spec, argv as Buffer[]);
  } catch {
    positions = [];
  }
  const flags = specs.length > 0 ? mapField(specs[0]!, 'flags')! : flagSet();
  return positions.map((pos) => ({ pos, flags }));
}
