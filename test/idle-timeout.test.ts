/**
 * `timeout`: a client idle for that many seconds is closed; an active one is not; CONFIG SET
 * changes it at run time (0 = never).
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';
import { RawClient } from './helpers/raw.js';

describe('idle client timeout', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ args: ['--timeout', '1'] });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('closes a client idle for longer than timeout, keeps an active one', async () => {
    const idle = await RawClient.connect(server.port);
    const active = await RawClient.connect(server.port);
    const deadline = Date.now() + 3500;
    while (Date.now() < deadline && !idle.closed) {
      active.write('PING\r\n');
      expect(await active.read(7)).toBe('+PONG\r\n');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(idle.closed).toBe(true);
    expect(active.closed).toBe(false);
    active.close();
  });

  it('never closes idle clients with timeout 0 (CONFIG SET, live)', async () => {
    const admin = await RawClient.connect(server.port);
    admin.write('*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$7\r\ntimeout\r\n$1\r\n0\r\n');
    expect(await admin.read(5)).toBe('+OK\r\n');
    const idle = await RawClient.connect(server.port);
    await new Promise((r) => setTimeout(r, 2500));
    expect(idle.closed).toBe(false);
    idle.write('PING\r\n');
    expect(await idle.read(7)).toBe('+PONG\r\n');
    idle.close();
    admin.close();
  });
});
