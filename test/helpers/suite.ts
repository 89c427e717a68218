/**
 * A server for one describe block: started before its tests, stopped after them (its data
 * directory removed), with the clients its tests opened through connect() disconnected first.
 */
import { beforeAll, afterAll } from 'vitest';
import fs from 'node:fs';
import type { Redis } from 'ioredis';
import { startServer, type StartOptions, type TestServer } from './server.js';
import { connect as connectTo } from './client.js';

export interface SuiteServer {
  /** The running server (valid inside tests). */
  readonly server: TestServer;
  /** A new ioredis client of the server, disconnected after the suite. */
  connect(): Redis;
}

export function serverForSuite(o: StartOptions = {}): SuiteServer {
  let server: TestServer | undefined;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startServer(o);
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.stop();
    if (server) fs.rmSync(server.dir, { recursive: true, force: true });
  });
  return {
    get server(): TestServer {
      if (!server) throw new Error('the suite server is not started (use it inside a test)');
      return server;
    },
    connect(): Redis {
      const c = connectTo(this.server.port);
      clients.push(c);
      return c;
    },
  };
}
