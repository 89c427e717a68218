/**
 * OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP (Redis 7.0).
 *
 * Cairn keeps every value in LevelDB, so Redis' in-memory encodings do not exist here. OBJECT
 * answers what Redis 7.0 would answer for the same value built by plain writes, from the value
 * itself and the encoding thresholds in the config (hash-max-listpack-entries, ...):
 *
 *   string  "int" when it is a 64-bit integer in canonical form (at most 20 bytes), else
 *           "embstr" up to 44 bytes, else "raw". (Redis makes the results of APPEND, SETRANGE
 *           and INCRBYFLOAT "raw"/"embstr" whatever they look like; Cairn does not record how
 *           a string was written.)
 *   hash    "listpack" while it has at most hash-max-listpack-entries fields and no field or
 *           value is longer than hash-max-listpack-value bytes, else "hashtable".
 *   set     "intset" while it has at most set-max-intset-entries members, all integers, else
 *           "hashtable" (7.0 has no listpack sets).
 *   zset    "listpack" while it has at most zset-max-listpack-entries members of at most
 *           zset-max-listpack-value bytes, else "skiplist".
 *   list    "quicklist" (every 7.0 list).        stream  "stream".
 * Redis never converts a big encoding back when a collection shrinks; Cairn answers from the
 * current contents. Checking element lengths reads the collection, which is bounded: it happens
 * only when the size is within the threshold, and at most ENCODING_SCAN_MAX elements are read.
 *
 * REFCOUNT: 2147483647 for the integers 0..9999 that Redis shares (unless maxmemory is set with
 * an LRU/LFU policy, where Redis stops sharing them), else 1.
 * IDLETIME: Cairn does not track access times: 0. FREQ: Cairn does not track access frequency:
 * LFU_INIT_VAL (5), the counter of a key just written. Both answer Redis' errors when the
 * maxmemory-policy is (IDLETIME) or is not (FREQ) an LFU policy.
 *
 * The thresholds and the policy live in the config on the front thread: each subcommand is a
 * front handler that passes them to the internal `__object` command on the key's shard.
 */
import { command, type CommandSpec, type FrontCall, type ShardCall, type KeyRange } from './types.js';
import { CommandError, E } from './errors.js';
import { lower } from './args.js';
import { helpReply } from './help.js';
import { parseReply, ReplyErr } from '../server/resp/reply-parser.js';
import type { Config } from '../config.js';
import { Type, type Meta } from '../storage/encoding.js';
import { Collection } from '../storage/collection.js';
import { parseI64 } from '../util/number.js';

const ERR_LFU_NOT_SELECTED = 'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.';
const ERR_LFU_SELECTED = 'ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.';

/** Redis' OBJ_SHARED_REFCOUNT, OBJ_SHARED_INTEGERS, OBJ_ENCODING_EMBSTR_SIZE_LIMIT, LFU_INIT_VAL. */
const SHARED_REFCOUNT = 2147483647;
const SHARED_INTEGERS = 10000n;
const EMBSTR_SIZE_LIMIT = 44;
const LFU_INIT_VAL = 5;
/** The most elements OBJECT ENCODING reads to check their lengths. */
export const ENCODING_SCAN_MAX = 8192;

const HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
];

// ---------------------------------------------------------------- config, on the front thread

const policyOf = (config: Config): string => config['maxmemory-policy'] as string;
const isLfu = (config: Config): boolean => policyOf(config).endsWith('-lfu');

/** Redis' MAXMEMORY_FLAG_NO_SHARED_INTEGERS: an LRU or LFU policy with maxmemory set. */
function sharesIntegers(config: Config): boolean {
  const p = policyOf(config);
  return Number(config.maxmemory) === 0 || !(p.endsWith('-lru') || p.endsWith('-lfu'));
}

/** The thresholds `__object encoding` takes, in its argument order. */
const ENCODING_LIMITS = [
  'hash-max-listpack-entries', 'hash-max-listpack-value', 'set-max-intset-entries',
  'zset-max-listpack-entries', 'zset-max-listpack-value',
] as const;

type Params = (config: Config) => string[];

const PARAMS: Record<'encoding' | 'refcount' | 'idletime' | 'freq', Params> = {
  encoding: (config) => ENCODING_LIMITS.map((name) => String(config[name])),
  refcount: (config) => [sharesIntegers(config) ? '1' : '0'],
  idletime: (config) => [isLfu(config) ? '1' : '0'],
  freq: (config) => [isLfu(config) ? '1' : '0'],
};

