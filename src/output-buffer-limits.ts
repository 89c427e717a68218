/**
 * client-output-buffer-limit: Redis' per-class limits on the reply bytes a client may have waiting.
 *
 * The config value is Redis' CONFIG GET form, "normal <hard> <soft> <seconds> slave ... pubsub ...";
 * CONFIG SET, the command line and the config file take any number of `<class> <hard> <soft>
 * <seconds>` groups and change only the classes named (all or nothing), with redis-server 7.0's
 * parsing (memtoull for the sizes, strtoll truncated to int for the seconds) and error texts.
 */

export type ObufClass = 'normal' | 'replica' | 'pubsub';

export interface ObufLimit {
  /** Close the client when this many bytes wait (0 = no hard limit). */
  hard: number;
  /** Close the client when this many bytes wait continuously for more than `seconds` (0 = none). */
  soft: number;
  seconds: number;
}

export type ObufLimits = Record<ObufClass, ObufLimit>;

/**
 * Bytes of a client's unsent replies that the limits do not count: Redis counts only its reply
 * list, not the 16 KB buffer each client fills first, so a tiny limit does not close a client
 * waiting for one small reply.
 */
export const OBUF_UNCOUNTED_BYTES = 16 * 1024;

export const OBUF_DEFAULT = 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60';

/** In the order CONFIG GET shows them, with the name it shows. */
const CLASSES: readonly [ObufClass, string][] = [['normal', 'normal'], ['replica', 'slave'], ['pubsub', 'pubsub']];

/** Class names as Redis' getClientTypeByName (case-insensitive) takes them; master is refused. */
const CLASS_BY_NAME: Record<string, ObufClass | 'master'> = {
  normal: 'normal', slave: 'replica', replica: 'replica', pubsub: 'pubsub', master: 'master',
};

const ERR_ARGS = 'Wrong number of arguments in buffer limit configuration.';
const ERR_CLASS = 'Invalid client class specified in buffer limit configuration.';
const ERR_VALUE = 'Error in hard, soft or soft_seconds setting in buffer limit configuration.';

const ULLONG_MAX = (1n << 64n) - 1n;
const LLONG_MAX = (1n << 63n) - 1n;
const UNITS: Record<string, bigint> = {
  '': 1n, b: 1n, k: 1000n, kb: 1024n, m: 1000n ** 2n, mb: 1024n ** 2n, g: 1000n ** 3n, gb: 1024n ** 3n,
};

/** Redis' memtoull: digits (saturating at 2^64-1) times a unit, wrapping as unsigned 64-bit does. */
function memtoull(s: string): bigint | null {
  const m = /^(\d*)([a-z]*)$/i.exec(s);
  if (!m || m[1]!.length >= 128) return null;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return null;
  let n = m[1] === '' ? 0n : BigInt(m[1]!);
  if (n > ULLONG_MAX) n = ULLONG_MAX;
  return BigInt.asUintN(64, n * unit);
}

/** Redis reads soft_seconds with strtoll into an int: saturate at 64 bits, keep the low 32; "" is 0. */
function seconds(s: string): number | null {
  if (s === '') return 0;
  if (!/^[\t\n\v\f\r ]*[+-]?\d+$/.test(s)) return null;
  let n = BigInt(s.trim());
  if (n > LLONG_MAX) n = LLONG_MAX;
  else if (n < -LLONG_MAX - 1n) n = -LLONG_MAX - 1n;
  const v = Number(BigInt.asIntN(32, n));
  return v < 0 ? null : v;
}

type Groups = Map<ObufClass, [hard: bigint, soft: bigint, seconds: number]>;

function parseGroups(text: string): Groups | { error: string } {
  // Redis splits the value on single spaces: two spaces in a row make an empty argument.
  const args = text === '' ? [] : text.split(' ');
  if (args.length % 4 !== 0) return { error: ERR_ARGS };
  const groups: Groups = new Map();
  for (let j = 0; j < args.length; j += 4) {
    const cls = CLASS_BY_NAME[args[j]!.toLowerCase()];
    if (cls === undefined || cls === 'master') return { error: ERR_CLASS };
    const hard = memtoull(args[j + 1]!);
    const soft = memtoull(args[j + 2]!);
    const secs = seconds(args[j + 3]!);
    if (hard === null || soft === null || secs === null) return { error: ERR_VALUE };
    groups.set(cls, [hard, soft, secs]);
  }
  return groups;
}

/**
 * Applies `text` (groups of `<class> <hard> <soft> <seconds>`) to the current value and returns the
 * new canonical value, or the error CONFIG SET reports. A `current` that does not parse counts as
 * the default.
 */
export function updateObufLimits(text: string, current: string): string | { error: string } {
  const update = parseGroups(text);
  if (!(update instanceof Map)) return update;
  const base = parseGroups(current);
  const merged: Groups = base instanceof Map && base.size === CLASSES.length ? base : parseGroups(OBUF_DEFAULT) as Groups;
  for (const [cls, v] of update) merged.set(cls, v);
  return CLASSES.map(([cls, shown]) => `${shown} ${merged.get(cls)!.join(' ')}`).join(' ');
}

/** The limits of a canonical value (as updateObufLimits returns), as numbers for the checks. */
export function obufLimits(value: string): ObufLimits {
  const groups = parseGroups(value);
  if (!(groups instanceof Map) || groups.size !== CLASSES.length) throw new Error(`bad client-output-buffer-limit value '${value}'`);
  const out = {} as ObufLimits;
  for (const [cls] of CLASSES) {
    const [hard, soft, secs] = groups.get(cls)!;
    out[cls] = { hard: Number(hard), soft: Number(soft), seconds: secs };
  }
  return out;
}

/**
 * Redis' checkClientOutputBufferLimits for one client: true when `used` bytes reach the hard
 * limit, or have been at or over the soft limit for more than `seconds` (whole seconds, as Redis'
 * unixtime counts them). Keeps the time the soft limit was first reached.
 */
export class ObufState {
  /** Unix seconds when the soft limit was reached, 0 while under it. */
  private softSince = 0;

  overLimit(limit: ObufLimit, used: number, nowMs?: number): boolean {
    const hard = limit.hard > 0 && used >= limit.hard;
    let soft = limit.soft > 0 && used >= limit.soft;
    if (soft) {
      const now = Math.floor((nowMs ?? Date.now()) / 1000);
      if (this.softSince === 0) {
        this.softSince = now;
        soft = false;
      } else if (now - this.softSince <= limit.seconds) {
        soft = false;
      }
    } else {
      this.softSince = 0;
    }
    return hard || soft;
  }
}
