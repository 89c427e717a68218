/**
 * List commands through real clients against the compiled server with 1 and 4 shards:
 *  - a reference script with hard-coded Redis 7.0 replies, also compared byte for byte with a
 *    real redis-server, in RESP2 and in RESP3 (HELLO 3);
 *  - a model test: random operations against an in-memory array model and redis-server
 *    (short lists, and long ones that take the iterator and renumbering paths);
 *  - a long list (20,000 pipelined RPUSHes) read at both ends and in the middle, trimmed,
 *    searched, changed in the middle, deleted and re-created;
 *  - cross-shard LMOVE/RPOPLPUSH/LMPOP under concurrent clients: nothing lost or duplicated.
 *
 * Lists are ordered, so every reply is compared exactly (no normalization).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { Redis } from 'ioredis';
import fs from 'node:fs';
import net from 'node:net';
import { startServer, type TestServer } from './helpers/server.js';
import { startOracle, hasRedis, type OracleServer } from './helpers/oracle.js';
import { encodeCommand } from './helpers/reply.js';
import { connect } from './helpers/client.js';
import { keyShard } from '../src/server/slot.js';
import { LE } from '../src/commands/list.js';

// ------------------------------------------------------------------ replies

const NIL_ARRAY = { nilArray: true } as const;
type Reply = null | number | string | typeof NIL_ARRAY | { error: string } | Reply[];
const err = (text: string): { error: string } => ({ error: text });

/** Decodes one RESP2 reply, keeping a null array (`*-1`) apart from a null bulk string (`$-1` -> null). */
function decode(bytes: string): Reply {
  let p = 0;
  const line = (): string => {
    const nl = bytes.indexOf('\r\n', p);
    const s = bytes.slice(p + 1, nl);
    p = nl + 2;
    return s;
  };
  const value = (): Reply => {
    const t = bytes[p];
    const head = line();
    switch (t) {
      case '+': return head;
      case '-': return err(head);
      case ':': return Number(head);
      case '$': {
        const n = Number(head);
        if (n < 0) return null;
        const s = bytes.slice(p, p + n);
        p += n + 2;
        return s;
      }
      case '*': {
        const n = Number(head);
        if (n < 0) return NIL_ARRAY;
        const out: Reply[] = [];
        for (let i = 0; i < n; i++) out.push(value());
        return out;
      }
      default: throw new Error(`unexpected reply ${JSON.stringify(bytes)}`);
    }
  };
  return value();
}

type Arg = string | Buffer;

/** End offset of the complete RESP2/RESP3 reply at `p` in `b`, or -1 when more bytes are needed. */
function replyEnd(b: Buffer, p: number): number {
  const nl = b.indexOf('\r\n', p);
  if (nl < 0) return -1;
  const t = String.fromCharCode(b[p]!);
  const n = Number(b.toString('latin1', p + 1, nl));
  let q = nl + 2;
  if ('$=!'.includes(t)) return n < 0 ? q : b.length >= q + n + 2 ? q + n + 2 : -1;
  if (!'*~>%|'.includes(t)) return q;
  const items = n < 0 ? 0 : t === '%' || t === '|' ? 2 * n : n;
  for (let i = 0; i < items && q >= 0; i++) q = q < b.length ? replyEnd(b, q) : -1;
  return q;
}

/**
 * A raw RESP connection that resolves each command with its reply's exact bytes as soon as
 * they are complete (no polling), so thousands of round trips stay fast.
 */
class Conn {
  private buf = Buffer.alloc(0);
  private readonly waiting: ((reply: string) => void)[] = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      for (let end = replyEnd(this.buf, 0); end > 0 && this.waiting.length > 0; end = this.buf.length > 0 ? replyEnd(this.buf, 0) : -1) {
        const reply = this.buf.toString('latin1', 0, end);
        this.buf = this.buf.subarray(end);
        this.waiting.shift()!(reply);
      }
    });
  }

  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  send(args: Arg[]): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(encodeCommand(...args));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One command: the reply's exact bytes. */
function send(c: Conn, args: Arg[]): Promise<string> {
  return c.send(args);
}

async function rawClient(port: number, resp: 2 | 3 = 2, db = 0): Promise<Conn> {
  const c = await Conn.open(port);
  if (resp === 3) await send(c, ['HELLO', '3']);
  if (db !== 0) await send(c, ['SELECT', String(db)]);
  return c;
}

const OK = 'OK';
const WRONGTYPE = err('WRONGTYPE Operation against a key holding the wrong kind of value');
const SYNTAX = err('ERR syntax error');
const NOT_INT = err('ERR value is not an integer or out of range');
const NO_SUCH_KEY = err('ERR no such key');
const INDEX_RANGE = err(LE.INDEX_RANGE);
const POSITIVE = err('ERR value is out of range, must be positive');
const RANK_ZERO = err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
const COUNT_NEGATIVE = err("ERR COUNT can't be negative");
const MAXLEN_NEGATIVE = err("ERR MAXLEN can't be negative");
const NUMKEYS = err('ERR numkeys should be greater than 0');
const COUNT_POSITIVE = err('ERR count should be greater than 0');
const wrongArgs = (cmd: string): { error: string } => err(`ERR wrong number of arguments for '${cmd}' command`);
const LONG_MAX = '9223372036854775807';
const LONG_MIN = '-9223372036854775808';

/**
 * Keys the script and the cross-shard tests rely on being on different shards with 4 shards
 * (checked below): src/dst for LMOVE, mp1/mp2/mp3 for LMPOP, ring:a/ring:b for the ring.
 */
const CROSS_SHARD_GROUPS = [['src', 'dst'], ['mp1', 'mp2', 'mp3'], ['ring:a', 'ring:b'], ['x', 'y', 'z'], ['q:a', 'q:b']];

