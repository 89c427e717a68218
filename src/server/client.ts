/**
 * One client connection on the front thread: parses its bytes, keeps its state, and writes its
 * replies in request order whatever order shards answer in.
 *
 * Each command takes a sequence slot. Replies fill slots; the ready prefix is written with one
 * socket write per connection per turn.
 */
import type { Socket } from 'node:net';
import { RequestDecoder, ProtocolError, type DecoderLimits } from './resp/decoder.js';
import type { ClientState } from './context.js';
import type { ReplyTarget } from './shards.js';

/** Stop reading from a client with this many replies outstanding; resume at half. */
const MAX_INFLIGHT = 16 * 1024;

export interface ClientHost {
  execute(client: Client, args: Buffer[]): void;
  markDirty(client: Client): void;
  onClose(client: Client): void;
  onProtocolError(client: Client, err: ProtocolError): void;
  countInput(n: number): void;
  countOutput(n: number): void;
}

export class Client implements ClientState, ReplyTarget {
  name = '';
  db = 0;
  resp: 2 | 3 = 2;
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  lastCommand = 'NULL';
  libName = '';
  libVersion = '';
  readonly addr: string;
  readonly laddr: string;
  readonly fd: number;

  /** A coordinated command (or a wait for reserved shards) is running: later commands queue. */
  busy = false;
  private queued: Buffer[][] = [];
  private readonly decoder: RequestDecoder;

  // Reply slots: replies[i] answers sequence number base + i.
  private replies: (Buffer | undefined)[] = [];
  private base = 0;
  private nextSeq = 0;
  private closeAtSeq = -1;
  private closed = false;
  private paused = false;
  private waitingDrain = false;

  constructor(readonly id: number, readonly socket: Socket, limits: DecoderLimits, private readonly host: ClientHost) {
    this.decoder = new RequestDecoder(limits);
    this.addr = `${socket.remoteAddress}:${socket.remotePort}`;
    this.laddr = `${socket.localAddress}:${socket.localPort}`;
    this.fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
    socket.on('data', this.onData);
    socket.on('close', () => this.onClose());
    socket.on('error', () => this.onClose());
    socket.on('drain', () => {
      this.waitingDrain = false;
      this.updateFlow();
    });
  }

  private readonly sink = (args: Buffer[]): void => {
    if (this.closeAtSeq >= 0) return; // after QUIT nothing more runs
    if (this.busy || this.queued.length > 0) this.queued.push(args);
    else this.host.execute(this, args);
  };

  private readonly onData = (chunk: Buffer): void => {
    this.host.countInput(chunk.length);
    this.lastInteraction = Date.now();
    // Closing after QUIT or a protocol error: later input is not parsed (as in Redis), so it
    // cannot add a second error reply or run a command.
    if (this.closeAtSeq >= 0) return;
    try {
      this.decoder.feed(chunk, this.sink);
    } catch (e) {
      if (e instanceof ProtocolError) this.host.onProtocolError(this, e);
      else throw e;
    }
    this.updateFlow();
  };

  /** Runs queued commands once the client is no longer busy. */
  resume(): void {
    while (!this.busy && this.queued.length > 0 && this.closeAtSeq < 0) {
      this.host.execute(this, this.queued.shift()!);
    }
    this.updateFlow();
  }

  /** Takes the next reply slot. */
  slot(): number {
    this.replies.push(undefined);
    return this.nextSeq++;
  }

  deliver(seq: number, reply: Buffer): void {
    if (this.closed) return;
    this.replies[seq - this.base] = reply;
    if (seq === this.base) this.host.markDirty(this);
  }

  /** Writes the ready prefix of replies (called once per turn for dirty clients). */
  flush(): void {
    if (this.closed) return;
    let n = 0;
    while (n < this.replies.length && this.replies[n] !== undefined) n++;
    if (n === 0) return;
    const ready = this.replies.splice(0, n) as Buffer[];
    this.base += n;
    const out = n === 1 ? ready[0]! : Buffer.concat(ready);
    this.host.countOutput(out.length);
    if (!this.socket.write(out)) this.waitingDrain = true;
    if (this.closeAtSeq >= 0 && this.base > this.closeAtSeq) {
      this.socket.end();
      this.closed = true;
      return;
    }
    this.updateFlow();
  }

  /** Pauses reading while too many replies are outstanding or the socket is backed up. */
  private updateFlow(): void {
    if (this.closed) return;
    const outstanding = this.nextSeq - this.base + this.queued.length;
    const shouldPause = this.waitingDrain || outstanding > MAX_INFLIGHT;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!shouldPause && this.paused && outstanding < MAX_INFLIGHT / 2) {
      this.paused = false;
      this.socket.resume();
    }
  }

  closeAfterReplies(): void {
    this.closeAtSeq = this.nextSeq - 1;
  }

  /** Sends an error reply (already queued in order) and closes after it: protocol errors. */
  failAndClose(reply: Buffer): void {
    const seq = this.slot();
    this.closeAtSeq = seq;
    this.queued = [];
    this.deliver(seq, reply);
  }

  kill(): void {
    this.closed = true;
    this.socket.destroy();
    this.onClose();
  }

  private closeNotified = false;
  private onClose(): void {
    this.closed = true;
    if (this.closeNotified) return;
    this.closeNotified = true;
    this.host.onClose(this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  queryBufferLength(): number {
    return this.decoder.bufferedBytes;
  }

  outputBufferLength(): number {
    return this.socket.writableLength;
  }
}
