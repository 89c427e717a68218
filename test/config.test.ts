/**
 * The config table, its parsers (command line, config file), config/cairn.conf, CONFIG REWRITE's
 * text update, and the glob matcher CONFIG GET uses.
 */
import { describe, it, expect } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import {
  CONFIG_TABLE, CONFIG_BY_NAME, ConfigError, defaultConfig, parseCommandLine, parseConfigFile, parseValue, parseMemory,
  splitConfigLine, type Config,
} from '../src/config.js';
import { renderConfigFile, rewriteConfigText, formatFileValue } from '../src/config-file.js';
import { globMatch } from '../src/util/glob.js';
import { ROOT, tempDir } from './helpers/server.js';

const readFile = (p: string): string => fs.readFileSync(p, 'utf8');

function writeTemp(text: string): string {
  const file = path.join(tempDir('cairn-conf-'), 'test.conf');
  fs.writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('no error');
}

describe('config/cairn.conf', () => {
  const file = path.join(ROOT, 'config', 'cairn.conf');
  const text = fs.readFileSync(file, 'utf8');

  it('is what scripts/gen-conf.ts writes from the table (regenerate it when the table changes)', () => {
    expect(text).toBe(renderConfigFile());
  });

  it('documents and sets every option, and parses back to the defaults', () => {
    for (const o of CONFIG_TABLE) {
      expect(text.match(new RegExp(`^${o.name} `, 'gm')), o.name).toHaveLength(1);
    }
    const config = defaultConfig();
    for (const o of CONFIG_TABLE) config[o.name] = '__unset__';
    parseConfigFile(text, file, config);
    expect(config).toEqual(defaultConfig());
  });

  it('marks the options that have no effect', () => {
    const blocks = text.split('\n\n');
    for (const o of CONFIG_TABLE) {
      const block = blocks.find((b) => b.split('\n').includes(`${o.name} ${formatFileValue(o, o.default)}`))!;
      expect(block, o.name).toBeDefined();
      expect(block.includes('# No effect in Cairn.'), o.name).toBe(o.effect === 'none');
    }
  });

  it('is accepted by parseCommandLine as a config file', () => {
    expect(parseCommandLine([file], readFile)).toEqual(defaultConfig());
  });
});

describe('parseCommandLine', () => {
  it('reads the file, then applies command-line overrides', () => {
    const file = writeTemp('# comment\nport 7000\nhz 20\n  maxmemory 2gb\n\ndatabases 4\n');
    const c = parseCommandLine([file, '--port', '7001', '--loglevel', 'warning', '--save', ''], readFile);
    expect(c.port).toBe(7001);
    expect(c.hz).toBe(20);
    expect(c.maxmemory).toBe(2 * 1024 * 1024 * 1024);
    expect(c.databases).toBe(4);
    expect(c.loglevel).toBe('warning');
    expect(c.save).toBe('');
    expect(c.timeout).toBe(0); // untouched: the default
  });

  it('takes options without a file; the last setting wins; names are case-insensitive', () => {
    const c = parseCommandLine(['--PORT', '1', '--hz', '5', '--hz', '6', '--bind', '127.0.0.1', '::1'], readFile);
    expect(c).toMatchObject({ port: 1, hz: 6, bind: '127.0.0.1 ::1' });
  });

  it('rejects unknown options, in the file and on the command line', () => {
    expect(errorOf(() => parseCommandLine(['--nosuch', '1'], readFile))).toBe('command line: unknown option \'nosuch\'');
    const file = writeTemp('port 1\nbogus-option yes\n');
    expect(errorOf(() => parseCommandLine([file], readFile))).toBe(`${file}:2: unknown option 'bogus-option'`);
  });

  it('rejects invalid values with the reason', () => {
    expect(errorOf(() => parseCommandLine(['--port', 'abc'], readFile)))
      .toBe('command line: invalid value for \'port\': argument couldn\'t be parsed into an integer');
    expect(errorOf(() => parseCommandLine(['--port', '70000'], readFile)))
      .toBe('command line: invalid value for \'port\': argument must be between 0 and 65535 inclusive');
    expect(errorOf(() => parseCommandLine(['--appendonly', 'maybe'], readFile)))
      .toBe('command line: invalid value for \'appendonly\': argument must be \'yes\' or \'no\'');
    expect(errorOf(() => parseCommandLine(['--loglevel', 'loud'], readFile)))
      .toBe('command line: invalid value for \'loglevel\': argument(s) must be one of the following: debug, verbose, notice, warning, nothing');
    expect(errorOf(() => parseCommandLine(['--maxmemory', '1.5gb'], readFile)))
      .toBe('command line: invalid value for \'maxmemory\': argument must be a memory value');
    expect(errorOf(() => parseCommandLine(['--hz'], readFile))).toBe('command line: option \'hz\' needs a value');
    expect(errorOf(() => parseCommandLine(['--hz', '1', '2'], readFile))).toBe('command line: option \'hz\' takes one value');
    expect(errorOf(() => parseCommandLine(['port', '1'], (p) => readFile(p)))).toMatch(/^cannot read config file 'port': /);
    const file = writeTemp('timeout -5\n');
    expect(errorOf(() => parseCommandLine([file], readFile)))
      .toBe(`${file}:1: invalid value for 'timeout': argument must be between 0 and 2147483647 inclusive`);
  });

  it('honours double and single quotes in the file', () => {
    const file = writeTemp('logfile "/tmp/my logs/cairn.log"\ndir \'/data dir\'\nnotify-keyspace-events "a\\"b\\\\c\\n"\nsave ""\n');
    const c = parseCommandLine([file], readFile);
    expect(c.logfile).toBe('/tmp/my logs/cairn.log');
    expect(c.dir).toBe('/data dir');
    expect(c['notify-keyspace-events']).toBe('a"b\\c\n');
    expect(c.save).toBe('');
    const bad = writeTemp('logfile "unterminated\n');
    expect(errorOf(() => parseCommandLine([bad], readFile))).toBe(`${bad}:1: unbalanced quotes`);
    expect(splitConfigLine('save 900 1   300 10')).toEqual(['save', '900', '1', '300', '10']);
  });
});

