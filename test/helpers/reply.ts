/**
 * Exact-bytes helpers over RawClient: encode a command, read exactly one complete reply
 * (RESP2 or RESP3), and run a redis-server 7.0 to compare replies with.
 */
import fs from 'node:fs';
import { startOracle, hasRedis, REDIS_SERVER, type OracleServer } from './oracle.js';
import { RawClient } from './raw.js';

export function encodeCommand(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === 'string' ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** End offset of the reply starting at `p`, or -1 when it is not complete yet; throws on a byte that starts no reply type. */
export function replyEnd(b: Buffer, p: number): number {
  if (p >= b.length) return -1;
  const nl = b.indexOf('\r\n', p);
  if (nl < 0) return -1;
  const type = String.fromCharCode(b[p]!);
  const head = b.toString('latin1', p + 1, nl);
  let q = nl + 2;
  switch (type) {
    case '+': case '-': case ':': case '_': case ',': case '#': case '(':
      return q;
    case '$': case '=': case '!': {
      const n = Number(head);
      if (n < 0) return q;
      return b.length >= q + n + 2 ? q + n + 2 : -1;
    }
    case '*': case '~': case '>': case '%': case '|': {
      const n = Number(head);
      const items = n < 0 ? 0 : type === '%' || type === '|' ? n * 2 : n;
      for (let i = 0; i < items; i++) {
        q = replyEnd(b, q);
        if (q < 0) return -1;
      }
      return q;
    }
    default:
      throw new Error(`bad reply type '${type}' in ${JSON.stringify(b.toString('latin1', p, p + 40))}`);
  }
}

/** Waits for one complete reply and returns its bytes (latin1). */
export async function readReply(c: RawClient, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const buf = Buffer.from(c.pending(), 'latin1');
    const end = buf.length > 0 ? replyEnd(buf, 0) : -1;
    if (end > 0) return c.read(end);
    if (c.closed) throw new Error(`connection closed, have ${JSON.stringify(c.pending())}`);
    if (Date.now() > deadline) throw new Error(`timeout waiting for a reply, have ${JSON.stringify(c.pending())}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Sends one command and returns its reply's exact bytes. */
export async function exchange(c: RawClient, ...args: (string | Buffer)[]): Promise<string> {
  c.write(encodeCommand(...args));
  return readReply(c);
}

export { REDIS_SERVER };
export const REDIS_CLI = '/usr/bin/redis-cli';
export const haveRedis = hasRedis();
export const haveRedisCli = fs.existsSync(REDIS_CLI);

export type ReferenceRedis = OracleServer;

/** A throwaway redis-server (the reference implementation) on a free port in a temp dir (see oracle.ts). */
export async function startRedis(): Promise<ReferenceRedis> {
  const o = await startOracle();
  if (!o) throw new Error(`${REDIS_SERVER} is not installed`);
  return o;
}
