import { describe, it, expect } from 'vitest';
import { RowCache, ENTRY_OVERHEAD } from '../src/storage/row-cache.js';

describe('row cache', () => {
  it('returns what was set, null for known-absent, undefined when not cached', () => {
    const c = new RowCache(1 << 20);
    c.set('a', Buffer.from('1'));
    c.set('b', null);
    expect(c.get('a')!.toString()).toBe('1');
    expect(c.get('b')).toBeNull();
    expect(c.get('c')).toBeUndefined();
    c.set('a', Buffer.from('2'));
    expect(c.get('a')!.toString()).toBe('2');
  });

  it('stays within its byte budget', () => {
    const limit = 64 * 1024;
    const c = new RowCache(limit);
    for (let i = 0; i < 10_000; i++) c.set('key:' + i, Buffer.alloc(100));
    expect(c.usedBytes).toBeLessThanOrEqual(limit);
    expect(c.size).toBeGreaterThan(100);
    expect(c.get('key:9999')).toBeDefined();
    expect(c.get('key:0')).toBeUndefined();
  });

  it('gives recently used entries a second chance (CLOCK)', () => {
    const c = new RowCache(100 * (3 + ENTRY_OVERHEAD)); // room for exactly the 100 first keys (2-3 chars)
    for (let i = 0; i < 100; i++) c.set(String.fromCharCode(65 + (i % 26)) + i, null);
    const hot = 'A0';
    expect(c.get(hot)).toBeNull();
    for (let i = 0; i < 50; i++) c.set('new' + i, null);
    expect(c.get(hot)).toBeNull(); // the oldest entry survived because it was used
    expect(c.get('B1')).toBeUndefined(); // an unused old entry went
  });

  it('copies a small view so it does not keep a large buffer alive', () => {
    const c = new RowCache(1 << 20);
    const big = Buffer.alloc(1 << 20);
    c.set('v', big.subarray(0, 10));
    expect(c.get('v')!.buffer.byteLength).toBeLessThan(1024);
  });

  it('does nothing when its size is 0', () => {
    const c = new RowCache(0);
    c.set('a', Buffer.from('1'));
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
  });
});