describe('values', () => {
  const o = (name: string) => CONFIG_BY_NAME.get(name)!;

  it('integers as Redis\' string2ll: no sign, spaces or leading zeros', () => {
    expect(parseValue(o('timeout'), '10')).toBe(10);
    for (const bad of ['+5', ' 5', '5 ', '05', '-0', '5.0', '', '1e3']) {
      expect(parseValue(o('timeout'), bad), bad).toEqual({ error: 'argument couldn\'t be parsed into an integer' });
    }
    expect(parseValue(o('list-max-listpack-size'), '-2')).toBe(-2);
  });

  it('memory values with Redis\' units', () => {
    expect(parseMemory('100')).toBe(100);
    expect(parseMemory('1k')).toBe(1000);
    expect(parseMemory('1KB')).toBe(1024);
    expect(parseMemory('3m')).toBe(3_000_000);
    expect(parseMemory('3mb')).toBe(3 * 1024 * 1024);
    expect(parseMemory('2G')).toBe(2_000_000_000);
    expect(parseMemory('2gb')).toBe(2 * 1024 ** 3);
    for (const bad of ['-1', '1tb', 'gb', ' 1', '1.5mb', '+1']) expect(parseMemory(bad), bad).toBeNull();
  });

  it('booleans and enums, case-insensitive', () => {
    expect(parseValue(o('appendonly'), 'YES')).toBe(true);
    expect(parseValue(o('appendonly'), 'no')).toBe(false);
    expect(parseValue(o('maxmemory-policy'), 'AllKeys-LRU')).toBe('allkeys-lru');
  });

  it('every option\'s file form reads back as the same value', () => {
    const samples: Config = { ...defaultConfig(), logfile: 'a "quoted"\tname\n', dir: '/x y/z', bind: '' };
    for (const opt of CONFIG_TABLE) {
      const line = `${opt.name} ${formatFileValue(opt, samples[opt.name]!)}`;
      const config = defaultConfig();
      parseConfigFile(line, 'x', config);
      expect(config[opt.name], line).toEqual(samples[opt.name]);
    }
    expect(formatFileValue(o('maxmemory'), 3 * 1024 ** 3)).toBe('3gb');
    expect(formatFileValue(o('maxmemory'), 1536)).toBe('1536');
    expect(formatFileValue(o('maxmemory'), 2048)).toBe('2kb');
  });
});

describe('rewriteConfigText', () => {
  it('replaces the first line of each set option, drops repeats, keeps comments and unknown lines', () => {
    const config = { ...defaultConfig(), hz: 20, timeout: 30, maxmemory: 64 * 1024 * 1024, logfile: 'my log' };
    const old = '# header\nhz 15\n\n# timeout comment\ntimeout 0\nhz 16\n# Generated by CONFIG REWRITE\nport 6379\n';
    expect(rewriteConfigText(old, config)).toBe(
      '# header\nhz 20\n\n# timeout comment\ntimeout 30\nport 6379\n# Generated by CONFIG REWRITE\nlogfile my log\nmaxmemory 64mb\n');
  });

  it('writes nothing new when everything is at its default', () => {
    expect(rewriteConfigText('', defaultConfig())).toBe('\n');
    expect(rewriteConfigText('hz 10\r\n', defaultConfig())).toBe('hz 10\n');
  });
});

describe('globMatch (Redis stringmatchlen)', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'anything', true], ['h?llo', 'hello', true], ['h?llo', 'hllo', false], ['h*llo', 'heeeello', true],
    ['h[ae]llo', 'hallo', true], ['h[ae]llo', 'hillo', false], ['h[^e]llo', 'hallo', true], ['h[^e]llo', 'hello', false],
    ['h[a-b]llo', 'hbllo', true], ['h[b-a]llo', 'hallo', true], ['h\\*llo', 'h*llo', true], ['h\\*llo', 'hello', false],
    ['maxmemory*', 'maxmemory-policy', true], ['*-max-*-entries', 'hash-max-listpack-entries', true], ['a*', '', false],
    ['[abc', 'a', true], ['ab[', 'ab', false], ['**x', 'abx', true], ['*a*b', 'xaxxb', true], ['*a*b', 'xaxx', false],
  ];
  it.each(cases)('%s ~ %s -> %s', (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });

  it('nocase', () => {
    expect(globMatch('MAXMEMORY*', 'maxmemory', true)).toBe(true);
    expect(globMatch('MAXMEMORY*', 'maxmemory', false)).toBe(false);
    expect(globMatch('[A-C]x', 'bx', true)).toBe(true);
  });

  it('works on bytes', () => {
    expect(globMatch(Buffer.from('k\xff*', 'latin1'), Buffer.from('k\xffz', 'latin1'))).toBe(true);
  });
});
