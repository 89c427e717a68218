/**
 * Helpers of the string family: SET/GETEX option parsing, expire arguments, GETRANGE index
 * arithmetic and LCS. Pure functions of their arguments, so the shard and the front thread
 * (cross-shard LCS) share them.
 */
import { CommandError, E } from './errors.js';
import { i64Arg } from './args.js';
import type { ReplyWriter } from '../server/resp/writer.js';

/** Exact Redis texts used only by this family. */
export const SE = {
  DECR_OVERFLOW: 'ERR decrement would overflow',
  LCS_TYPE: 'ERR The specified keys must contain string values',
  LCS_LEN_AND_IDX: 'ERR If you want both the length and indexes, please just use IDX.',
  LCS_TOO_LONG: 'ERR String too long for LCS',
  LCS_MEMORY_LIMIT: 'ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len',
  LCS_ALLOC: 'ERR Insufficient memory, failed allocating transient memory for LCS',
} as const;

/**
 * proto-max-bulk-len as this thread knows it (SETRANGE/APPEND/LCS limits, as Redis checks it).
 * Each thread has its own copy: the front thread sets it from its config, each shard from its
 * start-up data and from CONFIG SET (ShardControl in src/shard/host.ts).
 */
let maxString = 512 * 1024 * 1024;

export function setMaxStringLength(n: number): void {
  maxString = n;
}

const LLONG_MAX = 9223372036854775807n;

/** Throws Redis' "string exceeds maximum allowed size" when `size` passes the limit. */
export function checkStringLength(size: bigint | number): void {
  if (BigInt(size) > BigInt(maxString)) throw new CommandError(E.STRING_TOO_LONG);
}

// ---------------------------------------------------------------- SET / GETEX options

/** Option bits of SET/GETEX (Redis' OBJ_SET_* / OBJ_EX ... flags). */
export const Opt = {
  NX: 1 << 0,
  XX: 1 << 1,
  EX: 1 << 2,
  PX: 1 << 3,
  KEEPTTL: 1 << 4,
  GET: 1 << 5,
  EXAT: 1 << 6,
  PXAT: 1 << 7,
  PERSIST: 1 << 8,
} as const;

const ANY_EXPIRE = Opt.EX | Opt.PX | Opt.EXAT | Opt.PXAT;

export interface StringOptions {
  flags: number;
  /** The argument of EX/PX/EXAT/PXAT (the last one given). */
  expire: Buffer | null;
}

/**
 * The options of SET (`forSet`) or GETEX, with Redis' exact acceptance rules: one expire form
 * (repeating the same one is allowed, the last wins), NX xor XX, KEEPTTL/PERSIST exclude every
 * expire form. Anything else is a syntax error.
 */
export function parseStringOptions(args: Buffer[], from: number, forSet: boolean): StringOptions {
  let flags = 0;
  let expire: Buffer | null = null;
  for (let j = from; j < args.length; j++) {
    const opt = args[j]!.toString('latin1').toLowerCase();
    const hasNext = j + 1 < args.length;
    const timed = (own: number): boolean => hasNext && (flags & (ANY_EXPIRE & ~own)) === 0 && (flags & (Opt.KEEPTTL | Opt.PERSIST)) === 0;
    let set = 0;
    if (forSet && opt === 'nx' && !(flags & Opt.XX)) set = Opt.NX;
    else if (forSet && opt === 'xx' && !(flags & Opt.NX)) set = Opt.XX;
    else if (forSet && opt === 'get') set = Opt.GET;
    else if (forSet && opt === 'keepttl' && !(flags & (ANY_EXPIRE | Opt.PERSIST))) set = Opt.KEEPTTL;
    else if (!forSet && opt === 'persist' && !(flags & (ANY_EXPIRE | Opt.KEEPTTL))) set = Opt.PERSIST;
    else if (opt === 'ex' && timed(Opt.EX)) set = Opt.EX;
    else if (opt === 'px' && timed(Opt.PX)) set = Opt.PX;
    else if (opt === 'exat' && timed(Opt.EXAT)) set = Opt.EXAT;
    else if (opt === 'pxat' && timed(Opt.PXAT)) set = Opt.PXAT;
    else throw new CommandError(E.SYNTAX);
    flags |= set;
    if (set & ANY_EXPIRE) expire = args[++j]!;
  }
  return { flags, expire };
}

export type ExpireUnit = 'seconds' | 'milliseconds';

/**
 * An expire argument as an absolute Unix time in ms (Redis' getExpireMillisecondsOrReply):
 * it must be a positive integer, and neither the unit conversion nor adding the current time
 * (for relative forms) may overflow a signed 64-bit value.
 */
export function expireAtMs(arg: Buffer, unit: ExpireUnit, relative: boolean, cmd: string, now = Date.now()): number {
  let v = i64Arg(arg);
  const invalid = (): never => {
    throw new CommandError(E.INVALID_EXPIRE(cmd));
  };
  if (v <= 0n || (unit === 'seconds' && v > LLONG_MAX / 1000n)) invalid();
  if (unit === 'seconds') v *= 1000n;
  if (relative) v += BigInt(now);
  if (v > LLONG_MAX) invalid();
  // Times past 2^53 ms (year 287396) lose their last bits here; nothing observable depends on them.
  return Number(v);
}

/** The absolute expire of parsed SET/GETEX options, or 0 when none was given. */
export function optionsExpire(o: StringOptions, cmd: string): number {
  if (o.expire === null) return 0;
  const unit: ExpireUnit = o.flags & (Opt.PX | Opt.PXAT) ? 'milliseconds' : 'seconds';
  return expireAtMs(o.expire, unit, (o.flags & (Opt.EX | Opt.PX)) !== 0, cmd);
}

