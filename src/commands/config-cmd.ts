/**
 * CONFIG GET / SET / RESETSTAT / REWRITE / HELP over the config table (src/config.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { command, type CommandSpec, type FrontCall } from './types.js';
import { CONFIG_BY_NAME, CONFIG_TABLE, parseValue, formatValue, type ConfigOption, type ConfigValue } from '../config.js';
import { rewriteConfigText } from '../config-file.js';
import { CommandError, E, errorArg } from './errors.js';
import { globMatch } from '../util/glob.js';
import { helpReply } from './help.js';
import { resetStats } from './info.js';

const setFailed = (name: string, reason: string): CommandError =>
  new CommandError(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${reason}`);

/** CONFIG GET pattern [pattern ...]: a name without glob characters is looked up (and echoed) as given. */
function configGet(c: FrontCall): void {
  // By lower-case name (an alias is a name of its own, as in Redis): no duplicates.
  const matches = new Map<string, { key: string; o: ConfigOption }>();
  for (const arg of c.args.slice(2)) {
    const pattern = arg.toString();
    if (!/[[*?]/.test(pattern)) {
      const name = pattern.toLowerCase();
      const o = CONFIG_BY_NAME.get(name);
      if (o && !matches.has(name)) matches.set(name, { key: pattern, o });
      continue;
    }
    for (const o of CONFIG_TABLE) {
      for (const name of o.alias ? [o.name, o.alias] : [o.name]) {
        if (!matches.has(name) && globMatch(arg, name, true)) matches.set(name, { key: name, o });
      }
    }
  }
  const config = c.ctx.server.config;
  c.w.map(matches.size);
  for (const { key, o } of matches.values()) {
    c.w.bulk(key);
    c.w.bulk(formatValue(o, config[o.name]!));
  }
}

/**
 * CONFIG SET name value [name value ...]: every name and value is checked before anything changes
 * (all or nothing), with Redis 7.0's errors and their precedence.
 */
function configSet(c: FrontCall): void {
  const { args } = c;
  if (args.length % 2 !== 0) throw new CommandError(E.SYNTAX);
  const chosen: ConfigOption[] = [];
  const texts: string[] = [];
  /** The names as given, lower-cased: errors about a value name the option (or alias) used. */
  const used: string[] = [];
  for (let i = 2; i < args.length; i += 2) {
    const given = args[i]!.toString('latin1'); // error texts echo the bytes as sent
    const o = CONFIG_BY_NAME.get(given.toLowerCase());
    if (!o) throw new CommandError(`ERR Unknown option or number of arguments for CONFIG SET - '${errorArg(args[i]!, Infinity)}'`);
    if (!o.mutable) throw setFailed(given, 'can\'t set immutable config');
    // A name given twice is refused; a name and its alias are not (as in Redis): the last one wins.
    if (used.includes(given.toLowerCase())) throw setFailed(given, 'duplicate parameter');
    used.push(given.toLowerCase());
    chosen.push(o);
    texts.push(args[i + 1]!.toString());
  }
  const server = c.ctx.server;
  const values: ConfigValue[] = chosen.map((o, j) => {
    const v = parseValue(o, texts[j]!, server.config[o.name]);
    if (typeof v === 'object') throw setFailed(used[j]!, v.error);
    return v;
  });
  chosen.forEach((o, j) => (server.config[o.name] = values[j]!));
  for (const o of chosen) server.configChanged(o.name);
  c.w.ok();
}

/** CONFIG REWRITE: the running values go back into the file the server was started with. */
function configRewrite(c: FrontCall): void {
  const server = c.ctx.server;
  if (!server.configFile) throw new CommandError('ERR The server is running without a config file');
  const file = path.resolve(server.configFile);
  try {
    let old = '';
    try {
      old = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    // Written beside the file then renamed over it: a crash never leaves half a config file.
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.rewrite-${process.pid}`);
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeSync(fd, rewriteConfigText(old, server.config));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    server.log.warn({ err: (e as Error).message }, 'CONFIG REWRITE failed');
    throw new CommandError(`ERR Rewriting config file: ${(e as Error).message}`);
  }
  server.log.info({ file }, 'CONFIG REWRITE executed with success.');
  c.w.ok();
}

const HELP = [
  'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set the configuration <directive> to <value>.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command.',
  'REWRITE',
  '    Rewrite the configuration file.',
];

const ADMIN = ['admin', 'slow', 'dangerous'];

export const configCommand: CommandSpec = command({
  name: 'config', arity: -2, flags: [], acl: ['slow'], keys: null,
  subcommands: [
    command({
      name: 'config|get', arity: -3, flags: ['admin', 'noscript', 'loading', 'stale'], acl: ADMIN, keys: null,
      front: configGet,
    }),
    command({
      name: 'config|set', arity: -4, flags: ['admin', 'noscript', 'loading', 'stale'], acl: ADMIN, keys: null,
      front: configSet,
    }),
    command({
      name: 'config|resetstat', arity: 2, flags: ['admin', 'noscript', 'loading', 'stale'], acl: ADMIN, keys: null,
      allShards: true,
      front: async (c) => {
        await resetStats(c.ctx.server);
        c.w.ok();
      },
    }),
    command({
      name: 'config|rewrite', arity: 2, flags: ['admin', 'noscript', 'loading', 'stale'], acl: ADMIN, keys: null,
      front: configRewrite,
    }),
    command({
      name: 'config|help', arity: 2, flags: ['loading', 'stale'], acl: ['slow'], keys: null,
      front: (c) => helpReply(c, HELP),
    }),
  ],
});
