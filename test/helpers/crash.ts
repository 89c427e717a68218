/**
 * The crash workload shared by test/persistence.test.ts and bench/crash.ts: clients write known
 * values and record what was acknowledged until the server goes away (killed), then, against the
 * restarted server, every acknowledged write must be there with its value, and nothing that was
 * never sent may appear.
 *
 * Each client (one connection, `inflight` writers on it) writes, per step n: one of SET of a
 * unique key, HSET of a field, RPUSH, SADD, ZADD (score n) into its own collections, MSET of
 * MSET_KEYS unique keys (on different shards, mostly: all or none of them must be there), plus
 * SET of its counter key to n. One connection keeps its commands in order, so the counter after a
 * restart is at least the highest acknowledged n, and a list holds its elements in send order.
 * No vitest here: bench/ runs it with plain node.
 */
import type { Redis } from 'ioredis';
import { connect } from './client.js';

/** What one client sent and what was acknowledged. */
export interface ClientLog {
  prefix: string;
  /** Unique string keys -> value. */
  strings: Map<string, string>;
  /** Collection element steps (n) sent / acknowledged, per kind. */
  sent: Record<Kind, Set<number>>;
  acked: Record<Kind, Set<number>>;
  counterSent: number;
  counterAcked: number;
  /** Commands acknowledged (each step is two: its write and the counter). */
  writesAcked: number;
}

const KINDS = ['string', 'hash', 'list', 'set', 'zset', 'mset'] as const;
const MSET_KEYS = 3;
const msetKeys = (prefix: string, n: number): string[] => Array.from({ length: MSET_KEYS }, (_, k) => `${prefix}m:${n}:${k}`);
type Kind = (typeof KINDS)[number];

/** A connected client that fails fast once the server is gone, instead of queueing and reconnecting. */
export async function fragileClient(port: number): Promise<Redis> {
  const r = connect(port, { enableOfflineQueue: false, retryStrategy: () => null, reconnectOnError: () => false });
  await new Promise((resolve, reject) => {
    r.once('ready', resolve);
    r.once('error', reject);
  });
  r.on('error', () => undefined); // the server is killed under it: expected
  return r;
}

const keyOf = (prefix: string, kind: Exclude<Kind, 'string' | 'mset'>): string => `${prefix}${kind}`;

function write(r: Redis, log: ClientLog, kind: Kind, n: number): Promise<unknown> {
  const p = log.prefix;
  switch (kind) {
    case 'string': return r.set(`${p}s:${n}`, `v${n}`);
    case 'hash': return r.hset(keyOf(p, 'hash'), `f${n}`, `v${n}`);
    case 'list': return r.rpush(keyOf(p, 'list'), `e${n}`);
    case 'set': return r.sadd(keyOf(p, 'set'), `m${n}`);
    case 'zset': return r.zadd(keyOf(p, 'zset'), n, `m${n}`);
    case 'mset': return r.mset(...msetKeys(p, n).flatMap((k) => [k, `v${n}`]));
  }
}

/**
 * Writes on `r` with `inflight` command pairs in flight until the server goes away. `acked`
 * resolves at the first acknowledged step (a fresh server on a busy machine may take a while),
 * `done` when every writer has stopped (the first failed reply stops a writer).
 */
export function writeUntilGone(r: Redis, prefix: string, inflight = 16): { log: ClientLog; acked: Promise<void>; done: Promise<void> } {
  const set = (): Record<Kind, Set<number>> => ({ string: new Set(), hash: new Set(), list: new Set(), set: new Set(), zset: new Set(), mset: new Set() });
  const log: ClientLog = { prefix, strings: new Map(), sent: set(), acked: set(), counterSent: -1, counterAcked: -1, writesAcked: 0 };
  let next = 0;
  let firstAck!: () => void;
  const acked = new Promise<void>((resolve) => (firstAck = resolve));
  const writer = async (): Promise<void> => {
    for (;;) {
      const n = next++;
      const kind = KINDS[n % KINDS.length]!;
      if (kind === 'string') log.strings.set(`${prefix}s:${n}`, `v${n}`);
      log.sent[kind].add(n);
      log.counterSent = n;
      try {
        await Promise.all([write(r, log, kind, n), r.set(`${prefix}counter`, String(n))]);
      } catch {
        return;
      }
      log.acked[kind].add(n);
      log.counterAcked = Math.max(log.counterAcked, n);
      log.writesAcked += 2;
      firstAck();
    }
  };
  const done = Promise.all(Array.from({ length: inflight }, writer)).then(() => firstAck());
  return { log, acked, done };
}