// ---------------------------------------------------------------- GETRANGE

/** The byte range [start, end) GETRANGE returns for a string of `len` bytes (Redis' index rules). */
export function getRangeBounds(start: bigint, end: bigint, len: number): [number, number] {
  if (start < 0n && end < 0n && start > end) return [0, 0];
  const n = BigInt(len);
  if (start < 0n) start += n;
  if (end < 0n) end += n;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= n) end = n - 1n;
  if (start > end || len === 0) return [0, 0];
  return [Number(start), Number(end) + 1];
}

// ---------------------------------------------------------------- LCS

interface LcsOptions {
  len: boolean;
  idx: boolean;
  withMatchLen: boolean;
  minMatchLen: number;
}

function parseLcsOptions(args: Buffer[]): LcsOptions {
  const o: LcsOptions = { len: false, idx: false, withMatchLen: false, minMatchLen: 0 };
  for (let j = 3; j < args.length; j++) {
    const opt = args[j]!.toString('latin1').toLowerCase();
    if (opt === 'idx') o.idx = true;
    else if (opt === 'len') o.len = true;
    else if (opt === 'withmatchlen') o.withMatchLen = true;
    else if (opt === 'minmatchlen' && j + 1 < args.length) {
      const v = i64Arg(args[++j]!);
      o.minMatchLen = v < 0n ? 0 : v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
    } else throw new CommandError(E.SYNTAX);
  }
  if (o.len && o.idx) throw new CommandError(SE.LCS_LEN_AND_IDX);
  return o;
}

/**
 * LCS a b [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN] over two values (missing keys are empty
 * strings), replying exactly as Redis: the LCS string, its length, or with IDX a map of
 * "matches" (ranges found walking back from the end of both strings) and "len".
 * `args` is the whole command (options start at index 3); type checks are the caller's.
 */
export function lcsReply(w: ReplyWriter, a: Buffer, b: Buffer, args: Buffer[]): void {
  const o = parseLcsOptions(args);
  if (a.length >= 0xffffffff - 1 || b.length >= 0xffffffff - 1) throw new CommandError(SE.LCS_TOO_LONG);
  const alen = a.length;
  const blen = b.length;
  const cols = blen + 1;
  if ((alen + 1) * cols * 4 > maxString) throw new CommandError(SE.LCS_MEMORY_LIMIT);
  let t: Uint32Array;
  try {
    t = new Uint32Array((alen + 1) * cols);
  } catch {
    throw new CommandError(SE.LCS_ALLOC);
  }
  // t[i*cols + j] = length of the LCS of a[0..i) and b[0..j); row 0 and column 0 stay 0.
  for (let i = 1; i <= alen; i++) {
    const row = i * cols;
    const up = row - cols;
    const ai = a[i - 1];
    for (let j = 1; j <= blen; j++) {
      if (ai === b[j - 1]) t[row + j] = t[up + j - 1]! + 1;
      else {
        const l1 = t[up + j]!;
        const l2 = t[row + j - 1]!;
        t[row + j] = l1 > l2 ? l1 : l2;
      }
    }
  }
  const total = t[alen * cols + blen]!;
  if (o.len) {
    w.int(total);
    return;
  }
  const result = Buffer.allocUnsafe(total);
  const matches: [number, number, number, number][] = [];
  walkBack(a, b, t, cols, result, (as, ae, bs, be) => {
    if (o.minMatchLen === 0 || ae - as + 1 >= o.minMatchLen) matches.push([as, ae, bs, be]);
  });
  if (!o.idx) {
    w.bulk(result);
    return;
  }
  w.map(2);
  w.bulk('matches');
  w.array(matches.length);
  for (const [as, ae, bs, be] of matches) {
    w.array(o.withMatchLen ? 3 : 2);
    w.array(2);
    w.int(as);
    w.int(ae);
    w.array(2);
    w.int(bs);
    w.int(be);
    if (o.withMatchLen) w.int(ae - as + 1);
  }
  w.bulk('len');
  w.int(total);
}

/**
 * Walks the LCS table back from (alen, blen) as Redis does, filling `result` with the LCS and
 * calling `emit` for each contiguous matching range (inclusive a- and b- offsets), last first.
 */
function walkBack(
  a: Buffer, b: Buffer, t: Uint32Array, cols: number, result: Buffer,
  emit: (aStart: number, aEnd: number, bStart: number, bEnd: number) => void,
): void {
  let i = a.length;
  let j = b.length;
  let k = result.length;
  let open = false;
  let as = 0, ae = 0, bs = 0, be = 0;
  while (i > 0 && j > 0) {
    let close = false;
    if (a[i - 1] === b[j - 1]) {
      result[--k] = a[i - 1]!;
      if (!open) {
        open = true;
        as = ae = i - 1;
        bs = be = j - 1;
      } else if (as === i && bs === j) {
        // Contiguous with the current range: extend it backwards.
        as--;
        bs--;
      } else {
        close = true;
      }
      // A match at the first byte of either string ends the walk: emit now.
      if (as === 0 || bs === 0) close = true;
      i--;
      j--;
    } else {
      if (t[(i - 1) * cols + j]! > t[i * cols + j - 1]!) i--;
      else j--;
      if (open) close = true;
    }
    if (close) {
      emit(as, ae, bs, be);
      open = false;
    }
  }
}
