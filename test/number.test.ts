/**
 * Double formatting as Redis 7.0 prints scores and INCRBYFLOAT-style doubles: C's "%.17g".
 */
import { describe, it, expect } from 'vitest';
import { formatDouble, formatG } from '../src/util/number.js';

/**
 * printf("%.<p>g") computed exactly, the reference: |d| = D * 10^-k with D a BigInt (from the
 * double's bits), rounded to p significant digits half to even as C's printf does.
 */
function reference(d: number, p: number): string {
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  const hi = view.getUint32(0);
  const bexp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  if (bexp !== 0) m |= 1n << 52n;
  const e2 = (bexp === 0 ? 1 : bexp) - 1075;
  const [D, k] = e2 >= 0 ? [m << BigInt(e2), 0] : [m * 5n ** BigInt(-e2), -e2];
  const all = D.toString();
  let x = all.length - 1 - k;
  let digits = all.slice(0, p);
  if (all.length > p) {
    const rest = all.slice(p);
    const half = '5' + '0'.repeat(rest.length - 1);
    const up = rest > half || (rest === half && (Number(digits[p - 1]) & 1) === 1);
    if (up) {
      const bumped = (BigInt(digits) + 1n).toString();
      if (bumped.length > p) x++;
      digits = bumped.slice(0, p);
    }
  }
  digits = digits.replace(/0+$/, '') || '0';
  const sign = d < 0 ? '-' : '';
  if (x < -4 || x >= p) {
    const ax = Math.abs(x);
    return sign + (digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits) + 'e' + (x < 0 ? '-' : '+') + (ax < 10 ? '0' + ax : ax);
  }
  if (x < 0) return sign + '0.' + '0'.repeat(-x - 1) + digits;
  if (digits.length <= x + 1) return sign + digits + '0'.repeat(x + 1 - digits.length);
  return sign + digits.slice(0, x + 1) + '.' + digits.slice(x + 1);
}

/** A deterministic stream of doubles of every magnitude (xorshift over the bits). */
function* doubles(n: number): Generator<number> {
  let a = 0x12345678;
  let b = 0x9abcdef0;
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    a ^= a << 13; a ^= a >>> 17; a ^= a << 5;
    b ^= b << 13; b ^= b >>> 17; b ^= b << 5;
    u[0] = a >>> 0;
    u[1] = b >>> 0;
    if (Number.isFinite(f[0]!)) yield f[0]!;
  }
}

describe('formatDouble (%.17g)', () => {
  it('prints what C prints for known values', () => {
    const cases: [number, string][] = [
      [0, '0'], [-0, '-0'], [1, '1'], [-1, '-1'], [50, '50'], [1.5, '1.5'], [-2.25, '-2.25'],
      [0.1, '0.10000000000000001'], [1.1, '1.1000000000000001'], [3.14, '3.1400000000000001'],
      [0.30000000000000004, '0.30000000000000004'], [1e-4, '0.0001'], [1e-5, '1.0000000000000001e-05'],
      [123456789012, '123456789012'], [9007199254740991, '9007199254740991'],
      [9007199254740992, '9007199254740992'], [1e16, '10000000000000000'], [1e17, '1e+17'],
      [1.7976931348623157e308, '1.7976931348623157e+308'], [5e-324, '4.9406564584124654e-324'],
      [2.5e-5, '2.5000000000000001e-05'], [-0.001, '-0.001'], [100.5, '100.5'],
      // Exact ties at the 18th digit round to even, as C does (toExponential rounds them up).
      [2 ** -25, '2.9802322387695312e-08'], [-(2 ** -25), '-2.9802322387695312e-08'], [2 ** -24, '5.9604644775390625e-08'],
      [Infinity, 'inf'], [-Infinity, '-inf'],
    ];
    for (const [d, s] of cases) expect(formatDouble(d), String(d)).toBe(s);
  });

  it('agrees with an exact BigInt reference for random doubles, integers, short decimals and ties, at several precisions', () => {
    const values: number[] = [...doubles(5_000)];
    for (let i = -2000; i <= 2000; i++) values.push(i, i / 8, i / 10, i * 1e13, i * 1e-7);
    for (let i = 1; i < 4000; i += 2) for (const k of [1, 3, 10, 24, 25, 26, 30]) values.push(i * 2 ** -k, -i * 2 ** -k);
    for (const p of [17, 16, 6, 1]) {
      for (const d of values) {
        if (formatG(d, p) !== reference(d, p)) expect(`${formatG(d, p)} for ${d} at ${p}`).toBe(`${reference(d, p)} for ${d} at ${p}`);
      }
    }
  });
});