/** The reference script: [command, expected RESP2 reply]. Runs top to bottom on one database. */
const SCRIPT: [Arg[], Reply][] = [
  [['set', 'str', 'x'], OK],
  // LPUSH / RPUSH / LPUSHX / RPUSHX
  [['rpush', 'l1', 'a', 'b', 'c'], 3],
  [['lpush', 'l1', 'z', 'y'], 5],
  [['lrange', 'l1', '0', '-1'], ['y', 'z', 'a', 'b', 'c']],
  [['rpush', 'l1'], wrongArgs('rpush')],
  [['lpush', 'l1'], wrongArgs('lpush')],
  [['lpush', 'str', 'a'], WRONGTYPE],
  [['rpush', 'str', 'a', 'b'], WRONGTYPE],
  [['rpushx', 'nokey', 'a'], 0],
  [['lpushx', 'nokey', 'a', 'b'], 0],
  [['exists', 'nokey'], 0],
  [['lpushx', 'l1', 'x'], 6],
  [['rpushx', 'l1', 'd', 'e'], 8],
  [['lpushx', 'str', 'a'], WRONGTYPE],
  [['rpushx', 'str', 'a'], WRONGTYPE],
  [['rpushx', 'l1'], wrongArgs('rpushx')],
  [['type', 'l1'], 'list'],
  // LLEN
  [['llen', 'l1'], 8],
  [['llen', 'nokey'], 0],
  [['llen', 'str'], WRONGTYPE],
  [['llen'], wrongArgs('llen')],
  [['llen', 'l1', 'x'], wrongArgs('llen')],
  // LINDEX: the key is looked up before the index is parsed
  [['lindex', 'l1', '0'], 'x'],
  [['lindex', 'l1', '-1'], 'e'],
  [['lindex', 'l1', '3'], 'a'],
  [['lindex', 'l1', '-8'], 'x'],
  [['lindex', 'l1', '7'], 'e'],
  [['lindex', 'l1', '8'], null],
  [['lindex', 'l1', '-9'], null],
  [['lindex', 'l1', LONG_MAX], null],
  [['lindex', 'l1', LONG_MIN], null],
  [['lindex', 'l1', 'abc'], NOT_INT],
  [['lindex', 'l1', '9223372036854775808'], NOT_INT],
  [['lindex', 'l1', '1.0'], NOT_INT],
  [['lindex', 'nokey', 'abc'], null],
  [['lindex', 'nokey', '0'], null],
  [['lindex', 'str', 'abc'], WRONGTYPE],
  [['lindex', 'str', '0'], WRONGTYPE],
  [['lindex', 'l1'], wrongArgs('lindex')],
  // LRANGE: indexes are parsed before the key is looked up
  [['lrange', 'l1', '0', '2'], ['x', 'y', 'z']],
  [['lrange', 'l1', '-3', '-1'], ['c', 'd', 'e']],
  [['lrange', 'l1', '-100', '1'], ['x', 'y']],
  [['lrange', 'l1', '6', '100'], ['d', 'e']],
  [['lrange', 'l1', '5', '4'], []],
  [['lrange', 'l1', '8', '10'], []],
  [['lrange', 'l1', '-1', '-2'], []],
  [['lrange', 'l1', '0', '-9'], []],
  [['lrange', 'l1', '7', '7'], ['e']],
  [['lrange', 'l1', LONG_MIN, LONG_MAX], ['x', 'y', 'z', 'a', 'b', 'c', 'd', 'e']],
  [['lrange', 'nokey', '0', '-1'], []],
  [['lrange', 'str', '0', '-1'], WRONGTYPE],
  [['lrange', 'str', 'x', '-1'], NOT_INT],
  [['lrange', 'nokey', '0', 'x'], NOT_INT],
  [['lrange', 'l1', '0'], wrongArgs('lrange')],
  // LSET
  [['lset', 'l1', '0', 'X'], OK],
  [['lset', 'l1', '-1', 'E'], OK],
  [['lset', 'l1', '3', 'A'], OK],
  [['lrange', 'l1', '0', '-1'], ['X', 'y', 'z', 'A', 'b', 'c', 'd', 'E']],
  [['lset', 'l1', '8', 'v'], INDEX_RANGE],
  [['lset', 'l1', '-9', 'v'], INDEX_RANGE],
  [['lset', 'l1', LONG_MAX, 'v'], INDEX_RANGE],
  [['lset', 'l1', 'x', 'v'], NOT_INT],
  [['lset', 'nokey', '0', 'v'], NO_SUCH_KEY],
  [['lset', 'nokey', 'x', 'v'], NO_SUCH_KEY],
  [['lset', 'str', '0', 'v'], WRONGTYPE],
  [['lset', 'str', 'x', 'v'], WRONGTYPE],
  [['exists', 'nokey'], 0],
  [['lset', 'l1', '0'], wrongArgs('lset')],
  // LPOP / RPOP, with and without a count (nil vs null array vs empty array)
  [['lpop', 'l1'], 'X'],
  [['rpop', 'l1'], 'E'],
  [['lpop', 'l1', '2'], ['y', 'z']],
  [['rpop', 'l1', '2'], ['d', 'c']],
  [['lrange', 'l1', '0', '-1'], ['A', 'b']],
  [['lpop', 'l1', '0'], []],
  [['rpop', 'l1', '0'], []],
  [['lpop', 'nokey'], null],
  [['rpop', 'nokey'], null],
  [['lpop', 'nokey', '2'], NIL_ARRAY],
  [['lpop', 'nokey', '0'], NIL_ARRAY],
  [['rpop', 'nokey', '1'], NIL_ARRAY],
  [['lpop', 'l1', '-1'], POSITIVE],
  [['lpop', 'l1', 'x'], POSITIVE],
  [['rpop', 'l1', '1.5'], POSITIVE],
  [['lpop', 'nokey', 'x'], POSITIVE],
  [['lpop', 'str'], WRONGTYPE],
  [['lpop', 'str', '1'], WRONGTYPE],
  [['lpop', 'str', '0'], WRONGTYPE],
  [['lpop', 'str', 'x'], POSITIVE],
  [['lpop', 'l1', '1', '2'], wrongArgs('lpop')],
  [['rpop', 'l1', '1', '2'], wrongArgs('rpop')],
  [['lpop'], wrongArgs('lpop')],
  [['rpop', 'l1', '10'], ['b', 'A']],
  [['exists', 'l1'], 0],
  [['rpush', 'l1', 'p'], 1],
  [['lpop', 'l1'], 'p'],
  [['lpop', 'l1'], null],
  [['exists', 'l1'], 0],
  [['rpush', 'l1', 'r1', 'r2'], 2],
  [['rpop', 'l1', LONG_MAX], ['r2', 'r1']],
  [['exists', 'l1'], 0],
  // LINSERT
  [['rpush', 'l2', 'a', 'b', 'c', 'b'], 4],
  [['linsert', 'l2', 'before', 'b', 'X'], 5],
  [['linsert', 'l2', 'AFTER', 'b', 'Y'], 6],
  [['linsert', 'l2', 'after', 'a', 'Z'], 7],
  [['linsert', 'l2', 'Before', 'a', 'F'], 8],
  [['linsert', 'l2', 'after', 'b', 'L'], 9],
  [['linsert', 'l2', 'after', 'zz', 'v'], -1],
  [['linsert', 'l2', 'before', 'c', 'C'], 10],
  [['linsert', 'l2', 'after', 'c', 'D'], 11],
  [['linsert', 'l2', 'after', 'b', 'b'], 12],
  [['lrange', 'l2', '0', '-1'], ['F', 'a', 'Z', 'X', 'b', 'b', 'L', 'Y', 'C', 'c', 'D', 'b']],
  [['linsert', 'l2', 'middle', 'b', 'v'], SYNTAX],
  [['linsert', 'nokey', 'before', 'b', 'v'], 0],
  [['linsert', 'nokey', 'middle', 'b', 'v'], SYNTAX],
  [['linsert', 'str', 'before', 'b', 'v'], WRONGTYPE],
  [['linsert', 'str', 'middle', 'b', 'v'], SYNTAX],
  [['exists', 'nokey'], 0],
  [['linsert', 'l2', 'before', 'b'], wrongArgs('linsert')],
  // LREM
  [['rpush', 'l3', 'a', 'b', 'a', 'c', 'a', 'b', 'a'], 7],
  [['lrem', 'l3', '2', 'a'], 2],
  [['lrange', 'l3', '0', '-1'], ['b', 'c', 'a', 'b', 'a']],
  [['lrem', 'l3', '-1', 'a'], 1],
  [['lrange', 'l3', '0', '-1'], ['b', 'c', 'a', 'b']],
  [['lrem', 'l3', '0', 'b'], 2],
  [['lrem', 'l3', '0', 'zz'], 0],
  [['lrange', 'l3', '0', '-1'], ['c', 'a']],
  [['lrem', 'l3', LONG_MIN, 'a'], 1],
  [['lrem', 'l3', '1', 'c'], 1],
  [['exists', 'l3'], 0],
  [['lrem', 'nokey', '1', 'a'], 0],
  [['lrem', 'nokey', 'x', 'a'], NOT_INT],
  [['lrem', 'str', '1', 'a'], WRONGTYPE],
  [['lrem', 'str', 'x', 'a'], NOT_INT],
  [['lrem', 'l3', '1'], wrongArgs('lrem')],
  // LTRIM
  [['rpush', 'l3', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], 10],
  [['ltrim', 'l3', '1', '-2'], OK],
  [['lrange', 'l3', '0', '-1'], ['1', '2', '3', '4', '5', '6', '7', '8']],
  [['ltrim', 'l3', '-3', '100'], OK],
  [['lrange', 'l3', '0', '-1'], ['6', '7', '8']],
  [['ltrim', 'l3', '-100', '0'], OK],
  [['lrange', 'l3', '0', '-1'], ['6']],
  [['ltrim', 'l3', '0', '-1'], OK],
  [['lrange', 'l3', '0', '-1'], ['6']],
  [['ltrim', 'l3', '1', '0'], OK],
  [['exists', 'l3'], 0],
  [['rpush', 'l3', 'a', 'b'], 2],
  [['ltrim', 'l3', '5', '10'], OK],
  [['exists', 'l3'], 0],
  [['rpush', 'l3', 'a', 'b'], 2],
  [['ltrim', 'l3', LONG_MIN, LONG_MAX], OK],
  [['lrange', 'l3', '0', '-1'], ['a', 'b']],
  [['ltrim', 'l3', '0', LONG_MIN], OK],
  [['exists', 'l3'], 0],
  [['ltrim', 'nokey', '0', '1'], OK],
  [['ltrim', 'nokey', 'x', '1'], NOT_INT],
  [['ltrim', 'str', '0', '1'], WRONGTYPE],
  [['ltrim', 'str', '0', 'x'], NOT_INT],
  [['ltrim', 'l3', '0'], wrongArgs('ltrim')],
  // LPOS
  [['rpush', 'lp', 'a', 'b', 'c', '1', '2', '3', 'c', 'c'], 8],
  [['lpos', 'lp', 'c'], 2],
  [['lpos', 'lp', 'c', 'rank', '2'], 6],
  [['lpos', 'lp', 'c', 'rank', '-1'], 7],
  [['lpos', 'lp', 'c', 'rank', '-3'], 2],
  [['lpos', 'lp', 'c', 'rank', '4'], null],
  [['lpos', 'lp', 'c', 'rank', '-4'], null],
  [['lpos', 'lp', 'c', 'count', '0'], [2, 6, 7]],
  [['lpos', 'lp', 'c', 'COUNT', '2'], [2, 6]],
  [['lpos', 'lp', 'c', 'count', '2', 'rank', '-1'], [7, 6]],
  [['lpos', 'lp', 'c', 'count', '0', 'rank', '2'], [6, 7]],
  [['lpos', 'lp', 'c', 'count', '0', 'maxlen', '7'], [2, 6]],
  [['lpos', 'lp', 'c', 'count', '0', 'maxlen', '1', 'rank', '-1'], [7]],
  [['lpos', 'lp', 'c', 'count', '5', 'rank', '3'], [7]],
  [['lpos', 'lp', 'c', 'count', '1', 'count', '0'], [2, 6, 7]],
  [['lpos', 'lp', 'c', 'maxlen', '2'], null],
  [['lpos', 'lp', 'c', 'maxlen', '3'], 2],
  [['lpos', 'lp', 'c', 'maxlen', '2', 'count', '1'], []],
  [['lpos', 'lp', 'a', 'rank', '-1', 'maxlen', '7'], null],
  [['lpos', 'lp', 'a', 'rank', '-1', 'maxlen', '8'], 0],
  [['lpos', 'lp', 'zz'], null],
  [['lpos', 'lp', 'zz', 'count', '5'], []],
  [['lpos', 'lp', 'c', 'rank', LONG_MIN], 7],
  [['lpos', 'lp', 'c', 'rank', LONG_MIN, 'count', '1'], [7, 6, 2]],
  [['lpos', 'lp', 'c', 'rank', LONG_MAX, 'count', '0'], []],
  [['lpos', 'lp', 'c', 'maxlen', LONG_MAX, 'count', LONG_MAX], [2, 6, 7]],
  [['lpos', 'lp', 'c', 'RANK', '0'], RANK_ZERO],
  [['lpos', 'lp', 'c', 'rank', 'x'], NOT_INT],
  [['lpos', 'lp', 'c', 'rank', '9223372036854775808'], NOT_INT],
  [['lpos', 'lp', 'c', 'count', '-1'], COUNT_NEGATIVE],
  [['lpos', 'lp', 'c', 'count', 'x'], COUNT_NEGATIVE],
  [['lpos', 'lp', 'c', 'maxlen', '-1'], MAXLEN_NEGATIVE],
  [['lpos', 'lp', 'c', 'maxlen', 'x'], MAXLEN_NEGATIVE],
  [['lpos', 'lp', 'c', 'count'], SYNTAX],
  [['lpos', 'lp', 'c', 'rank'], SYNTAX],
  [['lpos', 'lp', 'c', 'foo', '1'], SYNTAX],
  [['lpos', 'lp', 'c', 'rank', '0', 'foo'], RANK_ZERO],
  [['lpos', 'lp', 'c', 'foo', 'rank', '0'], SYNTAX],
  [['lpos', 'nokey', 'c'], null],
  [['lpos', 'nokey', 'c', 'count', '0'], []],
  [['lpos', 'nokey', 'c', 'rank', '0'], RANK_ZERO],
  [['lpos', 'nokey', 'c', 'foo'], SYNTAX],
  [['lpos', 'str', 'c'], WRONGTYPE],
  [['lpos', 'str', 'c', 'count', 'x'], COUNT_NEGATIVE],
  [['lpos', 'lp'], wrongArgs('lpos')],
  // LMOVE / RPOPLPUSH (src and dst are on different shards with 4 shards)
  [['rpush', 'src', '1', '2', '3'], 3],
  [['lmove', 'src', 'dst', 'left', 'right'], '1'],
  [['lmove', 'src', 'dst', 'RIGHT', 'LEFT'], '3'],
  [['lmove', 'src', 'dst', 'Left', 'left'], '2'],
  [['exists', 'src'], 0],
  [['lrange', 'dst', '0', '-1'], ['2', '3', '1']],
  [['lmove', 'src', 'dst', 'left', 'left'], null],
  [['lmove', 'dst', 'dst', 'left', 'right'], '2'],
  [['lrange', 'dst', '0', '-1'], ['3', '1', '2']],
  [['lmove', 'dst', 'dst', 'right', 'left'], '2'],
  [['lmove', 'dst', 'dst', 'left', 'left'], '2'],
  [['lmove', 'dst', 'dst', 'right', 'right'], '1'],
  [['lrange', 'dst', '0', '-1'], ['2', '3', '1']],
  [['rpoplpush', 'dst', 'src'], '1'],
  [['rpoplpush', 'dst', 'dst'], '3'],
  [['lrange', 'dst', '0', '-1'], ['3', '2']],
  [['lrange', 'src', '0', '-1'], ['1']],
  [['rpoplpush', 'nokey', 'src'], null],
  [['rpoplpush', 'nokey', 'str'], null],
  [['lmove', 'nokey', 'str', 'left', 'left'], null],
  [['lmove', 'src', 'str', 'left', 'left'], WRONGTYPE],
  [['rpoplpush', 'src', 'str'], WRONGTYPE],
  [['lrange', 'src', '0', '-1'], ['1']],
  [['lmove', 'str', 'src', 'left', 'left'], WRONGTYPE],
  [['rpoplpush', 'str', 'src'], WRONGTYPE],
  [['lmove', 'str', 'nokey', 'left', 'left'], WRONGTYPE],
  [['lmove', 'str', 'str', 'left', 'left'], WRONGTYPE],
  [['lmove', 'src', 'dst', 'up', 'left'], SYNTAX],
  [['lmove', 'src', 'dst', 'left', 'down'], SYNTAX],
  [['lmove', 'nokey', 'dst', 'left', 'down'], SYNTAX],
  [['lmove', 'str', 'dst', 'up', 'left'], SYNTAX],
  [['lmove', 'src', 'dst', 'left'], wrongArgs('lmove')],
  [['rpoplpush', 'src'], wrongArgs('rpoplpush')],
  [['rpoplpush', 'src', 'dst', 'x'], wrongArgs('rpoplpush')],
  [['lmove', 'src', 'mv1', 'left', 'right'], '1'],
  [['exists', 'src'], 0],
  [['lrange', 'mv1', '0', '-1'], ['1']],
  [['rpoplpush', 'dst', 'src'], '2'],
  [['rpoplpush', 'dst', 'src'], '3'],
  [['rpoplpush', 'dst', 'src'], null],
  [['lrange', 'src', '0', '-1'], ['3', '2']],
  // LMPOP (mp1, mp2, mp3 are on three different shards with 4 shards)
  [['rpush', 'mp2', 'a', 'b', 'c', 'd'], 4],
  [['rpush', 'mp3', 'x', 'y'], 2],
  [['lmpop', '3', 'mp1', 'mp2', 'mp3', 'left'], ['mp2', ['a']]],
  [['lmpop', '3', 'mp1', 'mp2', 'mp3', 'right', 'count', '2'], ['mp2', ['d', 'c']]],
  [['lmpop', '2', 'mp2', 'mp3', 'LEFT', 'COUNT', '10'], ['mp2', ['b']]],
  [['lmpop', '3', 'mp1', 'mp2', 'mp3', 'left', 'count', '10'], ['mp3', ['x', 'y']]],
  [['lmpop', '3', 'mp1', 'mp2', 'mp3', 'left'], NIL_ARRAY],
  [['lmpop', '1', 'nokey', 'left'], NIL_ARRAY],
  [['exists', 'mp2', 'mp3'], 0],
  [['lmpop', '2', 'mp1', 'str', 'left'], WRONGTYPE],
  [['rpush', 'mp1', 'v'], 1],
  [['lmpop', '2', 'mp1', 'str', 'left'], ['mp1', ['v']]],
  [['rpush', 'mp3', 'w'], 1],
  [['lmpop', '3', 'mp1', 'str', 'mp3', 'left'], WRONGTYPE],
  [['lmpop', '3', 'mp1', 'mp2', 'mp3', 'right', 'count', LONG_MAX], ['mp3', ['w']]],
  [['lmpop', '0', 'mp1', 'left'], NUMKEYS],
  [['lmpop', '-1', 'mp1', 'left'], NUMKEYS],
  [['lmpop', 'x', 'mp1', 'left'], NUMKEYS],
  [['lmpop', '9223372036854775808', 'mp1', 'left'], NUMKEYS],
  [['lmpop', LONG_MAX, 'mp1', 'left'], SYNTAX],
  [['lmpop', '2', 'mp1', 'left'], SYNTAX],
  [['lmpop', '5', 'mp1', 'mp2', 'left'], SYNTAX],
  [['lmpop', '1', 'mp1', 'middle'], SYNTAX],
  [['lmpop', '1', 'mp1', 'left', 'count', '0'], COUNT_POSITIVE],
  [['lmpop', '1', 'mp1', 'left', 'count', '-1'], COUNT_POSITIVE],
  [['lmpop', '1', 'mp1', 'left', 'count', 'x'], COUNT_POSITIVE],
  [['lmpop', '1', 'mp1', 'left', 'count', '1', 'count', '1'], SYNTAX],
  [['lmpop', '1', 'mp1', 'left', 'count'], SYNTAX],
  [['lmpop', '1', 'mp1', 'left', 'foo'], SYNTAX],
  [['lmpop', '2', 'str', 'mp1', 'left', 'count', '0'], COUNT_POSITIVE],
  [['lmpop', '3', 'mp1', 'mp2', 'mp3', 'middle'], SYNTAX],
  [['lmpop', '1', 'mp1'], wrongArgs('lmpop')],
  [['rpush', 'mp1', 'a', 'b'], 2],
  [['lmpop', '2', 'mp1', 'mp1', 'left', 'count', '5'], ['mp1', ['a', 'b']]],
  [['exists', 'mp1'], 0],
  // Lists under the generic key commands (same-shard RENAME/COPY via a hash tag)
  [['rpush', '{t}a', '1', '2', '3'], 3],
  [['lpush', '{t}a', '0'], 4],
  [['rename', '{t}a', '{t}b'], OK],
  [['lrange', '{t}b', '0', '-1'], ['0', '1', '2', '3']],
  [['lindex', '{t}b', '0'], '0'],
  [['copy', '{t}b', '{t}c'], 1],
  [['rpop', '{t}c'], '3'],
  [['lpush', '{t}c', '-1'], 4],
  [['lrange', '{t}b', '0', '-1'], ['0', '1', '2', '3']],
  [['lrange', '{t}c', '0', '-1'], ['-1', '0', '1', '2']],
  [['lmove', '{t}b', '{t}c', 'right', 'right'], '3'],
  [['lrange', '{t}c', '-2', '-1'], ['2', '3']],
  [['del', '{t}b'], 1],
  [['lrange', '{t}b', '0', '-1'], []],
  [['rpush', '{t}b', 'new'], 1],
  [['lrange', '{t}b', '0', '-1'], ['new']],
  [['set', '{t}b', 's'], OK],
  [['get', '{t}b'], 's'],
  [['lpush', '{t}b', 'x'], WRONGTYPE],
  [['type', '{t}c'], 'list'],
  [['rpush', 'e', ''], 1],
  [['lpush', 'e', ''], 2],
  [['lrange', 'e', '0', '-1'], ['', '']],
  [['lpos', 'e', '', 'count', '0'], [0, 1]],
  [['lrem', 'e', '0', ''], 2],
  [['exists', 'e'], 0],
];

