/**
 * Copies n bytes from src[from..] to dst[to..]. Short copies run in JS: Buffer.copy is a native
 * call that costs more than a loop over ~100 bytes (measured for the row cache).
 */
export function copyBytes(src: Uint8Array, from: number, dst: Uint8Array, to: number, n: number): void {
  if (n > 128) {
    dst.set(src.subarray(from, from + n), to);
    return;
  }
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
}
