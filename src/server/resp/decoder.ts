/**
 * RESP request decoder for the front thread.
 *
 * Walks bytes with a cursor and hands out arguments as `subarray` views of the socket chunk
 * (no copies, binary safe). The chunk is only valid during feed() (the front thread reads every
 * socket into one shared buffer), so the views are too: whoever keeps arguments past the sink
 * call copies them, and what the decoder keeps of an incomplete command is a copy. An incomplete
 * command is resumed when more bytes come; while a large bulk string is still arriving, chunks
 * are only collected (no re-parse, no quadratic concatenation) until the bytes it needs are there.
 *
 * Errors are Redis' own texts; after one the connection must be closed (as Redis does).
 */

/** Redis: PROTO_INLINE_MAX_SIZE, the longest inline line or count line without a newline. */
export const PROTO_INLINE_MAX_SIZE = 64 * 1024;
/** Redis accepts a multibulk count up to INT_MAX. */
const MAX_MULTIBULK_LEN = 2147483647;
const CR = 13;
const LF = 10;

export class ProtocolError extends Error {
  readonly code = 'CAIRN_PROTOCOL';
}

export interface DecoderLimits {
  /** proto-max-bulk-len */
  maxBulkLen(): number;
  /** client-query-buffer-limit: the unparsed bytes a client may leave pending. */
  maxQueryBuffer(): number;
}

export type CommandSink = (args: Buffer[]) => void;

const EMPTY = Buffer.alloc(0);

export class RequestDecoder {
  private pending: Buffer = EMPTY;
  /** Chunks collected while waiting for `need` bytes in total. */
  private parts: Buffer[] = [];
  private partsLen = 0;
  private need = 0;
  /**
   * Bytes at the start of `pending` that hold whole arguments of the incomplete command. Redis
   * moves parsed arguments out of its query buffer, so client-query-buffer-limit only counts
   * what follows them (the argument still arriving); so does checkQueryLimit().
   */
  private parsedArgBytes = 0;

  constructor(private readonly limits: DecoderLimits) {}

  /** Bytes received but not yet parsed into a whole command. */
  get bufferedBytes(): number {
    return this.pending.length + this.partsLen;
  }

  /**
   * Parses every complete command in `chunk` (plus what was pending), calling `sink` for each.
   * Throws ProtocolError after delivering the commands that came before the bad input.
   */
  feed(chunk: Buffer, sink: CommandSink): void {
    if (this.need > 0) {
      // A command straddles chunks and we know how many bytes it needs: complete it from just
      // those bytes, then parse the rest of this chunk in place (no copy of the whole chunk).
      const have = this.pending.length + this.partsLen;
      if (have + chunk.length < this.need) {
        this.parts.push(Buffer.from(chunk));
        this.partsLen += chunk.length;
        this.checkQueryLimit();
        return;
      }
      const take = this.need - have;
      const head = Buffer.concat([this.pending, ...this.parts, chunk.subarray(0, take)]);
      this.parts = [];
      this.partsLen = 0;
      this.need = 0;
      this.pending = EMPTY;
      const rest = chunk.subarray(take);
      if (!this.parse(head, sink)) {
        // The bytes we took ended inside the command (more arguments follow): go on from there.
        chunk = rest.length > 0 ? Buffer.concat([this.pending, rest]) : this.pending;
        this.pending = EMPTY;
        this.need = 0;
        this.parse(chunk, sink);
        return;
      }
      chunk = rest;
    } else if (this.pending.length > 0) {
      chunk = Buffer.concat([this.pending, chunk]);
      this.pending = EMPTY;
    }
    this.parse(chunk, sink);
  }