// ------------------------------------------------------------------ the in-memory model

/** Redis' start/end conversion for LRANGE/LTRIM, as the model's own copy. */
function modelRange(start: number, end: number, len: number): [number, number] | null {
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (start > end || start >= len) return null;
  return [start, Math.min(end, len - 1) + 1];
}

/** Lists by key; STRING_KEY holds a string (for WRONGTYPE paths). */
class Model {
  readonly lists = new Map<string, string[]>();
  constructor(readonly stringKey: string) {}

  private get(k: string): string[] | undefined | 'wrongtype' {
    if (k === this.stringKey) return 'wrongtype';
    return this.lists.get(k);
  }

  private drop(k: string): void {
    if (this.lists.get(k)?.length === 0) this.lists.delete(k);
  }

  /** The reply Redis gives to `args` (lower-case names, valid argument syntax), applying it. */
  apply(args: string[]): Reply {
    const [cmd, key] = [args[0]!, args[1]!];
    if (cmd === 'del') {
      const had = this.lists.delete(key);
      return had ? 1 : 0;
    }
    if (cmd === 'lmpop') return this.lmpop(args);
    const l = this.get(key);
    if (l === 'wrongtype') return WRONGTYPE;
    switch (cmd) {
      case 'lpush': case 'rpush': case 'lpushx': case 'rpushx': {
        if (l === undefined && cmd.endsWith('x')) return 0;
        const list = l ?? [];
        for (const v of args.slice(2)) if (cmd.startsWith('l')) list.unshift(v); else list.push(v);
        this.lists.set(key, list);
        return list.length;
      }
      case 'lpop': case 'rpop': {
        const hasCount = args.length === 3;
        if (l === undefined) return hasCount ? NIL_ARRAY : null;
        const n = hasCount ? Math.min(Number(args[2]), l.length) : 1;
        const out = cmd === 'lpop' ? l.splice(0, n) : l.splice(l.length - n, n).reverse();
        this.drop(key);
        return hasCount ? out : out[0]!;
      }
      case 'llen': return l?.length ?? 0;
      case 'lindex': {
        if (l === undefined) return null;
        let i = Number(args[2]);
        if (i < 0) i += l.length;
        return l[i] ?? null;
      }
      case 'lset': {
        if (l === undefined) return NO_SUCH_KEY;
        let i = Number(args[2]);
        if (i < 0) i += l.length;
        if (i < 0 || i >= l.length) return INDEX_RANGE;
        l[i] = args[3]!;
        return OK;
      }
      case 'lrange': {
        const r = l && modelRange(Number(args[2]), Number(args[3]), l.length);
        return r ? l!.slice(r[0], r[1]) : [];
      }
      case 'ltrim': {
        if (l === undefined) return OK;
        const r = modelRange(Number(args[2]), Number(args[3]), l.length) ?? [0, 0];
        this.lists.set(key, l.slice(r[0], r[1]));
        this.drop(key);
        return OK;
      }
      case 'linsert': {
        if (l === undefined) return 0;
        const at = l.indexOf(args[3]!);
        if (at < 0) return -1;
        l.splice(args[2] === 'before' ? at : at + 1, 0, args[4]!);
        return l.length;
      }
      case 'lrem': {
        if (l === undefined) return 0;
        const count = Number(args[2]);
        const want = Math.abs(count);
        const order = [...l.keys()];
        if (count < 0) order.reverse();
        const gone = new Set<number>();
        for (const i of order) if (l[i] === args[3] && (want === 0 || gone.size < want)) gone.add(i);
        this.lists.set(key, l.filter((_, i) => !gone.has(i)));
        this.drop(key);
        return gone.size;
      }
      case 'lpos': return this.lpos(l, args);
      case 'lmove': case 'rpoplpush': {
        const from = cmd === 'rpoplpush' ? 'right' : args[3]!;
        const to = cmd === 'rpoplpush' ? 'left' : args[4]!;
        if (l === undefined) return null;
        const d = this.get(args[2]!);
        if (d === 'wrongtype') return WRONGTYPE;
        const v = from === 'left' ? l.shift()! : l.pop()!;
        const dst = args[2] === key ? l : d ?? [];
        if (to === 'left') dst.unshift(v); else dst.push(v);
        this.lists.set(args[2]!, dst);
        this.drop(key);
        return v;
      }
      default: throw new Error(`model: ${cmd}`);
    }
  }

