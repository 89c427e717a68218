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
import { ObufState, OBUF_UNCOUNTED_BYTES, type ObufLimit } from '../output-buffer-limits.js';
import { ownArgs } from './client-socket.js';
import { addon } from '../storage/native-addon.js';

/** Direct socket writes (see Client.send); absent without the native addon. */
const fdWrite = addon?.fdWrite;

/**
 * Flow control. A client's commands run only while
 *  - fewer than MAX_INFLIGHT of them wait for their reply to be written,
 *  - those in flight would produce at most about INFLIGHT_BYTES of replies, by an estimate of its
 *    reply size (the largest recent reply, decaying towards smaller ones): about 80 GETs of 100 KB
 *    values, the full MAX_INFLIGHT of INCRs. A new client starts at INFLIGHT_BYTES / 64 a reply;
 *  - fewer than OUTPUT_HIGH_WATER reply bytes wait to be written (the client is not reading).
 * Otherwise parsed commands wait in order (at most what one read parsed) and the socket is not
 * read, so a client that sends a big pipeline and never reads holds a bounded amount of memory
 * (about INFLIGHT_BYTES + OUTPUT_HIGH_WATER + one read), whatever client-output-buffer-limit says.
 */
const MAX_INFLIGHT = 16 * 1024;
const INFLIGHT_BYTES = 8 * 1024 * 1024;
const OUTPUT_HIGH_WATER = 1024 * 1024;
/** How fast the reply size estimate follows smaller replies (1/32 of the gap per reply). */
const ESTIMATE_DECAY = 32;

export interface ClientHost {
  execute(client: Client, args: Buffer[]): void;
  markDirty(client: Client): void;
  onClose(client: Client): void;
  onProtocolError(client: Client, err: ProtocolError): void;
  countInput(n: number): void;
  countOutput(n: number): void;
  /** The client-output-buffer-limit class that applies to this client. */
  outputLimit(client: Client): ObufLimit;
  /** The client reached its output buffer limit: the host closes it. */
  onOutputLimit(client: Client): void;
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
  /**
   * Parsed commands waiting to run (busy, or flow control), from queueHead on; a Buffer instead of
   * arguments is a protocol error reply, sent (and the client closed) once what precedes it ran.
   */
  private queue: (Buffer[] | Buffer)[] = [];
  private queueHead = 0;
  private readonly decoder: RequestDecoder;

  // Reply slots: replies[i] answers sequence number base + i.
  private replies: (Buffer | undefined)[] = [];
  private base = 0;
  private nextSeq = 0;
  /** Bytes of the replies in `replies` (delivered, not yet written to the socket). */
  private readyBytes = 0;
  /** Estimated bytes of one reply of this client, for flow control. */
  private replyEstimate = INFLIGHT_BYTES / 64;
  private readonly obuf = new ObufState();
  private closeAtSeq = -1;
  /** After QUIT or a protocol error nothing more is parsed. */
  private inputClosed = false;
  private closed = false;
  private paused = false;
  private waitingDrain = false;

  constructor(readonly id: number, readonly socket: Socket, limits: DecoderLimits, private readonly host: ClientHost) {
    this.decoder = new RequestDecoder(limits);
    this.addr = `${socket.remoteAddress}:${socket.remotePort}`;
    this.laddr = `${socket.localAddress}:${socket.localPort}`;
    this.fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
    socket.on('close', () => this.onClose());
    socket.on('error', () => this.onClose());
    socket.on('drain', () => {
      this.waitingDrain = false;
      this.resume();
    });
  }

  private readonly sink = (args: Buffer[]): void => {
    if (this.inputClosed) return; // after QUIT nothing more runs
    if (this.queueHead < this.queue.length || !this.canRun()) this.queue.push(ownArgs(args));
    else this.host.execute(this, args);
  };

  /**
   * Bytes read from the socket. `chunk` is the front thread's shared read buffer (see
   * client-socket.ts): valid only during this call, so commands that wait are copied.
   */
  readonly onData = (chunk: Buffer): void => {
    this.host.countInput(chunk.length);
    this.lastInteraction = Date.now();
    // Closing after QUIT or a protocol error: later input is not parsed (as in Redis), so it
    // cannot add a second error reply or run a command.
    if (this.inputClosed) return;
    try {
      this.decoder.feed(chunk, this.sink);
    } catch (e) {
      if (e instanceof ProtocolError) this.host.onProtocolError(this, e);
      else throw e;
    }
    this.updateFlow();
  };