  /** Parses every whole command in `chunk`; keeps an incomplete tail as pending. True if nothing is left over. */
  private parse(chunk: Buffer, sink: CommandSink): boolean {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      const next = chunk[pos] === 42 /* '*' */ ? this.multibulk(chunk, pos, sink) : this.inline(chunk, pos, sink);
      if (next < 0) {
        this.pending = Buffer.from(chunk.subarray(pos));
        this.checkQueryLimit();
        return false;
      }
      pos = next;
    }
    return true;
  }

  private checkQueryLimit(): void {
    if (this.bufferedBytes - this.parsedArgBytes > this.limits.maxQueryBuffer()) {
      throw new ProtocolError('client-query-buffer-limit exceeded');
    }
  }

  /*
   * As Redis does, the count lines of a multibulk request end at the first CR, and the byte after
   * it is skipped unchecked (so is the CRLF after bulk data); inline lines end at LF.
   */
  private multibulk(buf: Buffer, start: number, sink: CommandSink): number {
    const len = buf.length;
    this.parsedArgBytes = 0;
    let cr = findCR(buf, start, len);
    if (cr < 0) {
      if (len - start > PROTO_INLINE_MAX_SIZE) throw new ProtocolError('ERR Protocol error: too big mbulk count string');
      return -1;
    }
    if (cr + 1 >= len) return -1;
    const count = parseIntStrict(buf, start + 1, cr);
    if (count === null || count > MAX_MULTIBULK_LEN) throw new ProtocolError('ERR Protocol error: invalid multibulk length');
    let pos = cr + 2;
    if (count <= 0) return pos;
    const args: Buffer[] = new Array(count);
    const maxBulk = this.limits.maxBulkLen();
    for (let i = 0; i < count; i++) {
      this.parsedArgBytes = pos - start;
      if (pos >= len) return -1;
      cr = findCR(buf, pos, len);
      if (cr < 0) {
        if (len - pos > PROTO_INLINE_MAX_SIZE) throw new ProtocolError('ERR Protocol error: too big bulk count string');
        return -1;
      }
      if (cr + 1 >= len) return -1;
      if (buf[pos] !== 36 /* '$' */) {
        throw new ProtocolError(`ERR Protocol error: expected '$', got '${String.fromCharCode(buf[pos]!)}'`);
      }
      const blen = parseIntStrict(buf, pos + 1, cr);
      if (blen === null || blen < 0 || blen > maxBulk) throw new ProtocolError('ERR Protocol error: invalid bulk length');
      const dataStart = cr + 2;
      const end = dataStart + blen + 2;
      if (end > len) {
        // The value is still arriving: remember how many bytes this command needs up to the end
        // of it, so the next chunks are only collected (no re-parse, no copy of whole chunks).
        this.need = end - start;
        return -1;
      }
      args[i] = buf.subarray(dataStart, dataStart + blen);
      pos = end;
    }
    sink(args);
    return pos;
  }

  private inline(buf: Buffer, start: number, sink: CommandSink): number {
    this.parsedArgBytes = 0;
    let nl = buf.indexOf(LF, start);
    // Redis finds the newline with strchr(), which stops at a NUL byte: a NUL before the newline
    // means "no whole line yet", until the line limit is passed.
    const nul = buf.indexOf(0, start);
    if (nul >= 0 && nul < nl) nl = -1;
    if (nl < 0) {
      if (buf.length - start > PROTO_INLINE_MAX_SIZE) throw new ProtocolError('ERR Protocol error: too big inline request');
      return -1;
    }
    if (nl - start > PROTO_INLINE_MAX_SIZE) throw new ProtocolError('ERR Protocol error: too big inline request');
    let lineEnd = nl;
    if (lineEnd > start && buf[lineEnd - 1] === CR) lineEnd--;
    const args = splitInlineArgs(buf.subarray(start, lineEnd));
    if (args === null) throw new ProtocolError('ERR Protocol error: unbalanced quotes in request');
    if (args.length > 0) sink(args);
    return nl + 1;
  }
}

/**
 * Index of the first CR at or after `from`, or -1. Count and length lines are a few bytes long, and
 * a JS loop over them beats a native Buffer.indexOf call per line (see bench/decoder.ts).
 * Redis finds that CR with strchr(), which stops at a NUL byte: then there is no line yet (until
 * the line limit is passed), as there.
 */
function findCR(buf: Buffer, from: number, len: number): number {
  for (let i = from; i < len; i++) {
    const c = buf[i];
    if (c === CR) return i;
    if (c === 0) return -1;
  }
  return -1;
}

/**
 * Parses a decimal integer in buf[from, to) as Redis' string2ll does: an optional '-', then no
 * leading zero ("0" itself excepted, "-0" refused), no '+', no spaces. Null if it is not one.
 */
export function parseIntStrict(buf: Buffer, from: number, to: number): number | null {
  if (to > from && buf[to - 1] === CR) to--;
  if (from >= to || to - from > 18) return null;
  if (to - from === 1 && buf[from] === 48 /* '0' */) return 0;
  let neg = false;
  let i = from;
  if (buf[i] === 45 /* '-' */) {
    neg = true;
    i++;
    if (i >= to) return null;
  }
  if (buf[i] === 48 /* '0' */) return null;
  let n = 0;
  for (; i < to; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return null;
    n = n * 10 + c;
  }
  return neg ? -n : n;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 11 || c === 12;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Redis' sdssplitargs(): splits an inline command line, with "..." (escapes) and '...' quoting. */
export function splitInlineArgs(line: Buffer): Buffer[] | null {
  const out: Buffer[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && isSpace(line[i]!)) i++;
    if (i >= n) return out;
    const cur: number[] = [];
    let inDq = false;
    let inSq = false;
    for (;;) {
      if (inDq) {
        if (i >= n) return null;
        const c = line[i]!;
        if (c === 92 /* \ */ && line[i + 1] === 120 /* x */ && i + 3 < n && hexVal(line[i + 2]!) >= 0 && hexVal(line[i + 3]!) >= 0) {
          cur.push(hexVal(line[i + 2]!) * 16 + hexVal(line[i + 3]!));
          i += 3;
        } else if (c === 92 && i + 1 < n) {
          i++;
          const e = line[i]!;
          cur.push(e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e === 98 ? 8 : e === 97 ? 7 : e);
        } else if (c === 34 /* " */) {
          if (i + 1 < n && !isSpace(line[i + 1]!)) return null;
          inDq = false;
          i++;
          break;
        } else cur.push(c);
        i++;
      } else if (inSq) {
        if (i >= n) return null;
        const c = line[i]!;
        if (c === 92 && line[i + 1] === 39 /* ' */) {
          i++;
          cur.push(39);
        } else if (c === 39) {
          if (i + 1 < n && !isSpace(line[i + 1]!)) return null;
          inSq = false;
          i++;
          break;
        } else cur.push(c);
        i++;
      } else {
        if (i >= n) break;
        const c = line[i]!;
        // Unlike the spaces skipped between arguments, only these end an unquoted one (\v, \f do not).
        if (c === 32 || c === 10 || c === 13 || c === 9) break;
        if (c === 34) inDq = true;
        else if (c === 39) inSq = true;
        else cur.push(c);
        i++;
      }
    }
    out.push(Buffer.from(cur));
  }
}