  private lpos(l: string[] | undefined, args: string[]): Reply {
    let rank = 1;
    let count: number | null = null;
    let maxlen = 0;
    for (let j = 3; j < args.length; j += 2) {
      if (args[j] === 'rank') rank = Number(args[j + 1]);
      else if (args[j] === 'count') count = Number(args[j + 1]);
      else maxlen = Number(args[j + 1]);
    }
    if (l === undefined) return count === null ? null : [];
    const order = [...l.keys()];
    if (rank < 0) order.reverse();
    const found: number[] = [];
    let matches = 0;
    for (const i of order.slice(0, maxlen === 0 ? l.length : maxlen)) {
      if (l[i] !== args[2]) continue;
      if (++matches < Math.abs(rank)) continue;
      found.push(i);
      if (count === null || (count !== 0 && found.length >= count)) break;
    }
    return count === null ? found[0] ?? null : found;
  }

  private lmpop(args: string[]): Reply {
    const n = Number(args[1]);
    const keys = args.slice(2, 2 + n);
    const from = args[2 + n];
    const count = args.length > 3 + n ? Number(args[4 + n]) : 1;
    for (const k of keys) {
      const l = this.get(k);
      if (l === undefined) continue;
      if (l === 'wrongtype') return WRONGTYPE;
      const out = from === 'left' ? l.splice(0, count) : l.splice(Math.max(0, l.length - count)).reverse();
      this.drop(k);
      return [k, out];
    }
    return NIL_ARRAY;
  }
}

