/**
 * Connection commands against the real server: HELLO (RESP3 switch, exact bytes), RESET, AUTH,
 * CLIENT ID/SETNAME/GETNAME/INFO/LIST/KILL/HELP, and redis-cli talking to Cairn.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { RawClient } from './helpers/raw.js';
import { exchange, haveRedisCli, REDIS_CLI } from './helpers/reply.js';

const helloMap = (proto: number, id: number): string =>
  `%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:${proto}\r\n` +
  `$2\r\nid\r\n:${id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n`;

/** The same reply in RESP2: a flat array of 14. */
const helloArray = (id: number): string =>
  `*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n` +
  `$2\r\nid\r\n:${id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n`;

/** Parses CLIENT LIST / CLIENT INFO text into one field map per line. */
function parseClientLines(text: string): Record<string, string>[] {
  return text.split('\n').filter(Boolean).map((line) => {
    const fields: Record<string, string> = {};
    for (const kv of line.split(' ')) {
      const i = kv.indexOf('=');
      fields[kv.slice(0, i)] = kv.slice(i + 1);
    }
    return fields;
  });
}

describe.each([1, 4])('connection commands (%i shards)', (shards) => {
  let server: TestServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await startServer({ shards });
    redis = new Redis(server.port, { lazyConnect: false, maxRetriesPerRequest: 0 });
  }, 30_000);

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  async function raw(): Promise<RawClient> {
    return RawClient.connect(server.port);
  }

  it('HELLO 3 switches to RESP3: the server map, then RESP3 nulls, maps and doubles from the shards', async () => {
    const c = await raw();
    const id = Number((await exchange(c, 'CLIENT', 'ID')).slice(1, -2));
    expect(await exchange(c, 'HELLO', '3')).toBe(helloMap(3, id));
    expect(await exchange(c, 'GET', 'missing-key')).toBe('_\r\n');
    expect(await exchange(c, 'CONFIG', 'GET', 'hz')).toBe('%1\r\n$2\r\nhz\r\n$2\r\n10\r\n');
    expect(await exchange(c, 'CLIENT', 'GETNAME')).toBe('_\r\n');
    const info = await exchange(c, 'CLIENT', 'INFO');
    expect(info).toMatch(/^=\d+\r\ntxt:id=\d+ addr=/);
    expect(info).toContain(' resp=3\n\r\n');
    // HELLO 2 goes back, and replies in RESP2.
    expect(await exchange(c, 'HELLO', '2')).toBe(helloArray(id));
    expect(await exchange(c, 'GET', 'missing-key')).toBe('$-1\r\n');
    c.close();
  });

  it('HELLO without a version replies in the current protocol', async () => {
    const c = await raw();
    const id = Number((await exchange(c, 'CLIENT', 'ID')).slice(1, -2));
    expect(await exchange(c, 'HELLO')).toBe(helloArray(id));
    c.close();
  });

  it('HELLO errors: version, options, names, and AUTH of an unknown user; nothing changes', async () => {
    const c = await raw();
    expect(await exchange(c, 'HELLO', '4')).toBe('-NOPROTO unsupported protocol version\r\n');
    expect(await exchange(c, 'HELLO', '1')).toBe('-NOPROTO unsupported protocol version\r\n');
    expect(await exchange(c, 'HELLO', 'abc')).toBe('-ERR Protocol version is not an integer or out of range\r\n');
    expect(await exchange(c, 'HELLO', '3', 'FOO')).toBe('-ERR Syntax error in HELLO option \'FOO\'\r\n');
    expect(await exchange(c, 'HELLO', '3', 'AUTH', 'a')).toBe('-ERR Syntax error in HELLO option \'AUTH\'\r\n');
    expect(await exchange(c, 'HELLO', '3', 'SETNAME')).toBe('-ERR Syntax error in HELLO option \'SETNAME\'\r\n');
    expect(await exchange(c, 'HELLO', '3', 'SETNAME', 'a b'))
      .toBe('-ERR Client names cannot contain spaces, newlines or special characters.\r\n');
    expect(await exchange(c, 'HELLO', '3', 'AUTH', 'bob', 'pw', 'SETNAME', 'x'))
      .toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    // Still RESP2 and unnamed.
    expect(await exchange(c, 'GET', 'missing-key')).toBe('$-1\r\n');
    expect(await exchange(c, 'CLIENT', 'GETNAME')).toBe('$-1\r\n');
    c.close();
  });

  it('HELLO 3 AUTH default <any> SETNAME name: no password is configured, so the default user gets in', async () => {
    const c = await raw();
    const reply = await exchange(c, 'HELLO', '3', 'AUTH', 'default', 'whatever', 'SETNAME', 'conn-1');
    expect(reply.startsWith('%7\r\n')).toBe(true);
    expect(await exchange(c, 'CLIENT', 'GETNAME')).toBe('$6\r\nconn-1\r\n');
    c.close();
  });

  it('RESET: back to RESP2, db 0, no name', async () => {
    const c = await raw();
    await exchange(c, 'HELLO', '3', 'SETNAME', 'temp');
    expect(await exchange(c, 'SELECT', '5')).toBe('+OK\r\n');
    expect(await exchange(c, 'RESET')).toBe('+RESET\r\n');
    expect(await exchange(c, 'GET', 'missing-key')).toBe('$-1\r\n');
    expect(await exchange(c, 'CLIENT', 'GETNAME')).toBe('$-1\r\n');
    const info = await exchange(c, 'CLIENT', 'INFO');
    expect(info).toContain(' db=0 ');
    expect(info).toContain(' resp=2\n');
    c.close();
  });

  it('AUTH with no password configured', async () => {
    await expect(redis.call('AUTH', 'secret')).rejects.toThrow(
      'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
    expect(await redis.call('AUTH', 'default', 'anything')).toBe('OK');
    await expect(redis.call('AUTH', 'bob', 'x')).rejects.toThrow('WRONGPASS invalid username-password pair or user is disabled.');
    await expect(redis.call('AUTH', 'a', 'b', 'c')).rejects.toThrow('ERR syntax error');
  });

  it('CLIENT ID, SETNAME and GETNAME', async () => {
    const c = new Redis(server.port, { lazyConnect: false, maxRetriesPerRequest: 0 });
    const id = (await c.call('CLIENT', 'ID')) as number;
    expect(id).toBeGreaterThan(0);
    expect(await c.call('CLIENT', 'GETNAME')).toBeNull();
    expect(await c.call('CLIENT', 'SETNAME', 'worker-7')).toBe('OK');
    expect(await c.call('CLIENT', 'GETNAME')).toBe('worker-7');
    for (const bad of ['a b', 'a\nb', 'é', 'tab\there']) {
      await expect(c.call('CLIENT', 'SETNAME', bad)).rejects.toThrow(
        'ERR Client names cannot contain spaces, newlines or special characters.');
    }
    expect(await c.call('CLIENT', 'GETNAME')).toBe('worker-7');
    expect(await c.call('CLIENT', 'SETNAME', '')).toBe('OK');
    expect(await c.call('CLIENT', 'GETNAME')).toBeNull();
    await expect(c.call('CLIENT', 'SETNAME', 'a', 'b')).rejects.toThrow('ERR wrong number of arguments for \'client|setname\' command');
    c.disconnect();
  });

  it('CLIENT with no or an unknown subcommand', async () => {
    await expect(redis.call('CLIENT')).rejects.toThrow('ERR wrong number of arguments for \'client\' command');
    await expect(redis.call('CLIENT', 'foo')).rejects.toThrow('ERR unknown subcommand \'foo\'. Try CLIENT HELP.');
  });

  it('CLIENT INFO and CLIENT LIST in Redis\' field format', async () => {
    const c = new Redis(server.port, { lazyConnect: false, maxRetriesPerRequest: 0, protocol: 2 });
    await c.call('CLIENT', 'SETNAME', 'lister');
    await c.call('SELECT', '3');
    const id = (await c.call('CLIENT', 'ID')) as number;
    const info = (await c.call('CLIENT', 'INFO')) as string;
    expect(info.endsWith('\n')).toBe(true);
    const [me] = parseClientLines(info);
    expect(Object.keys(me!)).toEqual([
      'id', 'addr', 'laddr', 'fd', 'name', 'age', 'idle', 'flags', 'db', 'sub', 'psub', 'ssub', 'multi', 'qbuf', 'qbuf-free',
      'argv-mem', 'multi-mem', 'rbs', 'rbp', 'obl', 'oll', 'omem', 'tot-mem', 'events', 'cmd', 'user', 'redir', 'resp',
    ]);
    expect(me).toMatchObject({ id: String(id), name: 'lister', db: '3', flags: 'N', cmd: 'client|info', user: 'default', resp: '2', multi: '-1' });
    expect(me!.addr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(me!.laddr).toBe(`127.0.0.1:${server.port}`);

    const list = parseClientLines((await c.call('CLIENT', 'LIST')) as string);
    expect(list.length).toBeGreaterThanOrEqual(2); // this one and the shared `redis` connection
    expect(list.find((l) => l.id === String(id))).toMatchObject({ name: 'lister', cmd: 'client|list' });
    // ioredis 6 connects with HELLO 3 by default: the shared connection speaks RESP3.
    const sharedId = String(await redis.call('CLIENT', 'ID'));
    expect(list.find((l) => l.id === sharedId)).toMatchObject({ resp: '3' });
    const ids = list.map((l) => Number(l.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    const byId = parseClientLines((await c.call('CLIENT', 'LIST', 'ID', String(id), '999999')) as string);
    expect(byId.map((l) => l.id)).toEqual([String(id)]);
    expect(parseClientLines((await c.call('CLIENT', 'LIST', 'TYPE', 'normal')) as string).length).toBe(list.length);
    expect(await c.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).toBe('');
    await expect(c.call('CLIENT', 'LIST', 'TYPE', 'foo')).rejects.toThrow('ERR Unknown client type \'foo\'');
    await expect(c.call('CLIENT', 'LIST', 'ID', 'x')).rejects.toThrow('ERR Invalid client ID');
    await expect(c.call('CLIENT', 'LIST', 'foo')).rejects.toThrow('ERR syntax error');
    c.disconnect();
  });

  it('CLIENT KILL by id, by address (old form), SKIPME, and its errors', async () => {
    const victim = await raw();
    const victimId = Number((await exchange(victim, 'CLIENT', 'ID')).slice(1, -2));
    expect(await redis.call('CLIENT', 'KILL', 'ID', String(victimId))).toBe(1);
    expect(await victim.waitClosed()).toBe(true);
    expect(await redis.call('CLIENT', 'KILL', 'ID', String(victimId))).toBe(0);

    const victim2 = await raw();
    const [line] = parseClientLines((await exchange(victim2, 'CLIENT', 'INFO')).split('\r\n')[1]!.slice(4));
    expect(await redis.call('CLIENT', 'KILL', line!.addr!)).toBe('OK');
    expect(await victim2.waitClosed()).toBe(true);
    await expect(redis.call('CLIENT', 'KILL', line!.addr!)).rejects.toThrow('ERR No such client');

    // SKIPME yes (the default) spares the caller; SKIPME no kills it after its reply.
    const self = await raw();
    const selfId = (await exchange(self, 'CLIENT', 'ID')).slice(1, -2);
    expect(await exchange(self, 'CLIENT', 'KILL', 'ID', selfId)).toBe(':0\r\n');
    expect(await exchange(self, 'CLIENT', 'KILL', 'ID', selfId, 'SKIPME', 'no')).toBe(':1\r\n');
    expect(await self.waitClosed()).toBe(true);

    await expect(redis.call('CLIENT', 'KILL', 'ID', 'abc')).rejects.toThrow('ERR client-id should be greater than 0');
    await expect(redis.call('CLIENT', 'KILL', 'ID', '0')).rejects.toThrow('ERR client-id should be greater than 0');
    await expect(redis.call('CLIENT', 'KILL', 'TYPE', 'bogus')).rejects.toThrow('ERR Unknown client type \'bogus\'');
    await expect(redis.call('CLIENT', 'KILL', 'USER', 'nobody')).rejects.toThrow('ERR No such user \'nobody\'');
    await expect(redis.call('CLIENT', 'KILL', 'SKIPME', 'maybe')).rejects.toThrow('ERR syntax error');
    await expect(redis.call('CLIENT', 'KILL', 'FOO', 'bar')).rejects.toThrow('ERR syntax error');
    await expect(redis.call('CLIENT', 'KILL', 'ID', '1', 'SKIPME')).rejects.toThrow('ERR syntax error');
    expect(await redis.ping()).toBe('PONG'); // the caller survived every filter above
  });

  it('CLIENT HELP and GETREDIR', async () => {
    const help = (await redis.call('CLIENT', 'HELP')) as string[];
    expect(help[0]).toBe('CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
    expect(help.slice(-2)).toEqual(['HELP', '    Prints this help.']);
    expect(help).toContain('KILL <option> <value> [<option> <value> [...]]');
    expect(await redis.call('CLIENT', 'GETREDIR')).toBe(-1);
  });

  it.skipIf(!haveRedisCli)('redis-cli runs commands against Cairn', () => {
    const cli = (...args: string[]): string =>
      execFileSync(REDIS_CLI, ['-p', String(server.port), ...args], { encoding: 'utf8', timeout: 10_000 });
    expect(cli('PING').trim()).toBe('PONG');
    expect(cli('SET', 'cli:key', 'hello world').trim()).toBe('OK');
    expect(cli('GET', 'cli:key').trim()).toBe('hello world');
    expect(cli('CLIENT', 'SETNAME', 'cli').trim()).toBe('OK');
    expect(cli('--no-raw', 'CONFIG', 'GET', 'databases')).toBe('1) "databases"\n2) "16"\n');
    expect(cli('-3', '--no-raw', 'GET', 'cli:missing')).toBe('(nil)\n');
    expect(cli('-3', '--no-raw', 'HELLO', '3')).toContain('3# "proto" => (integer) 3\n');
  });
});
