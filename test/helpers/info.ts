/**
 * INFO read through a real client, as a map of its fields.
 */
import type { Redis } from 'ioredis';

/** The fields of the given INFO sections ('default' when none). */
export async function infoFields(r: Redis, ...sections: string[]): Promise<Map<string, string>> {
  const text = (await r.call('INFO', ...sections)) as string;
  return new Map(text.split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(':', 2) as [string, string]));
}

/** Polls INFO until the sweep has no backlog (versions, flushed databases) and nothing running (the test timeout bounds it). */
export async function swept(r: Redis): Promise<void> {
  for (;;) {
    const s = await infoFields(r, 'stats');
    if (s.get('sweep_pending_versions') === '0' && s.get('sweep_pending_flushed_dbs') === '0' && s.get('sweep_running') === '0') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
