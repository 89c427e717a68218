/**
 * Reply writer: appends RESP2 or RESP3 replies to one growable buffer.
 *
 * Shards encode replies with it (so encoding stays off the front thread) and the front thread
 * uses it for the commands it answers itself. `resp` may change between commands, since each
 * command carries its connection's protocol version.
 */
import { formatDouble } from '../../util/number.js';
import { copyBytes } from '../../util/bytes.js';

const CRLF = '\r\n';

export class ReplyWriter {
  buf: Buffer;
  len = 0;
  resp: 2 | 3 = 2;
  /** Error replies written so far (a wrapper tells whether the command it ran answered one). */
  errors = 0;

  constructor(initial = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  /** ASCII text without size bookkeeping by the caller. */
  private ascii(s: string): void {
    this.ensure(s.length);
    this.len += this.buf.write(s, this.len, 'latin1');
  }

  raw(b: Buffer): void {
    this.ensure(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }

  simple(s: string): void {
    this.ascii('+' + s + CRLF);
  }

  ok(): void {
    this.ascii('+OK\r\n');
  }

  /**
   * An error reply; `msg` includes the code, e.g. "ERR syntax error". As Redis'
   * addReplyErrorFormat does, CRs and LFs at the end are dropped and every other one becomes a
   * space (the reply must stay one line).
   */
  error(msg: string): void {
    this.errors++;
    this.ascii('-' + msg.replace(/[\r\n]+$/, '').replace(/[\r\n]/g, ' ') + CRLF);
  }

  int(n: number | bigint): void {
    this.ascii(':' + n + CRLF);
  }

  bulk(b: Buffer | string): void {
    if (typeof b === 'string') {
      const n = Buffer.byteLength(b);
      this.ensure(n + 16);
      this.len += this.buf.write('$' + n + CRLF, this.len, 'latin1');
      this.len += this.buf.write(b, this.len);
    } else {
      const n = b.length;
      this.ensure(n + 24);
      this.header(0x24, n); // '$'
      // Short values are copied in JS: Buffer.copy is a native call that costs more than the loop.
      copyBytes(b, 0, this.buf, this.len, n);
      this.len += n;
    }
    this.buf[this.len++] = 13;
    this.buf[this.len++] = 10;
  }

  /** `<type byte><n>\r\n` written byte by byte (no string is built); room must be ensured. */
  private header(type: number, n: number): void {
    const buf = this.buf;
    let at = this.len;
    buf[at++] = type;
    if (n < 10) {
      buf[at++] = 48 + n;
    } else {
      let digits = 2;
      for (let x = 100; x <= n && digits < 16; x *= 10) digits++;
      for (let i = at + digits - 1, x = n; i >= at; i--, x = Math.floor(x / 10)) buf[i] = 48 + (x % 10);
      at += digits;
    }
    buf[at++] = 13;
    buf[at++] = 10;
    this.len = at;
  }

  /** Null bulk string: `$-1` in RESP2, `_` in RESP3. */
  nil(): void {
    this.ascii(this.resp === 3 ? '_\r\n' : '$-1\r\n');
  }

  /** Null array: `*-1` in RESP2, `_` in RESP3. */
  nilArray(): void {
    this.ascii(this.resp === 3 ? '_\r\n' : '*-1\r\n');
  }

  array(n: number): void {
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) {
      this.ensure(24);
      this.header(0x2a, n); // '*'
    } else {
      this.ascii('*' + n + CRLF);
    }
  }

  /** A map of n pairs: `%n` in RESP3, a flat array of 2n in RESP2. */
  map(n: number): void {
    this.ascii(this.resp === 3 ? '%' + n + CRLF : '*' + n * 2 + CRLF);
  }

  /** A set: `~n` in RESP3, an array in RESP2. */
  set(n: number): void {
    this.ascii(this.resp === 3 ? '~' + n + CRLF : '*' + n + CRLF);
  }

  /** A double: `,d` in RESP3, a bulk string in RESP2 (Redis' %.17g form). */
  double(d: number): void {
    const s = formatDouble(d);
    if (this.resp === 3) this.ascii(',' + s + CRLF);
    else this.ascii('$' + s.length + CRLF + s + CRLF);
  }

  /** A boolean: `#t`/`#f` in RESP3, 1/0 in RESP2. */
  bool(b: boolean): void {
    this.ascii(this.resp === 3 ? (b ? '#t\r\n' : '#f\r\n') : b ? ':1\r\n' : ':0\r\n');
  }

  /** Verbatim string (RESP3 `=`), a bulk string in RESP2. */
  verbatim(text: string, format = 'txt'): void {
    if (this.resp !== 3) return this.bulk(text);
    const body = format + ':' + text;
    this.ascii('=' + Buffer.byteLength(body) + CRLF);
    const n = Buffer.byteLength(body);
    this.ensure(n + 2);
    this.len += this.buf.write(body, this.len);
    this.ascii(CRLF);
  }

  /** Takes the bytes written so far as an exact-size copy and resets the writer. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    this.len = 0;
    return out;
  }
}
