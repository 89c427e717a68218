/**
 * Replies go straight to the socket's fd when nothing waits in its stream (Client.send,
 * native/fd_write.cc); what the kernel does not take goes through the stream. A client that pauses
 * reading while large and small replies are pipelined must still get every byte, in order.
 */
import { describe, it, expect } from 'vitest';
import { serverForSuite } from './helpers/suite.js';
import { RawClient } from './helpers/raw.js';

describe('socket writes', () => {
  const suite = serverForSuite({ shards: 2 });

  it('large replies the kernel takes only part of keep their bytes and their order', async () => {
    const r = suite.connect();
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = 97 + (i % 26);
    await r.set('big', big);
    await r.set('small', 'x');
    const c = await RawClient.connect(suite.server.port);
    c.socket.pause();
    const rounds = 6;
    c.write('GET big\r\nGET small\r\nPING\r\n'.repeat(rounds));
    // Let the server fill the socket's buffers and queue the rest in the stream.
    await new Promise((resolve) => setTimeout(resolve, 300));
    c.socket.resume();
    const one = `$${big.length}\r\n${big.toString('latin1')}\r\n$1\r\nx\r\n+PONG\r\n`;
    for (let i = 0; i < rounds; i++) {
      const got = await c.readLike(one, 20000);
      expect(got.length).toBe(one.length);
      expect(got === one, `round ${i}`).toBe(true);
    }
    c.close();
  });
});
