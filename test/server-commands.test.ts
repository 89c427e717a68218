/**
 * Server commands against the real server: COMMAND (from the command table), INFO, CONFIG,
 * SHUTDOWN; byte-for-byte comparisons with redis-server 7.0 where it is installed; redis-cli.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startServer, tempDir, type TestServer } from './helpers/server.js';
import { RawClient } from './helpers/raw.js';
import { exchange, haveRedis, haveRedisCli, REDIS_CLI, startRedis, type ReferenceRedis } from './helpers/reply.js';
import { publicCommands, keyIndexes } from '../src/commands/table.js';
import type { CommandSpec } from '../src/commands/types.js';

/** INFO text as section -> field -> value (section names lower case, as the INFO arguments). */
function parseInfo(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const line of text.split('\r\n')) {
    if (line.startsWith('# ')) out.set(line.slice(2).toLowerCase(), (cur = new Map()));
    else if (line !== '') {
      const i = line.indexOf(':');
      cur!.set(line.slice(0, i), line.slice(i + 1));
    }
  }
  return out;
}

function field(info: Map<string, Map<string, string>>, section: string, name: string): string | undefined {
  return info.get(section)?.get(name);
}

/** Every public command and subcommand. */
function allSpecs(): CommandSpec[] {
  return publicCommands().flatMap((c) => [c, ...(c.subcommands ?? [])]);
}

/** Sample arguments for a command: its arity's worth (a few more for "at least n"). */
function sampleArgs(spec: CommandSpec): Buffer[] {
  const n = spec.arity > 0 ? spec.arity : -spec.arity + 3;
  const words = spec.name.split('|');
  const args = words.map((w) => Buffer.from(w));
  for (let i = args.length; i < n; i++) args.push(Buffer.from(`arg${i}`));
  return args;
}

