/**
 * Parses one RESP2 reply (as shards produce for front-thread coordinators) into plain values.
 * Errors come back as ReplyErr values, never thrown.
 */
export class ReplyErr {
  constructor(readonly message: string) {}
}

export type RespValue = null | number | Buffer | string | ReplyErr | RespValue[];

export function parseReply(b: Buffer): RespValue {
  const [v] = parseAt(b, 0);
  return v;
}

function parseAt(b: Buffer, p: number): [RespValue, number] {
  const t = b[p];
  const nl = b.indexOf(10, p);
  const line = b.toString('latin1', p + 1, nl - 1);
  const next = nl + 1;
  switch (t) {
    case 43: // +
      return [line, next];
    case 45: // -
      return [new ReplyErr(b.toString('utf8', p + 1, nl - 1)), next];
    case 58: // :
      return [Number(line), next];
    case 36: { // $
      const n = Number(line);
      if (n < 0) return [null, next];
      return [b.subarray(next, next + n), next + n + 2];
    }
    case 42: { // *
      const n = Number(line);
      if (n < 0) return [null, next];
      const arr: RespValue[] = new Array(n);
      let q = next;
      for (let i = 0; i < n; i++) [arr[i], q] = parseAt(b, q);
      return [arr, q];
    }
    case 95: // _ (RESP3 null)
      return [null, next];
    default:
      throw new Error(`cannot parse reply type ${String.fromCharCode(t ?? 0)}`);
  }
}
