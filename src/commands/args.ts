/**
 * Argument parsing helpers shared by command families. They throw CommandError with Redis'
 * exact texts; the dispatcher turns that into the error reply.
 */
import { CommandError, E } from './errors.js';
import { parseI64, parseInteger, parseFloatArg } from '../util/number.js';

export function lower(b: Buffer): string {
  return b.toString('latin1').toLowerCase();
}

/** A signed 64-bit integer argument, as a bigint. */
export function i64Arg(b: Buffer, err: string = E.NOT_INTEGER): bigint {
  const v = parseI64(b);
  if (v === null) throw new CommandError(err);
  return v;
}

/** An integer argument as a JS number (clamped to the safe range). */
export function intArg(b: Buffer, err: string = E.NOT_INTEGER): number {
  const v = parseInteger(b);
  if (v === null) throw new CommandError(err);
  return v;
}

export function floatArg(b: Buffer, err: string = E.NOT_FLOAT): number {
  const v = parseFloatArg(b);
  if (v === null) throw new CommandError(err);
  return v;
}

/** A database index for SELECT/MOVE/COPY DB: getIntFromObjectOrReply() followed by selectDb(). */
export function dbArg(b: Buffer, databases: number): number {
  const v = parseI64(b);
  if (v === null) throw new CommandError(E.NOT_INTEGER);
  if (v < -2147483648n || v > 2147483647n) throw new CommandError(E.INT_RANGE);
  if (v < 0n || v >= BigInt(databases)) throw new CommandError(E.DB_INDEX);
  return Number(v);
}
