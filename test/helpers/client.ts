/**
 * An ioredis client for integration tests, connected to 127.0.0.1:port.
 */
import { Redis, type RedisOptions } from 'ioredis';

export function connect(port: number, extra: RedisOptions = {}): Redis {
  return new Redis(port, '127.0.0.1', {
    lazyConnect: false,
    maxRetriesPerRequest: 0,
    // The ready check sends INFO; keep these tests independent of that command.
    enableReadyCheck: false,
    ...extra,
  });
}