  /** Whether the next command may run now (see the flow control notes at the top). */
  private canRun(): boolean {
    if (this.busy || this.closed || this.closeAtSeq >= 0) return false;
    const inflight = this.nextSeq - this.base;
    if (inflight >= MAX_INFLIGHT || inflight * this.replyEstimate >= INFLIGHT_BYTES) return false;
    return this.pendingOutput() < OUTPUT_HIGH_WATER;
  }

  /** Runs queued commands while flow control allows (not busy, replies drained). */
  resume(): void {
    while (this.queueHead < this.queue.length && this.canRun()) {
      const next = this.queue[this.queueHead]!;
      this.queue[this.queueHead++] = undefined as never;
      if (Array.isArray(next)) this.host.execute(this, next);
      else this.sendErrorAndClose(next);
    }
    if (this.queueHead > 0 && this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    }
    this.updateFlow();
  }

  /** Takes the next reply slot. */
  slot(): number {
    this.replies.push(undefined);
    this.awaiting++;
    return this.nextSeq++;
  }

  /** Commands of this client whose reply has not arrived yet. */
  awaiting = 0;

  deliver(seq: number, reply: Buffer): void {
    if (this.closed) return;
    if (this.replies[seq - this.base] === undefined) this.awaiting--;
    this.replies[seq - this.base] = reply;
    this.readyBytes += reply.length;
    // The estimate jumps to a larger reply at once and follows smaller ones slowly.
    const est = this.replyEstimate;
    this.replyEstimate = reply.length >= est ? reply.length : est - (est - reply.length) / ESTIMATE_DECAY;
    if (seq === this.base) this.host.markDirty(this);
    this.checkOutputLimit();
  }

  /**
   * Closes the client (through the host) when its unsent replies are over client-output-buffer-limit.
   * Checked when a reply arrives, as Redis does, and once a second by the server (a client whose
   * commands flow control holds back gets no new replies, yet may stay over the soft limit).
   */
  checkOutputLimit(): void {
    if (this.closed) return;
    const limit = this.host.outputLimit(this);
    if (limit.hard === 0 && limit.soft === 0) return;
    const used = Math.max(0, this.pendingOutput() - OBUF_UNCOUNTED_BYTES);
    if (this.obuf.overLimit(limit, used)) this.host.onOutputLimit(this);
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
    this.readyBytes -= out.length;
    this.host.countOutput(out.length);
    this.send(out);
    if (this.closeAtSeq >= 0 && this.base > this.closeAtSeq) {
      this.socket.end();
      this.closed = true;
      return;
    }
    this.resume();
  }

  /**
   * Writes `out` with one write(2) straight to the socket's fd when nothing waits in its stream
   * (native/fd_write.cc: no Writable stream, WriteWrap or after-write callback per reply); what
   * the kernel does not take, or a write that fails, goes through the stream, which retries it,
   * keeps the order and reports errors as usual.
   */
  private send(out: Buffer): void {
    const s = this.socket as Socket & { _handle?: { fd?: number } | null };
    if (fdWrite !== undefined && !this.waitingDrain && s.writableLength === 0 && !s.destroyed) {
      const fd = s._handle?.fd ?? -1;
      if (fd >= 0) {
        const n = fdWrite(fd, out);
        if (n === out.length) return;
        if (n > 0) out = out.subarray(n);
      }
    }
    if (!this.socket.write(out)) this.waitingDrain = true;
  }

  /** Reads only while commands can run and nothing parsed waits, and the socket is not backed up. */
  private updateFlow(): void {
    if (this.closed) return;
    const shouldPause = this.waitingDrain || this.queueHead < this.queue.length || !this.canRun();
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** QUIT, CLIENT KILL of itself: close once every reply queued so far is written; nothing more runs. */
  closeAfterReplies(): void {
    this.closeAtSeq = this.nextSeq - 1;
    this.inputClosed = true;
    this.queue = [];
    this.queueHead = 0;
  }

  /**
   * A protocol error: nothing more is parsed; the commands parsed before it still run, then the
   * error reply is sent and the client closed.
   */
  failAndClose(reply: Buffer): void {
    this.inputClosed = true;
    // Busy: a command waiting for its shards has not taken its reply slot yet.
    if (this.busy || this.queueHead < this.queue.length) this.queue.push(reply);
    else this.sendErrorAndClose(reply);
  }

  private sendErrorAndClose(reply: Buffer): void {
    const seq = this.slot();
    this.closeAtSeq = seq;
    this.queue = [];
    this.queueHead = 0;
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

  /** Reply bytes not yet sent: waiting in order here, or queued in the socket (CLIENT LIST omem). */
  outputBufferLength(): number {
    return this.pendingOutput();
  }

  private pendingOutput(): number {
    return this.readyBytes + this.socket.writableLength;
  }
}
