/**
 * Client sockets read into one buffer shared by every connection of the front thread.
 *
 * A net.Socket in its default mode allocates a fresh 64 KB buffer for every read (malloc, then a
 * realloc down to the bytes read, an ArrayBuffer for V8 to track and sweep later) and pushes it
 * through a Readable stream to a 'data' listener. Unpipelined, that is one allocation and one
 * trip through the stream machinery per command; perf showed malloc, free and V8's
 * ArrayBuffer sweeping at ~5% of the front thread's time under redis-benchmark. Node's socket
 * `onread` option reads into a caller's buffer instead and calls back with the byte count; the
 * front thread parses every read synchronously, so one buffer serves every connection.
 *
 * Node's net.Server has no way to create its sockets with `onread`, so the server accepts with
 * `pauseOnConnect` (nothing read yet) and the connection's handle moves to a socket made here;
 * the accepted one, left without a handle, is destroyed at once (that only settles the server's
 * connection count).
 *
 * Consequence for the parser and everything after it: arguments handed out by the decoder are
 * views of the shared buffer, valid until the read callback returns. The decoder copies what it
 * keeps of an incomplete command; a command that runs at once on a shard is copied into the
 * shard's frame; everything else that outlives the call (queued commands, commands run on the
 * front thread) goes through ownArgs().
 */
import net from 'node:net';
import { copyBytes } from '../util/bytes.js';

/** libuv's suggested read size for a stream (what Node's own reads allocate). */
const READ_BUFFER_BYTES = 64 * 1024;
const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);

/** net.Socket's handle field (not in @types/node). */
interface WithHandle {
  _handle: unknown;
}

/**
 * Takes over the connection of `accepted` (accepted with pauseOnConnect: true): returns a socket
 * on the same handle that calls `onData` with each read's bytes, a view of the shared buffer.
 */
export function adoptConnection(accepted: net.Socket, onData: (bytes: Buffer) => void): net.Socket {
  const handle = (accepted as unknown as WithHandle)._handle;
  (accepted as unknown as WithHandle)._handle = null;
  accepted.destroy();
  const options = {
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer: readBuffer,
      callback: (n: number, buf: Buffer): void => onData(buf.subarray(0, n)),
    },
  };
  return new net.Socket(options as net.SocketConstructorOpts);
}

/** The arguments in memory of their own (one allocation), for a command kept past the read. */
export function ownArgs(args: Buffer[]): Buffer[] {
  let total = 0;
  for (let i = 0; i < args.length; i++) total += args[i]!.length;
  const mem = Buffer.allocUnsafe(total);
  const out: Buffer[] = new Array(args.length);
  let p = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    copyBytes(a, 0, mem, p, a.length);
    out[i] = mem.subarray(p, p + a.length);
    p += a.length;
  }
  return out;
}
