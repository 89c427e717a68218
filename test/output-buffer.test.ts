/**
 * client-output-buffer-limit and flow control: a client that sends many GETs of a 100 KB value and
 * never reads is disconnected at the hard limit, or after staying over the soft limit, while other
 * clients keep working; with no limit (the default) Cairn stops running its commands instead, so
 * its unsent replies stay small, and it gets every reply once it reads. CONFIG SET/GET and the
 * config file read the value as redis-server 7.0 does.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import net from 'node:net';
import type { Redis } from 'ioredis';
import { startServer, type TestServer } from './helpers/server.js';
import { connect } from './helpers/client.js';
import { RawClient } from './helpers/raw.js';
import { startOracle } from './helpers/oracle.js';
import { defaultConfig, parseCommandLine, parseConfigFile } from '../src/config.js';
import { ObufState } from '../src/output-buffer-limits.js';

const VALUE = 'v'.repeat(100 * 1024);
const GET_BIG = '*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n';
const REPLY_BYTES = `$${VALUE.length}\r\n`.length + VALUE.length + 2;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A connection that learns its client id, then stops reading and sends `count` GETs of the big value. */
async function floodWithoutReading(port: number, count: number): Promise<{ socket: net.Socket; id: number }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  socket.write('CLIENT ID\r\n');
  const reply = await new Promise<string>((r) => socket.once('data', (d) => r(d.toString())));
  socket.pause();
  socket.write(GET_BIG.repeat(count));
  return { socket, id: Number(/^:(\d+)\r\n$/.exec(reply)![1]) };
}

