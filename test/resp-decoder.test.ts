import { describe, it, expect } from 'vitest';
import { RequestDecoder, ProtocolError, splitInlineArgs } from '../src/server/resp/decoder.js';

const limits = { maxBulkLen: () => 512 * 1024 * 1024, maxQueryBuffer: () => 1024 * 1024 * 1024 };

/**
 * Feeds `input` whole, then again one byte at a time; both must give the same commands. As on the
 * server, every chunk is fed from one reused read buffer, scribbled over after each feed: the
 * decoder must keep copies, never views, of what it holds between feeds.
 */
function decodeBoth(input: Buffer | string): { whole: string[][]; bytewise: string[][] } {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input, 'latin1');
  const run = (chunks: Buffer[]): string[][] => {
    const d = new RequestDecoder(limits);
    const out: string[][] = [];
    const readBuffer = Buffer.alloc(Math.max(1, buf.length));
    for (const c of chunks) {
      c.copy(readBuffer);
      d.feed(readBuffer.subarray(0, c.length), (args) => out.push(args.map((a) => a.toString('latin1'))));
      readBuffer.fill(0x5a);
    }
    return out;
  };
  const bytes: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) bytes.push(buf.subarray(i, i + 1));
  return { whole: run([buf]), bytewise: run(bytes) };
}

function errorOf(input: string, l = limits): string {
  const d = new RequestDecoder(l);
  try {
    d.feed(Buffer.from(input, 'latin1'), () => undefined);
  } catch (e) {
    if (e instanceof ProtocolError) return e.message;
    throw e;
  }
  return 'no error';
}

