/**
 * The binary messages between the front thread and a shard worker.
 *
 * Front -> shard, one frame per shard per event-loop turn (an exact-size ArrayBuffer, transferred):
 *   count(u32) then per command: resp(u8) db(u8) command-id(u16) argc(u32), then per argument len(u32) bytes
 *   (command-id is the command's index in the command table, which both threads load alike)
 * Shard -> front, one frame per group commit:
 *   count(u32) then count x len(u32), then the replies' RESP bytes back to back.
 * Little-endian: these never touch disk.
 */

export class FrameBuilder {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private len = 4;
  count = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  add(resp: number, db: number, id: number, args: readonly (Buffer | string)[]): void {
    let size = 8;
    for (const a of args) size += 4 + (typeof a === 'string' ? Buffer.byteLength(a) : a.length);
    this.ensure(size);
    const b = this.buf;
    let p = this.len;
    b[p] = resp;
    b[p + 1] = db;
    b.writeUInt16LE(id, p + 2);
    b.writeUInt32LE(args.length, p + 4);
    p += 8;
    for (const a of args) {
      if (typeof a === 'string') {
        const n = b.write(a, p + 4);
        b.writeUInt32LE(n, p);
        p += 4 + n;
      } else {
        b.writeUInt32LE(a.length, p);
        a.copy(b, p + 4);
        p += 4 + a.length;
      }
    }
    this.len = p;
    this.count++;
  }

  /** An exact-size ArrayBuffer holding the frame (safe to transfer); resets the builder. */
  take(): ArrayBuffer {
    this.buf.writeUInt32LE(this.count, 0);
    const ab = new ArrayBuffer(this.len);
    new Uint8Array(ab).set(this.buf.subarray(0, this.len));
    this.len = 4;
    this.count = 0;
    // Do not keep a huge buffer around after a burst of big values.
    if (this.buf.length > 4 * 1024 * 1024) this.buf = Buffer.allocUnsafe(64 * 1024);
    return ab;
  }
}

export interface DecodedCommand {
  resp: 2 | 3;
  db: number;
  id: number;
  args: Buffer[];
}

/** Decodes a front->shard frame; arguments are views into it. */
export function decodeFrame(ab: ArrayBuffer): DecodedCommand[] {
  const b = Buffer.from(ab);
  const count = b.readUInt32LE(0);
  const out: DecodedCommand[] = new Array(count);
  let p = 4;
  for (let i = 0; i < count; i++) {
    const resp = b[p] as 2 | 3;
    const db = b[p + 1]!;
    const id = b.readUInt16LE(p + 2);
    const argc = b.readUInt32LE(p + 4);
    p += 8;
    const args: Buffer[] = new Array(argc);
    for (let j = 0; j < argc; j++) {
      const n = b.readUInt32LE(p);
      args[j] = b.subarray(p + 4, p + 4 + n);
      p += 4 + n;
    }
    out[i] = { resp, db, id, args };
  }
  return out;
}

/** Builds a shard->front reply frame from replies back to back and their lengths. */
export function encodeReplies(payload: Buffer, lens: number[]): ArrayBuffer {
  const head = 4 + 4 * lens.length;
  const ab = new ArrayBuffer(head + payload.length);
  const b = Buffer.from(ab);
  b.writeUInt32LE(lens.length, 0);
  for (let i = 0; i < lens.length; i++) b.writeUInt32LE(lens[i]!, 4 + 4 * i);
  payload.copy(b, head);
  return ab;
}

/** Splits a reply frame into one Buffer view per reply. */
export function decodeReplies(ab: ArrayBuffer): Buffer[] {
  const b = Buffer.from(ab);
  const n = b.readUInt32LE(0);
  const out: Buffer[] = new Array(n);
  let p = 4 + 4 * n;
  for (let i = 0; i < n; i++) {
    const len = b.readUInt32LE(4 + 4 * i);
    out[i] = b.subarray(p, p + len);
    p += len;
  }
  return out;
}
