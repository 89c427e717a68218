/**
 * A minimal pipelined RESP client for the benches: raw socket, Nagle off, commands written as
 * given, replies (parsed by redis-parser) handed back in order to their callbacks. No queueing,
 * retries or reconnects between the bench's clock and the socket.
 */
import net from 'node:net';
import RedisParser from 'redis-parser';

/** A parsed reply: string, number, null, array, or an Error for an error reply. */
export type Reply = unknown;

/** One command in RESP. Arguments must be ASCII here (string length = byte length). */
export function resp(args: readonly string[]): string {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${a.length}\r\n${a}\r\n`;
  return s;
}

/** One connection: commands go out as written, replies come back in order to their callbacks. */
export class Conn {
  private readonly pending: (((r: Reply) => void) | undefined)[] = [];
  private head = 0;

  private constructor(private readonly sock: net.Socket) {
    const parser = new RedisParser({
      returnReply: (r: Reply) => this.settle(r),
      returnError: (e: Error) => this.settle(e),
      returnFatalError: (e: Error) => sock.destroy(e),
    });
    sock.on('data', (d: Buffer) => parser.execute(d));
    sock.on('close', () => {
      // Whatever is still waiting gets an error reply: callers treat it like any other error.
      while (this.head < this.pending.length) this.settle(new Error('connection closed'));
    });
    sock.on('error', () => {});
  }

  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.off('error', reject);
        sock.setNoDelay(true);
        resolve(new Conn(sock));
      });
      sock.once('error', reject);
    });
  }

  /** Replies not received yet. */
  get inflight(): number {
    return this.pending.length - this.head;
  }

  send(payload: string, onReply: (r: Reply) => void): void {
    this.pending.push(onReply);
    this.sock.write(payload);
  }

  call(payload: string): Promise<Reply> {
    return new Promise((resolve) => this.send(payload, resolve));
  }

  /** call() that throws on an error reply. */
  async ok(args: string[]): Promise<Reply> {
    const r = await this.call(resp(args));
    if (r instanceof Error) throw new Error(`${args.join(' ')}: ${r.message}`);
    return r;
  }

  close(): void {
    this.sock.destroy();
  }

  private settle(r: Reply): void {
    const cb = this.pending[this.head];
    this.pending[this.head++] = undefined;
    if (this.head > 4096 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    cb?.(r);
  }
}

/** INFO text -> { field: value }. */
export function parseInfo(text: string): Record<string, string> {
  return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':')).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
}
