/**
 * The HELP subcommand reply shared by container commands (CLIENT, COMMAND, CONFIG), as Redis'
 * addReplyHelp(): the given lines, then HELP itself, as status replies.
 */
import type { FrontCall } from './types.js';

export function helpReply(c: FrontCall, lines: readonly string[]): void {
  c.w.array(lines.length + 2);
  for (const l of lines) c.w.simple(l);
  c.w.simple('HELP');
  c.w.simple('    Prints this help.');
}