function waitExit(proc: TestServer['proc']): Promise<number | null> {
  if (proc.exitCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
}

describe.each([1, 4])('server commands (%i shards)', (shards) => {
  let server: TestServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startServer({ shards });
    redis = new Redis(server.port, { lazyConnect: false, maxRetriesPerRequest: 0, protocol: 2 });
  }, 30_000);

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  describe('COMMAND', () => {
    it('lists every public command, and only those', async () => {
      const expected = publicCommands().map((c) => c.name).sort();
      const entries = (await redis.call('COMMAND')) as unknown[][];
      expect(entries.map((e) => e[0]).sort()).toEqual(expected);
      expect(await redis.call('COMMAND', 'COUNT')).toBe(expected.length);
      const all = allSpecs().map((c) => c.name).sort();
      expect(((await redis.call('COMMAND', 'LIST')) as string[]).sort()).toEqual(all);
      expect(all.some((n) => n.startsWith('__'))).toBe(false);
      expect(await redis.call('COMMAND', 'INFO', '__dbsize')).toEqual([null]);
      const docs = (await redis.call('COMMAND', 'DOCS')) as unknown[];
      expect(docs.filter((_, i) => i % 2 === 0).sort()).toEqual(expected);
    });

    it('COMMAND INFO: Redis 7.0 layout from the table entry', async () => {
      for (const spec of allSpecs()) {
        const [entry] = (await redis.call('COMMAND', 'INFO', spec.name)) as unknown[][];
        expect(entry![0]).toBe(spec.name);
        expect(entry![1]).toBe(spec.arity);
        expect(entry![2]).toEqual(expect.arrayContaining([...spec.flags]));
        expect(entry!.slice(3, 6)).toEqual(spec.keys ? [spec.keys.first, spec.keys.last, spec.keys.step] : [0, 0, 0]);
        expect([...(entry![6] as string[])].sort()).toEqual(spec.acl.map((a) => '@' + a).sort());
        // Redis' key specs: at least one for a command with keys, none without.
        expect((entry![8] as unknown[]).length > 0).toBe(!!(spec.keys || spec.keyFn));
        expect((entry![9] as unknown[]).length).toBe(spec.subcommands?.length ?? 0);
      }
      const [client] = (await redis.call('COMMAND', 'INFO', 'client')) as unknown[][];
      expect((client![9] as unknown[][]).map((s) => s[0])).toContain('client|kill');
      expect(await redis.call('COMMAND', 'INFO', 'get', 'no-such-command', 'CLIENT|ID')).toEqual([
        expect.arrayContaining(['get']), null, expect.arrayContaining(['client|id']),
      ]);
    });

    it('COMMAND INFO get, byte for byte as Redis 7.0 (RESP2 and RESP3)', async () => {
      const c = await RawClient.connect(server.port);
      expect(await exchange(c, 'COMMAND', 'INFO', 'get')).toBe(
        '*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n' +
        '*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n' +
        '*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n' +
        '$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n');
      await exchange(c, 'HELLO', '3');
      expect(await exchange(c, 'COMMAND', 'INFO', 'get', 'nosuch')).toBe(
        '*2\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n' +
        '~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n' +
        '%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n' +
        '$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n_\r\n');
      c.close();
    });

    it('COMMAND GETKEYS agrees with keyIndexes for every command with keys', async () => {
      let checked = 0;
      for (const spec of allSpecs()) {
        if (spec.subcommands) continue; // GETKEYS <container> <word> names a subcommand
        if (!spec.keys && !spec.keyFn) {
          // GETKEYS needs two words at least; a keyless command is refused before its own arity is checked.
          const args = sampleArgs(spec);
          if (args.length < 2) args.push(Buffer.from('x'));
          await expect(redis.call('COMMAND', 'GETKEYS', ...args)).rejects.toThrow('ERR The command has no key arguments');
          continue;
        }
        const args = sampleArgs(spec);
        let expected: number[];
        try {
          expected = keyIndexes(spec, args);
        } catch {
          continue; // a key function that needs real arguments (numkeys...): not generic
        }
        const call = redis.call('COMMAND', 'GETKEYS', ...args);
        if (expected.length === 0 && !spec.flags.includes('no_mandatory_keys')) {
          await expect(call).rejects.toThrow('ERR Invalid arguments specified for command');
        } else {
          expect(await call).toEqual(expected.map((i) => args[i]!.toString()));
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(0);
      expect(await redis.call('COMMAND', 'GETKEYS', 'del', 'a', 'b', 'c')).toEqual(['a', 'b', 'c']);
      expect(await redis.call('COMMAND', 'GETKEYSANDFLAGS', 'get', 'k')).toEqual([['k', ['RO', 'access']]]);
      expect(await redis.call('COMMAND', 'GETKEYSANDFLAGS', 'lmove', 'a', 'b', 'left', 'right')).toEqual([
        ['a', ['RW', 'access', 'delete']], ['b', ['RW', 'insert']],
      ]);
      expect(await redis.call('COMMAND', 'GETKEYSANDFLAGS', 'set', 'k', 'v')).toEqual([['k', ['OW', 'update']]]);
      expect(await redis.call('COMMAND', 'GETKEYSANDFLAGS', 'set', 'k', 'v', 'get')).toEqual([['k', ['RW', 'access', 'update']]]);
    });

    it('COMMAND GETKEYS reads numkeys as Redis 7.0 does (key specs for an integer, else the key function\'s atoi)', async () => {
      // Each expectation was checked against redis-server 7.0.15.
      const cases: [string[], string[] | null][] = [
        [['zunionstore', 'd', ' 1', 'k'], ['k', 'd']],
        [['zunionstore', 'd', '1abc', 'k'], ['k', 'd']],
        [['zunionstore', 'd', '+1', 'k', 'x'], ['k', 'd']],
        [['zunionstore', 'd', '4294967297', 'k'], ['d', 'k']],
        [['zinterstore', 'd', '2', 'a', 'b'], ['d', 'a', 'b']],
        [['zdiffstore', 'd', ' 2', 'a', 'b'], ['a', 'b', 'd']],
        [['zunion', ' 2', 'a', 'b'], ['a', 'b']],
        [['zinter', '2x', 'a', 'b', 'c'], ['a', 'b']],
        [['zunion', '4294967297', 'a', 'b'], ['a']],
        [['sintercard', ' 1', 'a'], ['a']],
        [['sintercard', '4294967298', 'a', 'b'], ['a', 'b']],
        [['lmpop', '1 ', 'a', 'LEFT'], ['a']],
        [['zmpop', '4294967297', 'a', 'MAX'], ['a']],
        [['zunionstore', 'd', '99999999999999999999', 'k'], null],
        [['zunionstore', 'd', '-0', 'k'], null],
        [['zunionstore', 'd', '0', 'k'], null],
      ];
      for (const [args, keys] of cases) {
        const call = redis.call('COMMAND', 'GETKEYS', ...args);
        if (keys === null) await expect(call, args.join(' ')).rejects.toThrow('ERR Invalid arguments specified for command');
        else expect(await call, args.join(' ')).toEqual(keys);
      }
      // The commands themselves still parse numkeys strictly.
      await expect(redis.call('ZUNIONSTORE', 'd', ' 1', 'k')).rejects.toThrow('ERR value is not an integer or out of range');
      await expect(redis.call('LMPOP', ' 1', 'a', 'LEFT')).rejects.toThrow('ERR numkeys should be greater than 0');
    });

    it('COMMAND GETKEYS errors', async () => {
      await expect(redis.call('COMMAND', 'GETKEYS', 'nosuch', 'x')).rejects.toThrow('ERR Invalid command specified');
      await expect(redis.call('COMMAND', 'GETKEYS', '__dbsize', 'x')).rejects.toThrow('ERR Invalid command specified');
      await expect(redis.call('COMMAND', 'GETKEYS', 'client', 'nosuch')).rejects.toThrow('ERR Invalid command specified');
      await expect(redis.call('COMMAND', 'GETKEYS', 'client', 'list')).rejects.toThrow('ERR The command has no key arguments');
      await expect(redis.call('COMMAND', 'GETKEYS', 'client')).rejects.toThrow('ERR wrong number of arguments for \'command|getkeys\' command');
      await expect(redis.call('COMMAND', 'GETKEYS', 'ping', 'x')).rejects.toThrow('ERR The command has no key arguments');
      await expect(redis.call('COMMAND', 'GETKEYS', 'get', 'a', 'b')).rejects.toThrow('ERR Invalid number of arguments specified for command');
      await expect(redis.call('COMMAND', 'GETKEYS', 'get')).rejects.toThrow('ERR wrong number of arguments for \'command|getkeys\' command');
    });

    it('COMMAND DOCS: Redis\' summary, since, group and arguments; Cairn\'s subcommands', async () => {
      for (const spec of publicCommands()) {
        const [name, doc] = (await redis.call('COMMAND', 'DOCS', spec.name)) as [string, unknown[]];
        expect(name).toBe(spec.name);
        const map = new Map<unknown, unknown>();
        for (let i = 0; i < doc.length; i += 2) map.set(doc[i], doc[i + 1]);
        for (const f of ['summary', 'since', 'group']) expect(typeof map.get(f), `${spec.name} ${f}`).toBe('string');
        expect(map.has('subcommands')).toBe(spec.subcommands !== undefined);
        if (spec.subcommands) {
          const subs = map.get('subcommands') as unknown[];
          expect(subs.filter((_, i) => i % 2 === 0)).toEqual(spec.subcommands.map((s) => s.name));
        }
      }
      // Arguments for redis-cli's hints, keys pointing at their key spec.
      const [, set] = (await redis.call('COMMAND', 'DOCS', 'set')) as [string, unknown[]];
      const args = set[set.indexOf('arguments') + 1] as unknown[][];
      expect(args[0]).toEqual(['name', 'key', 'type', 'key', 'key_spec_index', 0]);
      expect(await redis.call('COMMAND', 'DOCS', 'nosuch')).toEqual([]);
      const c = await RawClient.connect(server.port);
      expect(await exchange(c, 'COMMAND', 'DOCS', 'echo')).toBe(
        '*2\r\n$4\r\necho\r\n*10\r\n$7\r\nsummary\r\n$21\r\nEcho the given string\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n' +
        '$5\r\ngroup\r\n$10\r\nconnection\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n' +
        '$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\nstring\r\n');
      await exchange(c, 'HELLO', '3');
      const docs = await exchange(c, 'COMMAND', 'DOCS', 'client');
      expect(docs.startsWith('%1\r\n$6\r\nclient\r\n%5\r\n')).toBe(true);
      expect(docs).toContain('$11\r\nsubcommands\r\n%');
      expect(docs).toContain('$5\r\nflags\r\n~1\r\n+optional\r\n');
      c.close();
    });

    it('COMMAND LIST FILTERBY and COMMAND HELP', async () => {
      const byPattern = (await redis.call('COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'CL*')) as string[];
      expect(byPattern).toContain('client');
      expect(byPattern).toContain('client|kill');
      expect(byPattern.every((n) => n.startsWith('cl'))).toBe(true);
      const byCat = (await redis.call('COMMAND', 'LIST', 'FILTERBY', 'ACLCAT', 'CONNECTION')) as string[];
      expect(byCat.sort()).toEqual(allSpecs().filter((s) => s.acl.includes('connection')).map((s) => s.name).sort());
      expect(await redis.call('COMMAND', 'LIST', 'FILTERBY', 'ACLCAT', 'nope')).toEqual([]);
      expect(await redis.call('COMMAND', 'LIST', 'FILTERBY', 'MODULE', 'x')).toEqual([]);
      await expect(redis.call('COMMAND', 'LIST', 'FILTERBY', 'FOO', 'x')).rejects.toThrow('ERR syntax error');
      await expect(redis.call('COMMAND', 'LIST', 'FILTERBY')).rejects.toThrow('ERR syntax error');
      await expect(redis.call('COMMAND', 'COUNT', 'x')).rejects.toThrow('ERR wrong number of arguments for \'command|count\' command');
      await expect(redis.call('COMMAND', 'foo')).rejects.toThrow('ERR unknown subcommand \'foo\'. Try COMMAND HELP.');
      const help = (await redis.call('COMMAND', 'HELP')) as string[];
      expect(help[0]).toBe('COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
      expect(help).toContain('GETKEYSANDFLAGS <full-command>');
    });
  });

  describe('INFO', () => {
    it('default sections in Redis\' order, CRLF lines, the fields clients rely on', async () => {
      const text = (await redis.call('INFO')) as string;
      expect(text.split('\r\n').filter((l) => l.startsWith('#'))).toEqual([
        '# Server', '# Clients', '# Memory', '# Persistence', '# Stats', '# Replication', '# CPU', '# Modules',
        '# Errorstats', '# Cluster', '# Keyspace',
      ]);
      expect(text.replace(/\r\n/g, '')).not.toContain('\n');
      expect(text.endsWith('\r\n')).toBe(true);
      const info = parseInfo(text);
      expect(field(info, 'server', 'redis_version')).toBe('7.0.15');
      expect(field(info, 'server', 'redis_mode')).toBe('standalone');
      expect(field(info, 'server', 'tcp_port')).toBe(String(server.port));
      expect(field(info, 'server', 'process_id')).toBe(String(server.proc.pid));
      expect(field(info, 'server', 'cairn_shards')).toBe(String(shards));
      expect(field(info, 'server', 'cairn_version')).toBe('0.1.0');
      expect(field(info, 'server', 'run_id')).toMatch(/^[0-9a-f]{40}$/);
      expect(field(info, 'server', 'config_file')).toBe('');
      expect(field(info, 'persistence', 'loading')).toBe('0');
      expect(field(info, 'replication', 'role')).toBe('master');
      expect(field(info, 'replication', 'connected_slaves')).toBe('0');
      expect(Number(field(info, 'clients', 'connected_clients'))).toBeGreaterThanOrEqual(1);
      expect(field(info, 'clients', 'maxclients')).toBe('10000');
      const used = Number(field(info, 'memory', 'used_memory'));
      expect(used).toBeGreaterThan(0);
      expect(Number(field(info, 'memory', 'used_memory_peak'))).toBeGreaterThanOrEqual(used);
      expect(field(info, 'memory', 'used_memory_human')).toMatch(/^\d+\.\d\dM$/);
      expect(Number(field(info, 'cpu', 'used_cpu_user'))).toBeGreaterThan(0);
      expect(field(info, 'cluster', 'cluster_enabled')).toBe('0');
    });

    it('section arguments: one, several, all, everything, unknown', async () => {
      const headers = async (...args: string[]): Promise<string[]> =>
        ((await redis.call('INFO', ...args)) as string).split('\r\n').filter((l) => l.startsWith('#'));
      expect(await headers('server')).toEqual(['# Server']);
      expect(await headers('KEYSPACE', 'server')).toEqual(['# Server', '# Keyspace']);
      expect(await headers('commandstats')).toEqual(['# Commandstats']);
      expect(await headers('all')).toEqual([
        '# Server', '# Clients', '# Memory', '# Persistence', '# Stats', '# Replication', '# CPU', '# Modules',
        '# Commandstats', '# Errorstats', '# Latencystats', '# Cluster', '# Keyspace',
      ]);
      expect(await headers('everything')).toEqual(await headers('all'));
      expect(await headers('default', 'commandstats')).toContain('# Commandstats');
      expect(await redis.call('INFO', 'nosuch')).toBe('');
    });

    it('RESP3: a verbatim string', async () => {
      const c = await RawClient.connect(server.port);
      await exchange(c, 'HELLO', '3');
      const reply = await exchange(c, 'INFO', 'cluster');
      expect(reply).toBe('=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n');
      c.close();
    });

    it('keyspace and stats come from every shard; CONFIG RESETSTAT zeroes the stats', async () => {
      const c = new Redis(server.port, { lazyConnect: false, maxRetriesPerRequest: 0, protocol: 2 });
      expect(await c.call('CONFIG', 'RESETSTAT')).toBe('OK');
      for (let i = 0; i < 20; i++) await c.set(`ks:${i}`, 'v');
      await c.call('SELECT', '2');
      for (let i = 0; i < 3; i++) await c.set(`ks2:${i}`, 'v');
      for (let i = 0; i < 5; i++) await c.get(`ks2:${i}`); // 3 hits, 2 misses
      await expect(c.call('SET', 'ks2:0', 'v', 'BADOPT')).rejects.toThrow('ERR syntax error'); // fails on a shard
      await expect(c.call('SELECT', '99')).rejects.toThrow('ERR DB index is out of range'); // fails on the front
      await expect(c.call('GET')).rejects.toThrow('ERR wrong number of arguments'); // rejected
      await expect(c.call('NOSUCHCMD')).rejects.toThrow('ERR unknown command');
      const info = parseInfo((await c.call('INFO', 'everything')) as string);
      expect(field(info, 'keyspace', 'db2')).toBe('keys=3,expires=0,avg_ttl=0');
      expect(field(info, 'keyspace', 'db0')).toMatch(/^keys=\d+,expires=0,avg_ttl=0$/);
      expect(Number(field(info, 'keyspace', 'db0')!.match(/keys=(\d+)/)![1])).toBeGreaterThanOrEqual(20);
      expect(field(info, 'stats', 'keyspace_hits')).toBe('3');
      expect(field(info, 'stats', 'keyspace_misses')).toBe('2');
      expect(field(info, 'commandstats', 'cmdstat_get')).toMatch(/^calls=5,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=1,failed_calls=0$/);
      expect(field(info, 'commandstats', 'cmdstat_set')).toMatch(/^calls=24,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=1$/);
      expect(field(info, 'commandstats', 'cmdstat_select')).toMatch(/,rejected_calls=0,failed_calls=1$/);
      expect(field(info, 'commandstats', 'cmdstat_config|resetstat')).toBeUndefined(); // zeroed by itself
      expect(field(info, 'errorstats', 'errorstat_ERR')).toBe('count=4');
      expect(field(info, 'stats', 'total_error_replies')).toBe('4');
      expect(Number(field(info, 'stats', 'total_commands_processed'))).toBeGreaterThanOrEqual(30);
      expect(Number(field(info, 'stats', 'total_net_input_bytes'))).toBeGreaterThan(0);

      expect(await c.call('CONFIG', 'RESETSTAT')).toBe('OK');
      const after = parseInfo((await c.call('INFO', 'everything')) as string);
      expect(field(after, 'stats', 'keyspace_hits')).toBe('0');
      expect(field(after, 'stats', 'keyspace_misses')).toBe('0');
      expect(field(after, 'stats', 'total_error_replies')).toBe('0');
      expect(field(after, 'stats', 'total_connections_received')).toBe('0');
      expect(field(after, 'commandstats', 'cmdstat_get')).toBeUndefined();
      expect(after.get('errorstats')!.size).toBe(0);
      expect(field(after, 'keyspace', 'db2')).toBe('keys=3,expires=0,avg_ttl=0'); // data is not a statistic
      c.disconnect();
    });
  });

  describe('CONFIG', () => {
    it('GET: exact names (echoed as given), glob patterns (case-insensitive), several at once without duplicates', async () => {
      expect(await redis.call('CONFIG', 'GET', 'databases')).toEqual(['databases', '16']);
      expect(await redis.call('CONFIG', 'GET', 'DATABASES')).toEqual(['DATABASES', '16']);
      const mm = (await redis.call('CONFIG', 'GET', 'MAXMEMORY*')) as string[];
      expect(mm.filter((_, i) => i % 2 === 0).sort()).toEqual(['maxmemory', 'maxmemory-policy', 'maxmemory-samples']);
      const two = (await redis.call('CONFIG', 'GET', 'port', 'hz', 'port', 'h?')) as string[];
      expect(two).toEqual(['port', String(server.port === 0 ? 0 : 0), 'hz', '10']);
      expect(await redis.call('CONFIG', 'GET', 'nosuch')).toEqual([]);
      expect(await redis.call('CONFIG', 'GET', '[sd]ave')).toEqual(['save', '3600 1 300 100 60 10000']);
      const all = (await redis.call('CONFIG', 'GET', '*')) as string[];
      expect(all.length / 2).toBeGreaterThan(40);
      await expect(redis.call('CONFIG', 'GET')).rejects.toThrow('ERR wrong number of arguments for \'config|get\' command');
    });

    it('SET: several at once, all or nothing, Redis\' errors', async () => {
      expect(await redis.call('CONFIG', 'SET', 'timeout', '100', 'maxmemory', '1GB', 'loglevel', 'WARNING')).toBe('OK');
      expect(await redis.call('CONFIG', 'GET', 'timeout')).toEqual(['timeout', '100']);
      expect(await redis.call('CONFIG', 'GET', 'maxmemory')).toEqual(['maxmemory', '1073741824']);
      expect(await redis.call('CONFIG', 'GET', 'loglevel')).toEqual(['loglevel', 'warning']);
      const fail = (args: string[], msg: string) => expect(redis.call('CONFIG', 'SET', ...args)).rejects.toThrow(msg);
      await fail(['timeout', '5', 'maxmemory-policy', 'foo'],
        'ERR CONFIG SET failed (possibly related to argument \'maxmemory-policy\') - argument(s) must be one of the following: ' +
        'volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction');
      expect(await redis.call('CONFIG', 'GET', 'timeout')).toEqual(['timeout', '100']); // nothing applied
      await fail(['port', '1'], 'ERR CONFIG SET failed (possibly related to argument \'port\') - can\'t set immutable config');
      await fail(['timeout', '1', 'DATABASES', '3'], 'ERR CONFIG SET failed (possibly related to argument \'DATABASES\') - can\'t set immutable config');
      await fail(['nosuch', '1'], 'ERR Unknown option or number of arguments for CONFIG SET - \'nosuch\'');
      await fail(['timeout', 'abc', 'nosuch', '1'], 'ERR Unknown option or number of arguments for CONFIG SET - \'nosuch\'');
      await fail(['timeout', '1', 'TIMEOUT', '2'], 'ERR CONFIG SET failed (possibly related to argument \'TIMEOUT\') - duplicate parameter');
      await fail(['TIMEOUT', 'abc'], 'ERR CONFIG SET failed (possibly related to argument \'timeout\') - argument couldn\'t be parsed into an integer');
      await fail(['timeout', '+5'], 'argument couldn\'t be parsed into an integer');
      await fail(['timeout', '-1'], 'ERR CONFIG SET failed (possibly related to argument \'timeout\') - argument must be between 0 and 2147483647 inclusive');
      await fail(['maxmemory', '12x'], 'ERR CONFIG SET failed (possibly related to argument \'maxmemory\') - argument must be a memory value');
      await fail(['appendonly', 'maybe'], 'ERR CONFIG SET failed (possibly related to argument \'appendonly\') - argument must be \'yes\' or \'no\'');
      await fail(['timeout', '1', 'maxclients'], 'ERR syntax error');
      // Redis 7.0's numeric types (checked against redis-server): 64-bit bounds, memory units for
      // byte sizes, hz clamped into 1..500, memtoull saturating at 2^64-1.
      const set = async (name: string, value: string): Promise<string> => {
        expect(await redis.call('CONFIG', 'SET', name, value)).toBe('OK');
        return ((await redis.call('CONFIG', 'GET', name)) as string[])[1]!;
      };
      expect(await set('hz', '1000')).toBe('500');
      expect(await set('hz', '0')).toBe('1');
      expect(await set('hz', '10')).toBe('10');
      await fail(['hz', '-1'], '- argument must be between 0 and 2147483647 inclusive');
      expect(await set('set-max-intset-entries', '9223372036854775807')).toBe('9223372036854775807');
      await fail(['set-max-intset-entries', '-1'], '- argument must be between 0 and 9223372036854775807 inclusive');
      await fail(['set-max-intset-entries', '9223372036854775808'], '- argument couldn\'t be parsed into an integer');
      expect(await set('hash-max-listpack-value', '1kb')).toBe('1024');
      await fail(['hash-max-listpack-value', '18446744073709551616'], '- argument must be between 0 and 9223372036854775807 inclusive');
      expect(await set('maxmemory', '18446744073709551616')).toBe('18446744073709551615');
      expect(await set('maxmemory', '1GB')).toBe('1073741824');
      expect(((await redis.call('CONFIG', 'GET', 'hash-max-listpack-entries')) as string[])[1]).toBe('512');
      // The ziplist names are aliases: one setting, two names, both listed by a pattern.
      expect(await set('hash-max-ziplist-entries', '100')).toBe('100');
      expect(await redis.call('CONFIG', 'GET', 'hash-max-*-entries')).toEqual(['hash-max-listpack-entries', '100', 'hash-max-ziplist-entries', '100']);
      expect(await redis.call('CONFIG', 'SET', 'list-max-ziplist-size', '1', 'list-max-listpack-size', '2')).toBe('OK');
      expect(await redis.call('CONFIG', 'GET', 'list-max-ziplist-size')).toEqual(['list-max-ziplist-size', '2']);
      await fail(['zset-max-listpack-entries', '3', 'zset-max-ziplist-entries', 'x'],
        'ERR CONFIG SET failed (possibly related to argument \'zset-max-ziplist-entries\') - argument couldn\'t be parsed into an integer');
      // `save` is checked as Redis checks it (found by the fuzzer), though it has no effect here.
      for (const bad of ['1', 'x 1', '0 1', '5 -1', '5 1x', '5  1', ' ']) {
        await fail(['save', bad], 'ERR CONFIG SET failed (possibly related to argument \'save\') - Invalid save parameters');
      }
      for (const good of ['', '5 1', '+5 0', '3600 1 300 100', '5 ']) expect(await redis.call('CONFIG', 'SET', 'save', good)).toBe('OK');
      await fail(['timeout'], 'ERR wrong number of arguments for \'config|set\' command');
      expect(await redis.call('CONFIG', 'SET', 'timeout', '0', 'maxmemory', '0', 'loglevel', 'notice')).toBe('OK');
    });

    it('SET takes effect at once: maxclients refuses the next connection', async () => {
      const info = parseInfo((await redis.call('INFO', 'clients')) as string);
      const connected = Number(field(info, 'clients', 'connected_clients'));
      expect(await redis.call('CONFIG', 'SET', 'maxclients', String(connected))).toBe('OK');
      try {
        const c = await RawClient.connect(server.port);
        expect(await c.readLike('-ERR max number of clients reached\r\n')).toBe('-ERR max number of clients reached\r\n');
        c.close();
      } finally {
        expect(await redis.call('CONFIG', 'SET', 'maxclients', '10000')).toBe('OK');
      }
    });

    it('REWRITE without a config file, HELP', async () => {
      await expect(redis.call('CONFIG', 'REWRITE')).rejects.toThrow('ERR The server is running without a config file');
      const help = (await redis.call('CONFIG', 'HELP')) as string[];
      expect(help).toEqual([
        'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
        'GET <pattern>', '    Return parameters matching the glob-like <pattern> and their values.',
        'SET <directive> <value>', '    Set the configuration <directive> to <value>.',
        'RESETSTAT', '    Reset statistics reported by the INFO command.',
        'REWRITE', '    Rewrite the configuration file.',
        'HELP', '    Prints this help.',
      ]);
      await expect(redis.call('CONFIG', 'RESETSTAT', 'x')).rejects.toThrow('ERR wrong number of arguments for \'config|resetstat\' command');
    });
  });

  it('SHUTDOWN: the process exits 0 and the data survives a restart', async () => {
    const dir = tempDir();
    const s = await startServer({ shards, dir });
    const c = new Redis(s.port, { lazyConnect: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    for (let i = 0; i < 50; i++) await c.set(`persist:${i}`, `value-${i}`);
    await expect(c.call('SHUTDOWN', 'ABORT')).rejects.toThrow('ERR No shutdown in progress.');
    await expect(c.call('SHUTDOWN', 'SAVE', 'NOSAVE')).rejects.toThrow('ERR syntax error');
    await expect(c.call('SHUTDOWN', 'NOW', 'ABORT')).rejects.toThrow('ERR syntax error');
    await expect(c.call('SHUTDOWN', 'bogus')).rejects.toThrow('ERR syntax error');
    void c.call('SHUTDOWN', 'NOSAVE', 'NOW').catch(() => undefined);
    expect(await waitExit(s.proc)).toBe(0);
    expect(s.output()).toContain('Cairn is now ready to exit, bye bye...');
    c.disconnect();

    const again = await startServer({ shards, dir });
    const c2 = new Redis(again.port, { lazyConnect: false, maxRetriesPerRequest: 0 });
    try {
      expect(await c2.dbsize()).toBe(50);
      expect(await c2.get('persist:0')).toBe('value-0');
      expect(await c2.get('persist:49')).toBe('value-49');
    } finally {
      c2.disconnect();
      await again.stop();
    }
  }, 30_000);
});

describe('CONFIG REWRITE with a config file', () => {
  it('updates the file in place, keeps comments, appends changed options; a restart reads it back', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'cairn.conf');
    fs.writeFileSync(file, '# my settings\nhz 15\n\n# policy below\nmaxmemory-policy noeviction\nhz 16\n');
    const s = await startServer({ configFile: file, dir: path.join(dir, 'data') });
    const c = new Redis(s.port, { lazyConnect: false, maxRetriesPerRequest: 0 });
    try {
      expect(await c.call('CONFIG', 'GET', 'hz')).toEqual(['hz', '16']); // the last line wins
      const info = parseInfo((await c.call('INFO', 'server')) as string);
      expect(field(info, 'server', 'config_file')).toBe(file);
      expect(await c.call('CONFIG', 'SET', 'hz', '20', 'maxmemory-policy', 'allkeys-lru', 'timeout', '30')).toBe('OK');
      expect(await c.call('CONFIG', 'REWRITE')).toBe('OK');
      const text = fs.readFileSync(file, 'utf8');
      expect(text.startsWith('# my settings\nhz 20\n\n# policy below\nmaxmemory-policy allkeys-lru\n# Generated by CONFIG REWRITE\n')).toBe(true);
      expect(text.match(/^hz /gm)).toHaveLength(1);
      expect(text).toContain('\ntimeout 30\n');
      expect(text).not.toContain('\ntcp-keepalive'); // at its default and not in the file: left out
    } finally {
      c.disconnect();
      expect(await s.stop()).toBe(0);
    }
    const again = await startServer({ configFile: file, dir: path.join(dir, 'data') });
    const c2 = new Redis(again.port, { lazyConnect: false, maxRetriesPerRequest: 0 });
    try {
      expect(await c2.call('CONFIG', 'GET', 'hz')).toEqual(['hz', '20']);
      expect(await c2.call('CONFIG', 'GET', 'timeout')).toEqual(['timeout', '30']);
      expect(await c2.call('CONFIG', 'GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
    } finally {
      c2.disconnect();
      await again.stop();
    }
  }, 30_000);
});

describe.skipIf(!haveRedis)('replies byte for byte as redis-server 7.0', () => {
  let cairn: TestServer;
  let ref: ReferenceRedis;

  beforeAll(async () => {
    [cairn, ref] = await Promise.all([startServer({ shards: 2 }), startRedis()]);
  }, 30_000);

  afterAll(async () => {
    await Promise.all([cairn?.stop(), ref?.stop()]);
  });

  /** Runs the same commands on both servers, on one connection each, and compares every reply. */
  async function compare(commands: string[][]): Promise<void> {
    const [a, b] = await Promise.all([RawClient.connect(cairn.port), RawClient.connect(ref.port)]);
    try {
      for (const cmd of commands) {
        const [mine, theirs] = [await exchange(a, ...cmd), await exchange(b, ...cmd)];
        expect({ cmd, reply: mine }).toEqual({ cmd, reply: theirs });
      }
    } finally {
      a.close();
      b.close();
    }
  }

  it('connection commands', async () => {
    await compare([
      ['HELLO', '4'], ['HELLO', 'abc'], ['HELLO', '3', 'FOO'], ['HELLO', '3', 'AUTH', 'x'], ['HELLO', '3', 'SETNAME', 'a b'],
      ['HELLO', '3', 'AUTH', 'bob', 'pw'], ['AUTH', 'x'], ['AUTH', 'bob', 'x'], ['AUTH', 'default', 'x'], ['AUTH', 'a', 'b', 'c'],
      ['CLIENT'], ['CLIENT', 'foo'], ['CLIENT', 'GETNAME'], ['CLIENT', 'SETNAME', 'a\nb'], ['CLIENT', 'SETNAME', 'ok-name'],
      ['CLIENT', 'GETNAME'], ['CLIENT', 'SETNAME', ''], ['CLIENT', 'GETNAME'], ['CLIENT', 'GETREDIR'],
      ['CLIENT', 'LIST', 'TYPE', 'foo'], ['CLIENT', 'LIST', 'ID', 'x'], ['CLIENT', 'LIST', 'foo'], ['CLIENT', 'LIST', 'ID', '99999'],
      ['CLIENT', 'KILL', 'ID', '0'], ['CLIENT', 'KILL', 'ID', 'x'], ['CLIENT', 'KILL', 'ID', '99999'], ['CLIENT', 'KILL', '1.2.3.4:5'],
      ['CLIENT', 'KILL', 'TYPE', 'x'], ['CLIENT', 'KILL', 'USER', 'nobody'], ['CLIENT', 'KILL', 'SKIPME', 'x'], ['CLIENT', 'KILL', 'a', 'b', 'c'],
      ['SELECT', '16'], ['SELECT', 'x'], ['RESET'], ['PING', 'a', 'b'],
      ['CLIENT', 'GETNAME'], ['CONFIG', 'GET', 'databases'], ['RESET'],
    ]);
  });

  it('COMMAND, CONFIG, INFO and SHUTDOWN texts', async () => {
    await compare([
      ['COMMAND', 'INFO', 'get', 'nosuch'], ['COMMAND', 'GETKEYS', 'get', 'a'], ['COMMAND', 'GETKEYS', 'nosuch', 'x'],
      ['COMMAND', 'GETKEYS', 'ping', 'x'], ['COMMAND', 'GETKEYS', 'get', 'a', 'b'], ['COMMAND', 'GETKEYS', 'client', 'x'],
      ['COMMAND', 'GETKEYS', 'client', 'list'], ['COMMAND', 'GETKEYS', 'get'], ['COMMAND', 'GETKEYSANDFLAGS', 'get', 'k'],
      ['COMMAND', 'LIST', 'FILTERBY', 'MODULE', 'x'], ['COMMAND', 'LIST', 'FILTERBY', 'ACLCAT', 'nope'], ['COMMAND', 'LIST', 'foo'],
      ['COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'ech*'], ['COMMAND', 'DOCS', 'nosuch'], ['COMMAND', 'HELP'], ['COMMAND', 'foo'],
      ['COMMAND', 'COUNT', 'x'],
      ['CONFIG', 'GET', 'maxmemory-policy'], ['CONFIG', 'GET', 'MAXMEMORY'], ['CONFIG', 'GET', 'nosuch'], ['CONFIG', 'GET', 'databases', 'databases'],
      ['CONFIG', 'SET', 'timeout', 'abc'], ['CONFIG', 'SET', 'timeout', '-1'], ['CONFIG', 'SET', 'timeout', ' 5'],
      ['CONFIG', 'SET', 'nosuch', '1'], ['CONFIG', 'SET', 'timeout', '1', 'timeout', '2'], ['CONFIG', 'SET', 'timeout'],
      ['CONFIG', 'SET', 'timeout', '1', 'maxclients'], ['CONFIG', 'SET', 'daemonize', 'yes'], ['CONFIG', 'SET', 'appendonly', 'maybe'],
      ['CONFIG', 'SET', 'maxmemory', '12x'], ['CONFIG', 'SET', 'maxmemory', '-1'], ['CONFIG', 'SET', 'maxmemory-policy', 'foo'],
      ['CONFIG', 'SET', 'timeout', '7', 'maxmemory-policy', 'foo'], ['CONFIG', 'GET', 'timeout'],
      ['CONFIG', 'SET', 'maxmemory', '2gb', 'timeout', '0'], ['CONFIG', 'GET', 'maxmemory'], ['CONFIG', 'SET', 'maxmemory', '0'],
      ['CONFIG', 'SET', 'loglevel', 'WARNING'], ['CONFIG', 'GET', 'loglevel'], ['CONFIG', 'SET', 'loglevel', 'notice'],
      ['CONFIG', 'HELP'], ['CONFIG', 'RESETSTAT', 'x'], ['CONFIG', 'REWRITE'], ['CONFIG', 'foo'],
      ['INFO', 'nosuch'], ['INFO', 'cluster'],
      ['SHUTDOWN', 'ABORT'], ['SHUTDOWN', 'SAVE', 'NOSAVE'], ['SHUTDOWN', 'foo'], ['SHUTDOWN', 'ABORT', 'NOW'],
      ['PING'],
    ]);
  });

  it('COMMAND INFO and DOCS of every command as Redis 7.0 gives them, in RESP2 and RESP3', async () => {
    const [a, b] = await Promise.all([RawClient.connect(cairn.port), RawClient.connect(ref.port)]);
    try {
      for (const resp of ['2', '3']) {
        await Promise.all([exchange(a, 'HELLO', resp), exchange(b, 'HELLO', resp)]);
        for (const spec of allSpecs()) {
          if (spec.subcommands) continue; // containers list Cairn's subcommands: below
          for (const sub of ['INFO', 'DOCS']) {
            const cmd = ['COMMAND', sub, spec.name];
            expect({ cmd, resp, reply: await exchange(a, ...cmd) }).toEqual({ cmd, resp, reply: await exchange(b, ...cmd) });
          }
        }
      }
    } finally {
      a.close();
      b.close();
    }
    // A container (CLIENT, CONFIG, OBJECT, COMMAND): the same entry but for the subcommands.
    const [x, y] = [new Redis(cairn.port, { maxRetriesPerRequest: 0 }), new Redis(ref.port, { maxRetriesPerRequest: 0 })];
    try {
      for (const spec of publicCommands().filter((c) => c.subcommands)) {
        const [[mine], [theirs]] = (await Promise.all([x.call('COMMAND', 'INFO', spec.name), y.call('COMMAND', 'INFO', spec.name)])) as unknown[][][];
        expect(mine!.slice(0, 9)).toEqual(theirs!.slice(0, 9));
        const docs = async (r: Redis): Promise<unknown[]> => {
          const [, doc] = (await r.call('COMMAND', 'DOCS', spec.name)) as [string, unknown[]];
          return doc.slice(0, doc.indexOf('subcommands'));
        };
        expect(await docs(x)).toEqual(await docs(y));
      }
    } finally {
      x.disconnect();
      y.disconnect();
    }
  });

  it('COMMAND GETKEYS and GETKEYSANDFLAGS read the key specs as Redis 7.0 does', async () => {
    const lines: string[][] = [];
    for (const spec of allSpecs()) {
      if (spec.subcommands || (!spec.keys && !spec.keyFn)) continue;
      lines.push(sampleArgs(spec).map((b) => b.toString()));
    }
    lines.push(
      ['set', 'k', 'v'], ['set', 'k', 'v', 'GET'], ['set', 'k', 'v', 'EX', '1', 'get'], ['set', 'k', 'v', 'getx'],
      ['lmove', 'a', 'b', 'LEFT', 'RIGHT'], ['rpoplpush', 'a', 'b'], ['smove', 'a', 'b', 'm'], ['rename', 'a', 'b'],
      ['renamenx', 'a', 'b'], ['copy', 'a', 'b', 'DB', '1'], ['move', 'a', '1'], ['del', 'a', 'b', 'c'], ['unlink', 'a'],
      ['mset', 'a', '1', 'b', '2'], ['msetnx', 'a', '1', 'b'], ['mget', 'a', 'b'], ['getdel', 'a'], ['getex', 'a', 'PERSIST'],
      ['zunionstore', 'd', '2', 'a', 'b', 'WEIGHTS', '1', '2'], ['zinterstore', 'd', '1', 'a'], ['zdiffstore', 'd', '3', 'a', 'b'],
      ['zunion', '2', 'a', 'b', 'WITHSCORES'], ['zinter', '1', 'a'], ['zdiff', '2', 'a'], ['zintercard', '2', 'a', 'b', 'LIMIT', '1'],
      ['zrangestore', 'd', 's', '0', '-1'], ['sinterstore', 'd', 'a', 'b'], ['sunionstore', 'd', 'a'], ['sdiffstore', 'd', 'a', 'b'],
      ['sintercard', '2', 'a', 'b'], ['sintercard', '3', 'a', 'b'], ['lmpop', '2', 'a', 'b', 'LEFT', 'COUNT', '2'], ['lmpop', 'x', 'a', 'LEFT'],
      ['zmpop', '1', 'a', 'MIN'], ['zmpop', '0', 'a', 'MIN'], ['exists', 'a', 'b'], ['touch', 'a'], ['object', 'encoding', 'k'],
      ['hset', 'h', 'f', 'v'], ['lpush', 'l', 'a'], ['zadd', 'z', '1', 'm'], ['sadd', 's', 'm'], ['incr', 'n'], ['expire', 'k', '1'],
    );
    const commands: string[][] = [];
    for (const line of lines) commands.push(['COMMAND', 'GETKEYS', ...line], ['COMMAND', 'GETKEYSANDFLAGS', ...line]);
    await compare(commands);
  });

  it('RESP3 replies after HELLO 3', async () => {
    const [a, b] = await Promise.all([RawClient.connect(cairn.port), RawClient.connect(ref.port)]);
    try {
      await exchange(a, 'HELLO', '3');
      await exchange(b, 'HELLO', '3');
      for (const cmd of [['GET', 'no-such-key'], ['CONFIG', 'GET', 'databases'], ['COMMAND', 'INFO', 'get', 'nosuch'], ['INFO', 'cluster'],
        ['COMMAND', 'DOCS', 'nosuch'], ['CLIENT', 'GETNAME'], ['COMMAND', 'GETKEYSANDFLAGS', 'get', 'k'], ['RESET'], ['GET', 'no-such-key']]) {
        expect({ cmd, reply: await exchange(a, ...cmd) }).toEqual({ cmd, reply: await exchange(b, ...cmd) });
      }
    } finally {
      a.close();
      b.close();
    }
  });
});

describe.skipIf(!haveRedisCli || !fs.existsSync('/usr/bin/script'))('interactive redis-cli', () => {
  it('starts (reading COMMAND DOCS for its help), runs commands, prints replies', async () => {
    const s = await startServer({ shards: 2 });
    try {
      // `script` gives redis-cli a terminal; TERM=dumb keeps its line editor simple.
      const out = execFileSync('/bin/sh', ['-c',
        `(sleep 0.3; printf 'set cli:x 42\\nget cli:x\\nconfig get databases\\n'; sleep 0.7) | ` +
        `script -qc "${REDIS_CLI} -p ${s.port}" /dev/null`], { encoding: 'utf8', env: { ...process.env, TERM: 'dumb' }, timeout: 15_000 });
      expect(out).toContain('"42"');
      expect(out).toContain('"databases"');
      const c = new Redis(s.port, { lazyConnect: false, maxRetriesPerRequest: 0 });
      const info = parseInfo((await c.call('INFO', 'commandstats')) as string);
      expect(field(info, 'commandstats', 'cmdstat_command|docs')).toMatch(/^calls=1,/);
      c.disconnect();
    } finally {
      await s.stop();
    }
  }, 30_000);
});