describe('client-output-buffer-limit', () => {
  let server: TestServer;
  let admin: Redis;
  const sockets: net.Socket[] = [];

  async function statsField(name: string, section = 'stats'): Promise<number> {
    const m = new RegExp(`${name}[:=](\\d+)`).exec(await admin.info(section));
    return m ? Number(m[1]) : 0;
  }
  const getCalls = (): Promise<number> => statsField('cmdstat_get:calls', 'commandstats');
  const disconnections = (): Promise<number> => statsField('client_output_buffer_limit_disconnections');
  async function clientLine(id: number): Promise<string> {
    return (await admin.call('CLIENT', 'LIST', 'ID', String(id))) as string;
  }
  const omemOf = async (id: number): Promise<number> => Number(/ omem=(\d+) /.exec(await clientLine(id))?.[1] ?? -1);

  beforeAll(async () => {
    server = await startServer({ shards: 2 });
    admin = connect(server.port);
    await admin.set('big', VALUE);
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await admin.config('SET', 'client-output-buffer-limit', 'normal 0 0 0');
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  it('closes a client that never reads at the hard limit; others keep working; counted and logged', async () => {
    const before = await disconnections();
    await admin.config('SET', 'client-output-buffer-limit', 'normal 1mb 0 0');
    const { socket, id } = await floodWithoutReading(server.port, 500);
    sockets.push(socket);
    await until('the disconnection', async () => (await disconnections()) === before + 1);
    expect(await clientLine(id)).toBe('');
    expect(await admin.ping()).toBe('PONG');
    expect(await admin.get('big')).toBe(VALUE);
    await until('the log line', async () => server.output().includes('scheduled to be closed ASAP for overcoming of output buffer limits.'));
    expect(server.output()).toMatch(new RegExp(`Client id=${id} addr=\\S+ .*cmd=get .*scheduled to be closed ASAP`));
  });

  it('closes a client over the soft limit for longer than its seconds', async () => {
    const before = await disconnections();
    await admin.config('SET', 'client-output-buffer-limit', 'normal 0 256kb 1');
    const { socket, id } = await floodWithoutReading(server.port, 500);
    sockets.push(socket);
    await until('the client over the soft limit', async () => (await omemOf(id)) >= 256 * 1024);
    await until('the disconnection', async () => (await disconnections()) === before + 1);
    expect(await clientLine(id)).toBe('');
    expect(await admin.ping()).toBe('PONG');
  });

  it('keeps a client that goes over the soft limit for less than its seconds', async () => {
    const before = await disconnections();
    await admin.config('SET', 'client-output-buffer-limit', 'normal 0 256kb 30');
    const { socket, id } = await floodWithoutReading(server.port, 100);
    sockets.push(socket);
    await until('the client over the soft limit', async () => (await omemOf(id)) >= 256 * 1024);
    expect(await readReplies(socket, 100)).toBe(100);
    socket.write('PING\r\n');
    expect(await new Promise((r) => socket.once('data', (d) => r(d.toString())))).toBe('+PONG\r\n');
    expect(await disconnections()).toBe(before);
  });

  it('with no limit, stops running the commands of a client that does not read, and answers all once it reads', async () => {
    const calls = await getCalls();
    const before = await disconnections();
    const { socket, id } = await floodWithoutReading(server.port, 2000);
    sockets.push(socket);
    await until('some replies waiting', async () => (await omemOf(id)) > 0);
    await sleep(500);
    // 2000 replies would be 200 MB: flow control holds the client to a few MB.
    const ran = (await getCalls()) - calls;
    expect(ran).toBeLessThan(500);
    expect(await omemOf(id)).toBeLessThan(16 * 1024 * 1024);
    await sleep(300);
    expect((await getCalls()) - calls).toBe(ran);
    expect(await readReplies(socket, 2000)).toBe(2000);
    expect(await disconnections()).toBe(before);
  });

  it('runs the commands parsed before a protocol error, in order, then sends the error and closes', async () => {
    await admin.set('mid', 'm'.repeat(10 * 1024));
    const raw = await RawClient.connect(server.port);
    raw.write('*2\r\n$3\r\nGET\r\n$3\r\nmid\r\n'.repeat(300) + 'PING\r\n*abc\r\nPING\r\n');
    const one = `$${10 * 1024}\r\n${'m'.repeat(10 * 1024)}\r\n`;
    const expected = one.repeat(300) + '+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n';
    expect(await raw.readLike(expected)).toBe(expected);
    expect(await raw.waitClosed()).toBe(true);
    expect(raw.pending()).toBe('');
  });

  it('QUIT after a held-back pipeline: every earlier reply, +OK, then nothing more runs', async () => {
    const raw = await RawClient.connect(server.port);
    raw.write('*2\r\n$3\r\nGET\r\n$3\r\nmid\r\n'.repeat(300) + 'QUIT\r\nSET after quit\r\n');
    const one = `$${10 * 1024}\r\n${'m'.repeat(10 * 1024)}\r\n`;
    const expected = one.repeat(300) + '+OK\r\n';
    expect(await raw.readLike(expected)).toBe(expected);
    expect(await raw.waitClosed()).toBe(true);
    expect(raw.pending()).toBe('');
    expect(await admin.exists('after')).toBe(0);
  });
});

/** Reads `count` replies of the big value from a paused socket; resolves with how many came. */
function readReplies(socket: net.Socket, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const total = count * REPLY_BYTES;
    const onData = (d: Buffer): void => {
      bytes += d.length;
      if (bytes >= total) {
        socket.off('data', onData);
        if (bytes !== total) reject(new Error(`read ${bytes} bytes, expected ${total}`));
        else resolve(count);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed after ${bytes} of ${total} bytes`)));
    socket.resume();
  });
}

describe('client-output-buffer-limit values', () => {
  it('CONFIG SET and GET answer as redis-server does', async (ctx) => {
    const oracle = await startOracle();
    if (!oracle) return ctx.skip();
    const server = await startServer();
    const cairn = connect(server.port);
    const redis = connect(oracle.port);
    try {
      const inputs = [
        'normal 1mb 0 0', 'replica 1 2 3', 'SLAVE 64mb 16mb 60', 'pubsub 1KB 2K 3 normal 0 0 0', '',
        'normal 1 2 3 normal 5 6 7', 'normal 1B 2Kb 0', 'pubsub 00012 0 007', 'normal 0 0 +3', 'normal 0 0 -0',
        'normal kb mb 0', 'normal 1 1 ', 'normal 1 2 4294967299', 'normal 18446744073709551615 0 0',
        'normal 99999999999999999999999 1 1', 'normal 18446744073709551615kb 1 1',
        // errors, each leaving the value as it was
        'normal 1 2', 'wrong number', 'foo 1 2 3', 'master 10mb 10mb 60', 'normal 1 2 3 foo 1 2 3',
        'normal 10mbs 10mb 60', 'normal +1 2 3', 'normal -1 2 3', 'normal 1.5mb 2 3', 'normal 1 2 -3',
        'normal 1 2 3x', 'normal 1 2 0x10', 'normal 1 2 3000000000', 'normal 1 1 9223372036854775808',
        'normal  1 2 3', 'normal 1 2 3 ',
      ];
      for (const text of inputs) {
        const set = async (c: Redis): Promise<string> => {
          try {
            return String(await c.config('SET', 'client-output-buffer-limit', text));
          } catch (e) {
            return (e as Error).message;
          }
        };
        expect(await set(cairn), text).toBe(await set(redis));
        expect(await cairn.config('GET', 'client-output-buffer-limit'), text)
          .toEqual(await redis.config('GET', 'client-output-buffer-limit'));
      }
    } finally {
      cairn.disconnect();
      redis.disconnect();
      await server.stop();
      await oracle.stop();
    }
  });

  it('the default is Redis\', and config file lines and command-line settings change only the classes they name', () => {
    expect(defaultConfig()['client-output-buffer-limit'])
      .toBe('normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60');
    const config = defaultConfig();
    parseConfigFile('client-output-buffer-limit normal 1mb 0 0\nclient-output-buffer-limit replica 1gb 512mb 30\n', 'f.conf', config);
    expect(config['client-output-buffer-limit'])
      .toBe('normal 1048576 0 0 slave 1073741824 536870912 30 pubsub 33554432 8388608 60');
    const cl = parseCommandLine(['--client-output-buffer-limit', 'pubsub', '0', '0', '0'], () => '');
    expect(cl['client-output-buffer-limit']).toBe('normal 0 0 0 slave 268435456 67108864 60 pubsub 0 0 0');
  });

  it('soft limit: reached for more than `seconds` whole seconds; dropping under it starts over', () => {
    const s = new ObufState();
    const limit = { hard: 0, soft: 100, seconds: 2 };
    expect(s.overLimit(limit, 100, 10_000)).toBe(false); // first seen at second 10
    expect(s.overLimit(limit, 500, 12_999)).toBe(false); // 2 s elapsed: not more than 2
    expect(s.overLimit(limit, 99, 13_000)).toBe(false); // under: forgotten
    expect(s.overLimit(limit, 100, 13_000)).toBe(false);
    expect(s.overLimit(limit, 100, 16_000)).toBe(true);
    expect(new ObufState().overLimit({ hard: 100, soft: 0, seconds: 0 }, 100, 0)).toBe(true);
    expect(new ObufState().overLimit({ hard: 100, soft: 0, seconds: 0 }, 99, 0)).toBe(false);
  });
});