/** A seeded generator of random commands over `keys` (plus the string key), with elements from a small alphabet so they repeat. */
function commandGenerator(seed: number, keys: string[], stringKey: string, alphabet: string[], long: boolean) {
  let s = seed;
  const rand = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const el = (): string => alphabet[rand(alphabet.length)]!;
  const key = (): string => (rand(25) === 0 ? stringKey : keys[rand(keys.length)]!);
  const idx = (span: number): string => String(rand(2 * span + 1) - span);
  const end = (): string => (rand(2) === 0 ? 'left' : 'right');
  return (): string[] => {
    const k = key();
    switch (rand(20)) {
      case 0: case 1: return ['rpush', k, ...Array.from({ length: 1 + rand(3) }, el)];
      case 2: case 3: return ['lpush', k, ...Array.from({ length: 1 + rand(3) }, el)];
      case 4: return [rand(2) ? 'lpushx' : 'rpushx', k, el()];
      case 5: return rand(2) ? ['lpop', k] : ['lpop', k, String(rand(4))];
      case 6: return rand(2) ? ['rpop', k] : ['rpop', k, String(rand(4))];
      case 7: return ['lindex', k, idx(12)];
      case 8: return ['lset', k, idx(12), el()];
      case 9: return ['lrange', k, idx(15), idx(15)];
      case 10: return ['linsert', k, rand(2) ? 'before' : 'after', el(), el()];
      case 11: return ['lrem', k, String(rand(5) - 2), el()];
      // Long lists are only trimmed a little at each end.
      case 12: return long ? ['ltrim', k, String(rand(4)), String(-1 - rand(4))] : ['ltrim', k, idx(6), idx(20)];
      case 13: {
        const a = ['lpos', k, el()];
        if (rand(2)) a.push('rank', String((rand(3) + 1) * (rand(2) ? 1 : -1)));
        if (rand(2)) a.push('count', String(rand(3)));
        if (rand(3) === 0) a.push('maxlen', String(rand(10)));
        return a;
      }
      case 14: return ['lmove', k, key(), end(), end()];
      case 15: return ['rpoplpush', k, key()];
      case 16: {
        const ks = Array.from({ length: 1 + rand(3) }, key);
        return ['lmpop', String(ks.length), ...ks, end(), ...(rand(2) ? ['count', String(1 + rand(4))] : [])];
      }
      case 17: return ['llen', k];
      case 18: return rand(6) === 0 && !long ? ['del', keys[rand(keys.length)]!] : ['lrange', k, '0', '-1'];
      default: return ['linsert', k, 'after', el(), el()];
    }
  };
}

