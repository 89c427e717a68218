/**
 * Redis' error texts, named once. Tests assert on these exact strings.
 */
export const E = {
  SYNTAX: 'ERR syntax error',
  WRONGTYPE: 'WRONGTYPE Operation against a key holding the wrong kind of value',
  NOT_INTEGER: 'ERR value is not an integer or out of range',
  NOT_FLOAT: 'ERR value is not a valid float',
  OVERFLOW: 'ERR increment or decrement would overflow',
  INCR_NAN: 'ERR increment would produce NaN or Infinity',
  NO_SUCH_KEY: 'ERR no such key',
  INVALID_EXPIRE: (cmd: string) => `ERR invalid expire time in '${cmd}' command`,
  DB_INDEX: 'ERR DB index is out of range',
  INT_RANGE: 'ERR value is out of range, value must between -2147483648 and 2147483647',
  INVALID_DB: 'ERR invalid DB index',
  STRING_TOO_LONG: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)',
  OFFSET_RANGE: 'ERR offset is out of range',
  SAME_OBJECT: 'ERR source and destination objects are the same',
  WRONG_ARGS: (cmd: string) => `ERR wrong number of arguments for '${cmd}' command`,
  UNKNOWN_SUBCOMMAND: (sub: string, cmd: string) =>
    `ERR unknown subcommand '${sub}'. Try ${cmd.toUpperCase()} HELP.`,
  OUT_OF_RANGE_POSITIVE: (what: string) => `ERR ${what} must be positive`,
} as const;

/**
 * Thrown while parsing a command's arguments to abandon it with an error reply. It never crosses
 * a thread boundary: the dispatcher that called the handler catches it and writes the reply.
 */
export class CommandError extends Error {
  constructor(readonly reply: string) {
    super(reply);
  }
}

/** Builds Redis' unknown-command text: ERR unknown command 'foo', with args beginning with: 'a' 'b' */
export function unknownCommand(args: Buffer[]): string {
  // As server.c: the name is cut at 128 bytes, the argument list stops once it reaches 128.
  let rest = '';
  for (let i = 1; i < args.length && rest.length < 128; i++) rest += `'${errorArg(args[i]!, 128 - rest.length)}' `;
  return `ERR unknown command '${errorArg(args[0]!, 128)}', with args beginning with: ${rest}`;
}

/**
 * An argument as Redis' "%.*s" prints it: raw bytes (latin1 keeps one char per byte, and the
 * reply writer writes latin1), at most `max` of them, ending at a NUL byte. (CR and LF are left
 * to ReplyWriter.error, which treats them as addReplyErrorFormat does, over the whole text.)
 */
export function errorArg(b: Buffer, max: number): string {
  const s = b.toString('latin1', 0, Math.max(0, Math.min(max, b.length)));
  const nul = s.indexOf('\0');
  return nul >= 0 ? s.slice(0, nul) : s;
}