describe('RESP request decoder', () => {
  const cases: [string, string, string[][]][] = [
    ['one multibulk command', '*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n', [['GET', 'key']]],
    ['a pipeline', '*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n', [['PING'], ['SET', 'a', 'b']]],
    ['binary-safe values', '*2\r\n$4\r\nECHO\r\n$6\r\na\r\n\0\xffb\r\n', [['ECHO', 'a\r\n\0\xffb']]],
    ['an empty bulk string', '*2\r\n$4\r\nECHO\r\n$0\r\n\r\n', [['ECHO', '']]],
    ['*0 and *-1 are skipped', '*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n', [['PING']]],
    ['an inline command', 'PING\r\n', [['PING']]],
    ['inline with LF only', 'SET a b\n', [['SET', 'a', 'b']]],
    ['inline with quotes and escapes', 'SET "a b" \'c d\' "\\x41\\n"\r\n', [['SET', 'a b', 'c d', 'A\n']]],
    ['empty inline lines are skipped', '\r\n\r\nPING\r\n', [['PING']]],
    ['inline then multibulk', 'PING\r\n*1\r\n$4\r\nPING\r\n', [['PING'], ['PING']]],
  ];
  for (const [name, input, expected] of cases) {
    it(`${name}: whole and byte by byte`, () => {
      const { whole, bytewise } = decodeBoth(input);
      expect(whole).toEqual(expected);
      expect(bytewise).toEqual(expected);
    });
  }

  it('waits for a large bulk string that arrives in many chunks', () => {
    const value = Buffer.alloc(200_000, 'x');
    const msg = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`), value, Buffer.from('\r\n*1\r\n$4\r\nPING\r\n')]);
    const d = new RequestDecoder(limits);
    const out: Buffer[][] = [];
    for (let i = 0; i < msg.length; i += 1000) d.feed(msg.subarray(i, i + 1000), (a) => out.push(a));
    expect(out.length).toBe(2);
    expect(out[0]![2]!.equals(value)).toBe(true);
    expect(out[1]![0]!.toString()).toBe('PING');
  });

  it('gives the same commands however the bytes are split into chunks', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const cmds: Buffer[][] = [];
    for (let i = 0; i < 300; i++) {
      const argc = 1 + rnd(5);
      cmds.push(Array.from({ length: argc }, () => Buffer.alloc([0, 3, 40, 1500, 70_000][rnd(5)]!, 97 + rnd(26))));
    }
    const wire = Buffer.concat(cmds.map((c) => Buffer.concat([
      Buffer.from(`*${c.length}\r\n`), ...c.flatMap((a) => [Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n')]),
    ])));
    for (const maxChunk of [1, 7, 100, 4096, 65536, 300_000]) {
      const d = new RequestDecoder(limits);
      const out: Buffer[][] = [];
      for (let p = 0; p < wire.length;) {
        const n = 1 + rnd(maxChunk);
        d.feed(wire.subarray(p, p + n), (a) => out.push(a));
        p += n;
      }
      expect(out.length, `chunks up to ${maxChunk}`).toBe(cmds.length);
      out.forEach((a, i) => {
        expect(a.length).toBe(cmds[i]!.length);
        a.forEach((arg, j) => expect(arg.equals(cmds[i]![j]!)).toBe(true));
      });
      expect(d.bufferedBytes).toBe(0);
    }
  });

  it('gives Redis\' protocol errors', () => {
    expect(errorOf('*abc\r\n')).toBe('ERR Protocol error: invalid multibulk length');
    expect(errorOf('*2\r\n+GET\r\n')).toBe('ERR Protocol error: expected \'$\', got \'+\'');
    expect(errorOf('*1\r\n$-5\r\n')).toBe('ERR Protocol error: invalid bulk length');
    expect(errorOf('*1\r\n$x\r\n')).toBe('ERR Protocol error: invalid bulk length');
    expect(errorOf('SET "a b\r\n')).toBe('ERR Protocol error: unbalanced quotes in request');
    expect(errorOf('SET "a"b\r\n')).toBe('ERR Protocol error: unbalanced quotes in request');
    expect(errorOf('x'.repeat(70 * 1024))).toBe('ERR Protocol error: too big inline request');
    expect(errorOf('*1\r\n$' + '1'.repeat(70 * 1024))).toBe('ERR Protocol error: too big bulk count string');
    expect(errorOf('*' + '1'.repeat(70 * 1024))).toBe('ERR Protocol error: too big mbulk count string');
  });

  it('rejects a bulk length over proto-max-bulk-len', () => {
    expect(errorOf('*1\r\n$2000\r\n', { ...limits, maxBulkLen: () => 1000 })).toBe('ERR Protocol error: invalid bulk length');
  });

  it('delivers the commands before a protocol error', () => {
    const d = new RequestDecoder(limits);
    const out: string[] = [];
    expect(() => d.feed(Buffer.from('*1\r\n$4\r\nPING\r\n*x\r\n'), (a) => out.push(a[0]!.toString()))).toThrow(ProtocolError);
    expect(out).toEqual(['PING']);
  });

  it('enforces client-query-buffer-limit on pending bytes', () => {
    const d = new RequestDecoder({ ...limits, maxQueryBuffer: () => 100 });
    expect(() => d.feed(Buffer.from('*2\r\n$3\r\nSET\r\n$1000\r\n' + 'x'.repeat(200)), () => undefined)).toThrow(/client-query-buffer-limit/);
  });

  it('splits inline arguments as sdssplitargs does', () => {
    const s = (x: string): string[] | null => splitInlineArgs(Buffer.from(x))?.map((b) => b.toString()) ?? null;
    expect(s('  a   b  ')).toEqual(['a', 'b']);
    expect(s('"a\\"b"')).toEqual(['a"b']);
    expect(s("'it\\'s'")).toEqual(["it's"]);
    expect(s('""')).toEqual(['']);
    expect(s("'a")).toBeNull();
    // Only space, tab, CR and LF end an unquoted argument; \v and \f are skipped only between arguments.
    expect(s('\vECHO a\fb\v')).toEqual(['ECHO', 'a\fb\v']);
    expect(s('"a"\fb')).toEqual(['a', 'b']);
  });

  it('waits at a NUL byte before the newline of an inline line, as Redis\' strchr() does', () => {
    const d = new RequestDecoder(limits);
    const out: string[] = [];
    d.feed(Buffer.from('PING\0\r\nPING\r\n'), (a) => out.push(a[0]!.toString()));
    expect(out).toEqual([]);
    expect(() => d.feed(Buffer.alloc(70 * 1024, 'x'), () => undefined)).toThrow('ERR Protocol error: too big inline request');
  });

  it('waits at a NUL byte before the CR of a count or length line, as Redis\' strchr() does', () => {
    for (const [input, error] of [['*1\0\r\n$4\r\nPING\r\n', 'too big mbulk count string'], ['*1\r\n$4\0\r\nPING\r\n', 'too big bulk count string']]) {
      const d = new RequestDecoder(limits);
      const out: string[] = [];
      d.feed(Buffer.from(input!), (a) => out.push(a[0]!.toString()));
      expect(out).toEqual([]);
      expect(() => d.feed(Buffer.alloc(70 * 1024, 'x'), () => undefined)).toThrow('ERR Protocol error: ' + error);
    }
    // NUL bytes inside bulk data are data.
    const out: Buffer[][] = [];
    new RequestDecoder(limits).feed(Buffer.from('*2\r\n$4\r\nECHO\r\n$3\r\n\0\0\0\r\n'), (a) => out.push(a));
    expect(out[0]![1]).toEqual(Buffer.alloc(3));
  });
});

describe('reply writer', () => {
  it('writes bulk and array headers of every length as Redis does', async () => {
    const { ReplyWriter } = await import('../src/server/resp/writer.js');
    const w = new ReplyWriter(8);
    let want = '';
    for (const n of [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 12345, 100000, 1234567]) {
      const v = Buffer.alloc(n, 'x');
      w.bulk(v);
      w.array(n);
      want += `$${n}\r\n${'x'.repeat(n)}\r\n*${n}\r\n`;
    }
    w.array(2 ** 53 - 1);
    want += `*${2 ** 53 - 1}\r\n`;
    w.array(-1);
    want += '*-1\r\n';
    expect(w.take().toString('latin1')).toBe(want);
  });
});