/** What the restarted server holds of one client's writes, checked against its log. */
export interface Verdict {
  /** Acknowledged writes missing or with another value. */
  lost: string[];
  /** Values that were never sent, elements out of order, or sizes that disagree with contents. */
  corrupt: string[];
  /** Keys of this client present now (for the DBSIZE check). */
  keysPresent: number;
}

const num = (s: string, pre: string): number => (s.startsWith(pre) && /^\d+$/.test(s.slice(pre.length)) ? Number(s.slice(pre.length)) : NaN);

/** Reads one client's keys from the restarted server and checks them against its log. */
export async function verifyClient(r: Redis, log: ClientLog): Promise<Verdict> {
  const v: Verdict = { lost: [], corrupt: [], keysPresent: 0 };
  const p = log.prefix;
  const strings = [...log.strings.keys()];
  const pipe = r.pipeline();
  for (const k of strings) pipe.get(k);
  pipe.get(`${p}counter`);
  pipe.hgetall(keyOf(p, 'hash')).hlen(keyOf(p, 'hash'));
  pipe.lrange(keyOf(p, 'list'), 0, -1).llen(keyOf(p, 'list'));
  pipe.smembers(keyOf(p, 'set')).scard(keyOf(p, 'set'));
  pipe.zrange(keyOf(p, 'zset'), '0', '-1', 'WITHSCORES').zcard(keyOf(p, 'zset'));
  const msets = [...log.sent.mset];
  for (const n of msets) pipe.mget(...msetKeys(p, n));
  const res = (await pipe.exec())!.map(([err, val]) => {
    if (err) throw err;
    return val;
  });
  let i = 0;
  for (const k of strings) {
    const got = res[i++] as string | null;
    const n = num(k, `${p}s:`);
    if (got !== null) {
      v.keysPresent++;
      if (got !== log.strings.get(k)) v.corrupt.push(`${k} = ${got}`);
    } else if (log.acked.string.has(n)) v.lost.push(k);
  }
  const counter = res[i++] as string | null;
  if (counter !== null) v.keysPresent++;
  const c = counter === null ? -1 : Number(counter);
  if (c < log.counterAcked) v.lost.push(`${p}counter = ${counter}, acknowledged ${log.counterAcked}`);
  if (c > log.counterSent) v.corrupt.push(`${p}counter = ${counter}, sent up to ${log.counterSent}`);

  /** Checks the steps found in a collection: sent, acknowledged ones all there, size as read. */
  const check = (kind: Exclude<Kind, 'string' | 'mset'>, found: number[], size: number): void => {
    const key = keyOf(p, kind);
    if (found.length > 0) v.keysPresent++;
    if (size !== found.length) v.corrupt.push(`${key}: size ${size}, ${found.length} elements`);
    const seen = new Set<number>();
    for (const n of found) {
      if (!log.sent[kind].has(n) || seen.has(n)) v.corrupt.push(`${key}: element of step ${n}`);
      seen.add(n);
    }
    for (const n of log.acked[kind]) if (!seen.has(n)) v.lost.push(`${key}: step ${n}`);
  };
  const hash = res[i++] as Record<string, string>;
  const hashSteps: number[] = [];
  for (const [f, val] of Object.entries(hash)) {
    const n = num(f, 'f');
    if (val !== `v${n}`) v.corrupt.push(`${keyOf(p, 'hash')}.${f} = ${val}`);
    hashSteps.push(n);
  }
  check('hash', hashSteps, res[i++] as number);
  const list = (res[i++] as string[]).map((e) => num(e, 'e'));
  for (let j = 1; j < list.length; j++) if (!(list[j]! > list[j - 1]!)) v.corrupt.push(`${keyOf(p, 'list')}: out of order at ${j}`);
  check('list', list, res[i++] as number);
  check('set', (res[i++] as string[]).map((m) => num(m, 'm')), res[i++] as number);
  const z = res[i++] as string[];
  const zSteps: number[] = [];
  for (let j = 0; j < z.length; j += 2) {
    const n = num(z[j]!, 'm');
    if (Number(z[j + 1]) !== n) v.corrupt.push(`${keyOf(p, 'zset')}: ${z[j]} has score ${z[j + 1]}`);
    zSteps.push(n);
  }
  check('zset', zSteps, res[i++] as number);
  for (const n of msets) {
    const values = res[i++] as (string | null)[];
    const present = values.filter((x) => x !== null);
    v.keysPresent += present.length;
    if (present.length > 0 && present.length < MSET_KEYS) v.corrupt.push(`MSET of step ${n}: ${present.length} of ${MSET_KEYS} keys`);
    if (present.some((x) => x !== `v${n}`)) v.corrupt.push(`MSET of step ${n}: ${values.join(',')}`);
    if (present.length === 0 && log.acked.mset.has(n)) v.lost.push(`MSET of step ${n}`);
  }
  return v;
}