// ------------------------------------------------------------------ tests

it('the script and the cross-shard tests use keys on different shards with 4 shards', () => {
  for (const group of CROSS_SHARD_GROUPS) {
    const shards = group.map((k) => keyShard(Buffer.from(k), 4));
    expect(new Set(shards).size, group.join(' ')).toBe(group.length);
  }
  expect(keyShard(Buffer.from('{t}a'), 4)).toBe(keyShard(Buffer.from('{t}b'), 4));
});

describe.each([1, 4])('list commands with %i shard(s)', (shards) => {
  let server: TestServer;
  let oracle: OracleServer | null = null;
  let client: Redis;

  beforeAll(async () => {
    server = await startServer({ shards });
    oracle = await startOracle();
    client = connect(server.port, { protocol: 2 });
  });

  afterAll(async () => {
    client?.disconnect();
    await oracle?.stop();
    await server?.stop();
    if (server) fs.rmSync(server.dir, { recursive: true, force: true });
  });

  /** Runs `script` on fresh connections to Cairn and (when installed) redis-server; collects every difference. */
  async function runScript(script: readonly (readonly [Arg[], Reply | undefined])[], resp: 2 | 3, db: number): Promise<string[]> {
    const ours = await rawClient(server.port, resp, db);
    const theirs = oracle ? await rawClient(oracle.port, resp, db) : null;
    const mismatches: string[] = [];
    try {
      await send(ours, ['FLUSHDB']);
      if (theirs) await send(theirs, ['FLUSHDB']);
      for (const [args, expected] of script) {
        const got = await send(ours, args);
        const what = args.map(String).join(' ');
        if (expected !== undefined && JSON.stringify(decode(got)) !== JSON.stringify(expected)) {
          mismatches.push(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
        }
        if (theirs) {
          const want = await send(theirs, args);
          if (got !== want) mismatches.push(`${what}: redis-server ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
        }
      }
    } finally {
      ours.close();
      theirs?.close();
    }
    return mismatches;
  }

  it('replies as Redis 7.0 to every command, option and error (RESP2, byte for byte)', async () => {
    expect(oracle !== null).toBe(hasRedis());
    expect(await runScript(SCRIPT, 2, 0)).toEqual([]);
  });

  it('replies as redis-server in RESP3 (null, null array, nested arrays)', async () => {
    const ours = await rawClient(server.port, 3, 1);
    try {
      await send(ours, ['FLUSHDB']);
      await send(ours, ['RPUSH', 'k', 'a', 'b']);
      // The shapes Redis 7.0 uses with HELLO 3, spelled out.
      expect(await send(ours, ['LPOP', 'nokey'])).toBe('_\r\n');
      expect(await send(ours, ['LPOP', 'nokey', '2'])).toBe('_\r\n');
      expect(await send(ours, ['LPOP', 'k', '0'])).toBe('*0\r\n');
      expect(await send(ours, ['LINDEX', 'k', '5'])).toBe('_\r\n');
      expect(await send(ours, ['LPOS', 'k', 'zz'])).toBe('_\r\n');
      expect(await send(ours, ['LMPOP', '1', 'nokey', 'LEFT'])).toBe('_\r\n');
      expect(await send(ours, ['LMPOP', '2', 'nokey', 'k', 'RIGHT', 'COUNT', '5'])).toBe('*2\r\n$1\r\nk\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n');
      expect(await send(ours, ['LMOVE', 'nokey', 'k', 'LEFT', 'LEFT'])).toBe('_\r\n');
    } finally {
      ours.close();
    }
    // The whole script, byte for byte against redis-server.
    if (oracle) expect(await runScript(SCRIPT.map(([a]) => [a, undefined] as const), 3, 1)).toEqual([]);
  });

  it('is binary safe in keys and elements', async () => {
    const key = Buffer.from([0xff, 0x00, 0x41]);
    const e1 = Buffer.from([0, 1, 2, 0xff]);
    const e2 = Buffer.from([0xfe, 13, 10]);
    expect(await client.rpush(key, e1, e2, Buffer.alloc(0))).toBe(3);
    expect(await client.lrangeBuffer(key, 0, -1)).toEqual([e1, e2, Buffer.alloc(0)]);
    expect(await client.lindexBuffer(key, 1)).toEqual(e2);
    expect(await client.call('LPOS', key, e2)).toBe(1);
    expect(await client.linsert(key, 'BEFORE', e2, e1)).toBe(4);
    expect(await client.lrem(key, 0, e1)).toBe(2);
    expect(await client.lmoveBuffer(key, Buffer.concat([key, Buffer.from([0])]), 'LEFT', 'RIGHT')).toEqual(e2);
    expect(await client.del(key, Buffer.concat([key, Buffer.from([0])]))).toBe(2);
  });

  it('counts lists as keys, keeps their TTL, and creates nothing on failed or empty writes', async () => {
    await client.select(3);
    try {
      await client.flushdb();
      await client.rpush('a', '1');
      await client.lpush('b', '1', '2');
      expect(await client.dbsize()).toBe(2);
      expect(await client.lpushx('c', '1')).toBe(0);
      expect(await client.lrem('c', 0, '1')).toBe(0);
      expect(await client.linsert('c', 'BEFORE', '1', '2')).toBe(0);
      expect(await client.call('LMOVE', 'c', 'd', 'LEFT', 'LEFT')).toBeNull();
      expect(await client.dbsize()).toBe(2);
      expect(await client.exists('c', 'd')).toBe(0);
      expect(await client.lpop('a')).toBe('1');
      expect(await client.dbsize()).toBe(1);
      // Pushes and pops keep the TTL, as in Redis; expiry removes the list and a new one starts clean.
      expect(await client.pexpire('b', 100_000)).toBe(1);
      await client.rpush('b', '3');
      await client.lpop('b');
      await client.lset('b', 0, 'x');
      expect(await client.pttl('b')).toBeGreaterThan(90_000);
      expect(await client.pexpire('b', 30)).toBe(1);
      await new Promise((r) => setTimeout(r, 80));
      expect(await client.llen('b')).toBe(0);
      expect(await client.rpush('b', 'fresh')).toBe(1);
      expect(await client.lrange('b', 0, -1)).toEqual(['fresh']);
      expect(await client.pttl('b')).toBe(-1);
      expect(await client.dbsize()).toBe(1);
    } finally {
      await client.flushdb();
      await client.select(0);
    }
  });

  /** Random operations on `keys`, replayed on Cairn, the model and redis-server; returns the mismatches. */
  async function modelRun(seed: number, steps: number, keys: string[], alphabet: string[], prefill: number): Promise<string[]> {
    const ours = await rawClient(server.port, 2, 4);
    const theirs = oracle ? await rawClient(oracle.port, 2, 4) : null;
    const both = async (args: Arg[]): Promise<string> => {
      const got = await send(ours, args);
      if (theirs) await send(theirs, args);
      return got;
    };
    const model = new Model('mstr');
    const mismatches: string[] = [];
    try {
      await both(['FLUSHDB']);
      await both(['SET', 'mstr', 'v']);
      const next = commandGenerator(seed, keys, 'mstr', alphabet, prefill > 0);
      // Prefilled lists hold the first half of the alphabet in their first half and the second
      // half in their second, so pivots and matches fall on both sides of the middle.
      const half = alphabet.length >> 1;
      for (const k of keys) {
        if (prefill === 0) continue;
        const items = Array.from({ length: prefill }, (_, i) => alphabet[(i < prefill / 2 ? 0 : half) + ((i * 7) % half)]!);
        await both(['RPUSH', k, ...items]);
        model.apply(['rpush', k, ...items]);
      }
      for (let step = 0; step < steps && mismatches.length < 5; step++) {
        const args = next();
        const expected = model.apply(args);
        const got = await send(ours, args);
        if (JSON.stringify(decode(got)) !== JSON.stringify(expected)) {
          mismatches.push(`step ${step} ${args.join(' ')}: model ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
        }
        if (theirs) {
          const want = await send(theirs, args);
          if (want !== got) mismatches.push(`step ${step} ${args.join(' ')}: redis-server ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
        }
      }
      // The end state agrees too.
      for (const k of keys) {
        const got = decode(await send(ours, ['LRANGE', k, '0', '-1']));
        expect(got, k).toEqual(model.lists.get(k) ?? []);
      }
    } finally {
      ours.close();
      theirs?.close();
    }
    return mismatches;
  }

  it('agrees with an in-memory model and redis-server over random operations (short lists)', async () => {
    expect(await modelRun(4242 + shards, 1500, ['x', 'y', 'z'], ['a', 'b', 'c', 'd', '1', '22'], 0)).toEqual([]);
  });

  it('agrees with the model on long lists (iterators, renumbering either side, windows from the right)', async () => {
    const alphabet = Array.from({ length: 40 }, (_, i) => `v${i}`);
    expect(await modelRun(99 + shards, 400, ['x', 'y'], alphabet, 600)).toEqual([]);
  });

  it('holds a long list: both ends, the middle, slices, trim, search, middle changes, DEL and re-create', async () => {
    const N = 20_000;
    const item = (i: number): string => `item:${i}`;
    const pipe = client.pipeline();
    for (let i = 0; i < N; i++) pipe.rpush('big', item(i));
    const lengths = (await pipe.exec())!.map(([e, v]) => (e ? e.message : v));
    // Pipelined pushes run in order: the replies count up.
    expect(lengths.every((n, i) => n === i + 1)).toBe(true);
    // Ten pushes on the left move the head below index 0.
    await client.lpush('big', ...Array.from({ length: 10 }, (_, i) => `head:${i}`));
    const expected: string[] = [...Array.from({ length: 10 }, (_, i) => `head:${9 - i}`), ...Array.from({ length: N }, (_, i) => item(i))];
    const n = expected.length;
    expect(await client.llen('big')).toBe(n);
    expect(await client.lindex('big', 0)).toBe(expected[0]);
    expect(await client.lindex('big', -1)).toBe(expected[n - 1]);
    expect(await client.lindex('big', 10)).toBe(item(0));
    expect(await client.lindex('big', n >> 1)).toBe(expected[n >> 1]);
    expect(await client.lindex('big', -(n >> 1))).toBe(expected[n - (n >> 1)]);
    expect(await client.lindex('big', n)).toBeNull();
    for (const [a, b] of [[0, 9], [5, 15], [9000, 9100], [100, 5000], [-300, -1], [-1, -1], [n - 5, n + 5], [0, -1]] as const) {
      const from = a < 0 ? n + a : a;
      const to = (b < 0 ? n + b : Math.min(b, n - 1)) + 1;
      const got = await client.lrange('big', a, b);
      expect(got.length, `${a} ${b}`).toBe(to - from);
      expect(got[0]).toBe(expected[from]);
      expect(got[got.length - 1]).toBe(expected[to - 1]);
      expect(got).toEqual(expected.slice(from, to));
    }
    await client.lset('big', n >> 1, 'middle');
    expected[n >> 1] = 'middle';
    expect(await client.lpos('big', 'middle')).toBe(n >> 1);
    expect(await client.call('LPOS', 'big', 'middle', 'RANK', '-1')).toBe(n >> 1);
    // item(5) sits at position 15: MAXLEN 16 reaches it, MAXLEN 15 does not.
    expect(await client.call('LPOS', 'big', item(5), 'MAXLEN', '16')).toBe(15);
    expect(await client.call('LPOS', 'big', item(5), 'MAXLEN', '15')).toBeNull();
    expect(await client.call('LPOS', 'big', item(5), 'MAXLEN', '16', 'RANK', '-1')).toBeNull();
    expect(await client.call('LPOS', 'big', item(N - 3), 'MAXLEN', '3', 'RANK', '-1')).toBe(n - 3);
    expect(await client.call('LPOS', 'big', item(N - 4), 'MAXLEN', '3', 'RANK', '-1')).toBeNull();
    expect(await client.call('LPOS', 'big', item(N - 4), 'MAXLEN', '3', 'COUNT', '0')).toEqual([]);
    expect(await client.call('LPOS', 'big', 'nothing', 'COUNT', '0')).toEqual([]);
    // Middle changes: an insertion near each end and in the middle, then removals.
    expect(await client.linsert('big', 'AFTER', item(100), 'ins:a')).toBe(n + 1);
    expected.splice(10 + 101, 0, 'ins:a');
    expect(await client.linsert('big', 'BEFORE', item(N - 50), 'ins:b')).toBe(n + 2);
    expected.splice(expected.indexOf(item(N - 50)), 0, 'ins:b');
    expect(await client.linsert('big', 'BEFORE', 'middle', 'ins:c')).toBe(n + 3);
    expected.splice(expected.indexOf('middle'), 0, 'ins:c');
    expect(await client.lrem('big', 1, 'ins:c')).toBe(1);
    expected.splice(expected.indexOf('ins:c'), 1);
    expect(await client.lrem('big', -1, item(3))).toBe(1);
    expected.splice(expected.indexOf(item(3)), 1);
    expect(await client.lrem('big', 0, item(N - 2))).toBe(1);
    expected.splice(expected.indexOf(item(N - 2)), 1);
    expect(await client.lrange('big', 0, -1)).toEqual(expected);
    // LTRIM moves both ends; the trimmed entries are gone for good.
    expect(await client.ltrim('big', 1000, -1001)).toBe('OK');
    const kept = expected.slice(1000, expected.length - 1000);
    expect(await client.llen('big')).toBe(kept.length);
    expect(await client.lindex('big', 0)).toBe(kept[0]);
    expect(await client.lindex('big', -1)).toBe(kept[kept.length - 1]);
    expect(await client.lrange('big', 0, -1)).toEqual(kept);
    expect(await client.lpos('big', expected[999]!)).toBeNull();
    // Pops by count from both ends.
    expect(await client.lpop('big', 500)).toEqual(kept.slice(0, 500));
    expect(await client.rpop('big', 500)).toEqual(kept.slice(kept.length - 500).reverse());
    const rest = kept.slice(500, kept.length - 500);
    expect(await client.lrange('big', 0, -1)).toEqual(rest);
    // DEL is O(1); a list re-created under the same name sees none of the old entries.
    expect(await client.del('big')).toBe(1);
    expect(await client.llen('big')).toBe(0);
    expect(await client.rpush('big', 'fresh:0', 'fresh:1')).toBe(2);
    expect(await client.lrange('big', 0, -1)).toEqual(['fresh:0', 'fresh:1']);
    expect(await client.lindex('big', 2)).toBeNull();
    expect(await client.lindex('big', -3)).toBeNull();
    expect(await client.lpush('big', 'fresh:-1')).toBe(3);
    expect(await client.lrange('big', -100, 100)).toEqual(['fresh:-1', 'fresh:0', 'fresh:1']);
    expect(await client.lpos('big', item(0))).toBeNull();
    await client.del('big');
  });

  it('moves elements between lists on two shards atomically under concurrent clients', async () => {
    // Every move takes the head of one list to the tail of the other, so the two lists read one
    // after the other always hold a rotation of the original sequence: nothing lost, nothing twice.
    const N = 200;
    const original = Array.from({ length: N }, (_, i) => `e${i}`);
    await client.del('ring:a', 'ring:b');
    await client.rpush('ring:a', ...original);
    const workers = Array.from({ length: 4 }, () => connect(server.port, { protocol: 2 }));
    let moves = 0;
    try {
      await Promise.all(workers.map(async (w, wi) => {
        for (let round = 0; round < 6; round++) {
          const pipe = w.pipeline();
          for (let i = 0; i < 40; i++) {
            const toB = (i + wi + round) % 3 !== 0;
            if (i % 5 === 0) pipe.rpoplpush(toB ? 'ring:a' : 'ring:b', toB ? 'ring:b' : 'ring:a');
            else pipe.lmove(toB ? 'ring:a' : 'ring:b', toB ? 'ring:b' : 'ring:a', 'LEFT', 'RIGHT');
          }
          for (const [e, v] of (await pipe.exec())!) {
            expect(e).toBeNull();
            if (v !== null) {
              expect(original).toContain(v);
              moves++;
            }
          }
        }
      }));
      // A list emptied by the moves is deleted (and re-created by the next push).
      const a = await client.lrange('ring:a', 0, -1);
      const b = await client.lrange('ring:b', 0, -1);
      expect(a.length + b.length).toBe(N);
      expect((await client.llen('ring:a')) + (await client.llen('ring:b'))).toBe(N);
      const all = [...a, ...b];
      expect(new Set(all).size).toBe(N);
      // RPOPLPUSH pushes on the left, so only the LMOVE moves keep the rotation; check the set.
      expect([...all].sort()).toEqual([...original].sort());
      expect(moves).toBeGreaterThan(500);
    } finally {
      for (const w of workers) w.disconnect();
      await client.del('ring:a', 'ring:b');
    }
  });

  it('keeps the rotation order under concurrent cross-shard LMOVE LEFT RIGHT', async () => {
    const N = 100;
    const original = Array.from({ length: N }, (_, i) => `r${i}`);
    await client.del('ring:a', 'ring:b');
    await client.rpush('ring:a', ...original);
    const workers = Array.from({ length: 3 }, () => connect(server.port, { protocol: 2 }));
    try {
      await Promise.all(workers.map(async (w, wi) => {
        const pipe = w.pipeline();
        for (let i = 0; i < 150; i++) {
          const toB = (i + wi) % 4 !== 0;
          pipe.lmove(toB ? 'ring:a' : 'ring:b', toB ? 'ring:b' : 'ring:a', 'LEFT', 'RIGHT');
        }
        for (const [e] of (await pipe.exec())!) expect(e).toBeNull();
      }));
      const all = [...(await client.lrange('ring:a', 0, -1)), ...(await client.lrange('ring:b', 0, -1))];
      expect(all.length).toBe(N);
      const start = original.indexOf(all[0]!);
      expect(all).toEqual([...original.slice(start), ...original.slice(0, start)]);
    } finally {
      for (const w of workers) w.disconnect();
      await client.del('ring:a', 'ring:b');
    }
  });

  it('LMPOP over keys on several shards: concurrent consumers get every element exactly once', async () => {
    await client.del('q:a', 'q:b');
    const producers = Array.from({ length: 2 }, () => connect(server.port, { protocol: 2 }));
    const consumers = Array.from({ length: 3 }, () => connect(server.port, { protocol: 2 }));
    const N = 300;
    const received: string[] = [];
    try {
      let produced = 0;
      const produce = Promise.all(producers.map(async (p, pi) => {
        for (let i = 0; i < N / 2; i += 10) {
          const pipe = p.pipeline();
          for (let j = i; j < i + 10; j++) pipe.rpush(j % 2 ? 'q:a' : 'q:b', `p${pi}:${j}`);
          await pipe.exec();
          produced += 10;
        }
      }));
      const consume = Promise.all(consumers.map(async (c) => {
        while (produced < N || (await client.exists('q:a', 'q:b')) > 0) {
          const pipe = c.pipeline();
          for (let i = 0; i < 5; i++) pipe.call('LMPOP', '2', 'q:a', 'q:b', i % 2 ? 'LEFT' : 'RIGHT', 'COUNT', '3');
          for (const [e, v] of (await pipe.exec())!) {
            expect(e).toBeNull();
            if (v === null) continue;
            const [key, items] = v as [string, string[]];
            expect(['q:a', 'q:b']).toContain(key);
            expect(items.length).toBeGreaterThan(0);
            expect(items.length).toBeLessThanOrEqual(3);
            received.push(...items);
          }
        }
      }));
      await Promise.all([produce, consume]);
      expect(received.length).toBe(N);
      expect(new Set(received).size).toBe(N);
      expect(await client.exists('q:a', 'q:b')).toBe(0);
    } finally {
      for (const c of [...producers, ...consumers]) c.disconnect();
    }
  });

  it('LMPOP takes the first non-empty key in argument order, across shards', async () => {
    await client.del('mp1', 'mp2', 'mp3');
    await client.rpush('mp3', 'c1', 'c2');
    await client.rpush('mp1', 'a1');
    expect(await client.call('LMPOP', '3', 'mp2', 'mp3', 'mp1', 'LEFT')).toEqual(['mp3', ['c1']]);
    expect(await client.call('LMPOP', '3', 'mp2', 'mp1', 'mp3', 'LEFT', 'COUNT', '9')).toEqual(['mp1', ['a1']]);
    expect(await client.call('LMPOP', '3', 'mp2', 'mp1', 'mp3', 'RIGHT', 'COUNT', '9')).toEqual(['mp3', ['c2']]);
    expect(await client.call('LMPOP', '3', 'mp2', 'mp1', 'mp3', 'RIGHT', 'COUNT', '9')).toBeNull();
    // An expired key counts as missing.
    await client.rpush('mp1', 'gone');
    await client.pexpire('mp1', 1);
    await client.rpush('mp2', 'b1');
    await new Promise((r) => setTimeout(r, 20));
    expect(await client.call('LMPOP', '2', 'mp1', 'mp2', 'LEFT')).toEqual(['mp2', ['b1']]);
    expect(await client.exists('mp1', 'mp2', 'mp3')).toBe(0);
  });

  it('keeps lists across a restart', async () => {
    await client.del('persist');
    await client.rpush('persist', 'b', 'c');
    await client.lpush('persist', 'a');
    await client.linsert('persist', 'AFTER', 'b', 'b2');
    const dir = server.dir;
    client.disconnect();
    expect(await server.stop()).toBe(0);
    server = await startServer({ shards, dir });
    client = connect(server.port, { protocol: 2 });
    expect(await client.lrange('persist', 0, -1)).toEqual(['a', 'b', 'b2', 'c']);
    expect(await client.lindex('persist', -1)).toBe('c');
    expect(await client.rpush('persist', 'd')).toBe(5);
    await client.del('persist');
  });
});
