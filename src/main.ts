/**
 * Entry point: `node dist/src/main.js [config-file] [--option value ...]`.
 */
import fs from 'node:fs';
import { parseCommandLine, ConfigError } from './config.js';
import { createLogger } from './log.js';
import { CairnServer } from './server/server.js';
import { tuneAllocator } from './storage/native-memory.js';

async function main(): Promise<void> {
  // Before any thread or database exists: bounded malloc arenas (see native-memory.ts).
  tuneAllocator();
  const argv = process.argv.slice(2);
  let config;
  try {
    config = parseCommandLine(argv, (p) => fs.readFileSync(p, 'utf8'));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`Cairn: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const log = createLogger(config.loglevel as string, config.logfile as string);
  const configFile = argv.length > 0 && !argv[0]!.startsWith('--') ? argv[0]! : '';
  const exit = (code: number): void => {
    log.flush?.();
    setTimeout(() => process.exit(code), 20);
  };
  // Signals are handled from the start: "Ready to accept connections" is logged before start()
  // resolves, and a SIGTERM in between must still stop the server cleanly (exit 0), not kill it.
  let server: CairnServer | undefined;
  let stopSignal: string | null = null;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (server) void server.shutdown(sig);
      else stopSignal = sig;
    });
  }
  try {
    server = await CairnServer.start({ config, log, configFile, onStopped: exit });
  } catch (e) {
    const err = e as Error & { code?: string };
    log.fatal({ code: err.code }, err.message);
    process.stderr.write(`Cairn: ${err.message}\n`);
    exit(1);
    return;
  }
  if (stopSignal) void server.shutdown(stopSignal);
}

void main();