/** Runs `__object <sub> <key> <params>` on the key's shard and passes its reply on. */
function objectFront(sub: keyof typeof PARAMS) {
  return async (c: FrontCall): Promise<void> => {
    const { server, client } = c.ctx;
    const key = c.args[2]!;
    const args = ['__object', sub, key, ...PARAMS[sub](server.config)];
    const reply = await server.callShard(server.shardOf(key), client.db, args, client.resp);
    // An error is rethrown, so this command (not the internal one) counts it.
    if (reply[0] === 0x2d /* - */) throw new CommandError((parseReply(reply) as ReplyErr).message);
    c.w.raw(reply);
  };
}

// ---------------------------------------------------------------- answers, on the shard

function stringEncoding(value: Buffer): string {
  if (value.length <= 20 && parseI64(value) !== null) return 'int';
  return value.length <= EMBSTR_SIZE_LIMIT ? 'embstr' : 'raw';
}

/** True when every element (sub-key, and value with `values`) passes `fits`; reads at most ENCODING_SCAN_MAX. */
async function allFit(c: ShardCall, key: Buffer, m: Meta, values: boolean, fits: (sub: Buffer, value: Buffer) => boolean): Promise<boolean> {
  const coll = Collection.find(c, key, m.type, false);
  if (coll === null) return true;
  let ok = true;
  await coll.forEach({ values, limit: ENCODING_SCAN_MAX }, (sub, value) => {
    if (!fits(sub, value)) ok = false;
    return ok;
  });
  return ok;
}

async function collectionEncoding(c: ShardCall, key: Buffer, m: Meta, limits: number[]): Promise<string> {
  const [hashEntries, hashValue, intsetEntries, zsetEntries, zsetValue] = limits as [number, number, number, number, number];
  const size = m.size!;
  switch (m.type) {
    case Type.HASH:
      return size <= hashEntries && await allFit(c, key, m, true, (f, v) => f.length <= hashValue && v.length <= hashValue)
        ? 'listpack' : 'hashtable';
    case Type.SET:
      return size <= intsetEntries && await allFit(c, key, m, false, (member) => parseI64(member) !== null)
        ? 'intset' : 'hashtable';
    case Type.ZSET:
      return size <= zsetEntries && await allFit(c, key, m, false, (member) => member.length <= zsetValue)
        ? 'listpack' : 'skiplist';
    case Type.LIST:
      return 'quicklist';
    default:
      return 'stream';
  }
}

/** __object <encoding|refcount|idletime|freq> <key> <params...>: see PARAMS for the params. */
async function objectShard(c: ShardCall): Promise<void> {
  const sub = lower(c.args[1]!);
  const key = c.args[2]!;
  const param = (i: number): number => Number(c.args[3 + i]!.toString('latin1'));
  const m = c.store.lookupRead(c.db, key);
  if (m === null) return c.w.nil();
  switch (sub) {
    case 'encoding': {
      if (m.type === Type.STRING) return c.w.bulk(stringEncoding(m.value!));
      const limits = ENCODING_LIMITS.map((_, i) => param(i));
      return c.w.bulk(await collectionEncoding(c, key, m, limits));
    }
    case 'refcount': {
      const v = m.type === Type.STRING && m.value!.length <= 20 ? parseI64(m.value!) : null;
      const shared = param(0) === 1 && v !== null && v >= 0n && v < SHARED_INTEGERS;
      return c.w.int(shared ? SHARED_REFCOUNT : 1);
    }
    case 'idletime':
      if (param(0) === 1) throw new CommandError(ERR_LFU_SELECTED);
      return c.w.int(0);
    case 'freq':
      if (param(0) !== 1) throw new CommandError(ERR_LFU_NOT_SELECTED);
      return c.w.int(LFU_INIT_VAL);
    default:
      throw new CommandError(E.SYNTAX);
  }
}

// ---------------------------------------------------------------- the table

const secondArg: KeyRange = { first: 2, last: 2, step: 1 };
const readSlow = { flags: ['readonly'], acl: ['keyspace', 'read', 'slow'] } as const;

export const objectCommands: readonly CommandSpec[] = [
  command({
    name: 'object', arity: -2, flags: [], acl: ['slow'], keys: null,
    subcommands: [
      command({
        name: 'object|encoding', arity: 3, ...readSlow, keys: secondArg,
        front: objectFront('encoding'),
      }),
      command({
        name: 'object|freq', arity: 3, ...readSlow, keys: secondArg,
        front: objectFront('freq'),
      }),
      command({
        name: 'object|help', arity: 2, flags: ['loading', 'stale'], acl: ['keyspace', 'slow'], keys: null,
        front: (c) => helpReply(c, HELP),
      }),
      command({
        name: 'object|idletime', arity: 3, ...readSlow, keys: secondArg,
        front: objectFront('idletime'),
      }),
      command({
        name: 'object|refcount', arity: 3, ...readSlow, keys: secondArg,
        front: objectFront('refcount'),
      }),
    ],
  }),
  command({
    name: '__object', arity: -3, flags: ['readonly'], acl: [], keys: null, internal: true,
    shard: objectShard,
  }),
];
