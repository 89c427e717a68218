/**
 * OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP against the compiled server with 1 and 4
 * shards, reply bytes compared with a real redis-server 7.0 (RESP2 and RESP3) for strings and
 * hashes. Where Redis answers from state Cairn does not track (IDLETIME's clock, FREQ's LFU
 * counter), the shape is checked instead: both answer an integer.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';
import { RawClient } from './helpers/raw.js';
import { exchange } from './helpers/reply.js';
import { startOracle, type OracleServer } from './helpers/oracle.js';

const oracle = await startOracle();
afterAll(async () => oracle?.stop());

/** Field-value arguments f<from>..f<to-1>, each value `value`. */
function fields(from: number, to: number, value = 'v'): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(`f${i}`, value);
  return out;
}

describe.runIf(oracle !== null).each([1, 4])('OBJECT vs redis-server (%i shards)', (shards) => {
  let server: TestServer;
  let cairn: RawClient;
  let redis: RawClient;

  /** Sends a command to both servers and returns [cairn, redis] reply bytes. */
  async function both(...args: string[]): Promise<[string, string]> {
    return [await exchange(cairn, ...args), await exchange(redis, ...args)];
  }

  /** The command answers the same bytes on both servers. */
  async function same(...args: string[]): Promise<string> {
    const [c, r] = await both(...args);
    expect(c, args.join(' ')).toBe(r);
    return c;
  }

  beforeAll(async () => {
    server = await startServer({ shards });
    cairn = await RawClient.connect(server.port);
    redis = await RawClient.connect((oracle as OracleServer).port);
    await same('FLUSHALL');
    // redis-server without a config file keeps its built-in 512; Cairn's default is redis.conf's 128.
    // (The oracle is shared by both shard counts: every setting a test changes is set here.)
    for (const [name, value] of [['hash-max-listpack-entries', '128'], ['hash-max-listpack-value', '64'],
      ['maxmemory', '0'], ['maxmemory-policy', 'noeviction']]) {
      await same('CONFIG', 'SET', name!, value!);
    }
  });

  afterAll(async () => {
    cairn?.close();
    redis?.close();
    await server?.stop();
  });

  it('ENCODING and REFCOUNT of strings follow Redis\' int / embstr / raw and shared-integer rules', async () => {
    const values = [
      '0', '1', '9999', '10000', '-1', '-0', '01', '+1', ' 1', '1 ', '1.5', 'abc', '',
      '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809',
      '123456789012345678901', 'x'.repeat(44), 'x'.repeat(45), '1'.repeat(44), 'y'.repeat(1000),
    ];
    for (const v of values) {
      await same('SET', 'str', v);
      await same('OBJECT', 'ENCODING', 'str');
      await same('OBJECT', 'REFCOUNT', 'str');
    }
    // INCR leaves an integer: int, shared while small.
    await same('SET', 'n', '9998');
    await same('INCR', 'n');
    await same('OBJECT', 'ENCODING', 'n');
    await same('OBJECT', 'REFCOUNT', 'n');
    await same('INCR', 'n');
    await same('OBJECT', 'REFCOUNT', 'n');
  });

  // Redis decides sharing when it writes a value, Cairn when it answers: they agree for values
  // written under the settings in force.
  it('REFCOUNT: no shared integers under maxmemory with an LRU or LFU policy', async () => {
    for (const policy of ['allkeys-lru', 'volatile-lfu', 'allkeys-random']) {
      await same('CONFIG', 'SET', 'maxmemory-policy', policy);
      await same('CONFIG', 'SET', 'maxmemory', '1000000000');
      await same('SET', 'small', '7');
      await same('OBJECT', 'REFCOUNT', 'small');
      await same('CONFIG', 'SET', 'maxmemory', '0');
      await same('SET', 'small', '7');
      await same('OBJECT', 'REFCOUNT', 'small');
    }
    await same('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
  });

  it('ENCODING and REFCOUNT of hashes: listpack within the entry and value limits, else hashtable', async () => {
    const cases: [string, string[]][] = [
      ['h:small', ['a', '1', 'b', '2']],
      ['h:128', fields(0, 128)],
      ['h:129', fields(0, 129)],
      ['h:value64', ['a', 'v'.repeat(64)]],
      ['h:value65', ['a', 'v'.repeat(65)]],
      ['h:field65', ['f'.repeat(65), 'v']],
    ];
    for (const [key, args] of cases) {
      await same('HSET', key, ...args);
      await same('OBJECT', 'ENCODING', key);
      await same('OBJECT', 'REFCOUNT', key);
    }
    // Growing past the limit converts (Redis never converts back; neither case shrinks here).
    await same('HSET', 'h:128', 'one', 'more');
    await same('OBJECT', 'ENCODING', 'h:128');
    await same('HSET', 'h:small', 'long', 'w'.repeat(100));
    await same('OBJECT', 'ENCODING', 'h:small');
    // The limits come from the config.
    await same('CONFIG', 'SET', 'hash-max-listpack-value', '100');
    await same('HSET', 'h:value65b', 'a', 'v'.repeat(65));
    await same('OBJECT', 'ENCODING', 'h:value65b');
    await same('CONFIG', 'SET', 'hash-max-listpack-value', '64');
  });

  it('a missing key answers nil, in RESP2 and RESP3', async () => {
    for (const sub of ['ENCODING', 'REFCOUNT', 'IDLETIME', 'FREQ']) expect(await same('OBJECT', sub, 'nosuch')).toBe('$-1\r\n');
    const [c3, r3] = [await RawClient.connect(server.port), await RawClient.connect((oracle as OracleServer).port)];
    await exchange(c3, 'HELLO', '3');
    await exchange(r3, 'HELLO', '3');
    for (const sub of ['ENCODING', 'REFCOUNT', 'IDLETIME', 'FREQ']) {
      const c = await exchange(c3, 'OBJECT', sub, 'nosuch');
      expect(c).toBe(await exchange(r3, 'OBJECT', sub, 'nosuch'));
      expect(c).toBe('_\r\n');
    }
    await exchange(c3, 'HSET', 'h3', 'a', '1');
    await exchange(r3, 'HSET', 'h3', 'a', '1');
    expect(await exchange(c3, 'OBJECT', 'ENCODING', 'h3')).toBe(await exchange(r3, 'OBJECT', 'ENCODING', 'h3'));
    c3.close();
    r3.close();
  });

  it('IDLETIME and FREQ: Redis\' errors for the maxmemory-policy, integers otherwise', async () => {
    await same('SET', 'idle', 'v');
    await same('HSET', 'idleh', 'a', '1');
    const [ci, ri] = await both('OBJECT', 'IDLETIME', 'idle');
    expect(ci).toBe(':0\r\n');
    expect(ri).toMatch(/^:\d+\r\n$/);
    expect(await same('OBJECT', 'FREQ', 'idleh')).toMatch(/^-ERR An LFU maxmemory policy is not selected, access frequency not tracked\./);
    await same('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu');
    expect(await same('OBJECT', 'IDLETIME', 'idleh')).toMatch(/^-ERR An LFU maxmemory policy is selected, idle time not tracked\./);
    const [cf, rf] = await both('OBJECT', 'FREQ', 'idleh');
    expect(cf).toBe(':5\r\n');
    expect(rf).toMatch(/^:\d+\r\n$/);
    await same('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
  });

  it('HELP, and errors of arity and unknown subcommands', async () => {
    expect(await same('OBJECT', 'HELP')).toContain('+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n');
    await same('object', 'help');
    await same('OBJECT');
    await same('OBJECT', 'NOSUCH', 'k');
    await same('OBJECT', 'ENCODING');
    await same('OBJECT', 'ENCODING', 'a', 'b');
    await same('OBJECT', 'HELP', 'extra');
    await same('COMMAND', 'GETKEYS', 'OBJECT', 'ENCODING', 'k');
  });
});
