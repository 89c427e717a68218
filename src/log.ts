import { pino, type Logger } from 'pino';

/** Redis log level names mapped onto pino's. */
const LEVELS: Record<string, string> = {
  debug: 'debug', verbose: 'debug', notice: 'info', warning: 'warn', nothing: 'silent',
};

export function pinoLevel(redisLevel: string): string {
  return LEVELS[redisLevel] ?? 'info';
}

/** JSON lines to stdout (or a file); readable when stdout is a terminal. */
export function createLogger(redisLevel: string, logfile: string): Logger {
  const level = pinoLevel(redisLevel);
  if (logfile) return pino({ level, name: 'cairn' }, pino.destination({ dest: logfile, sync: false, mkdir: true }));
  if (process.stdout.isTTY) {
    return pino({ level, name: 'cairn', transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino({ level, name: 'cairn' }, pino.destination({ dest: 1, sync: false }));
}
