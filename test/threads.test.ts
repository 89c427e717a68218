/**
 * sched-batch: the serving threads run under SCHED_BATCH (no wake-up preemption among them).
 */
import { describe, it, expect } from 'vitest';
import { startServer } from './helpers/server.js';
import { threadStats } from './helpers/proc.js';

const SCHED_OTHER = 0;
const SCHED_BATCH = 3;

describe('sched-batch', () => {
  it.runIf(process.platform === 'linux')('puts the front thread and every shard thread under SCHED_BATCH, and only when asked', async () => {
    for (const on of [true, false]) {
      const server = await startServer({ shards: 3, args: ['--sched-batch', on ? 'yes' : 'no'] });
      try {
        const pid = server.proc.pid!;
        const threads = threadStats(pid);
        const front = threads.find((t) => t.tid === pid)!;
        expect(front.policy).toBe(on ? SCHED_BATCH : SCHED_OTHER);
        // On: at least the three shard threads besides the front (threads started later inherit it).
        // Off: none at all.
        const others = threads.filter((t) => t.tid !== pid && t.policy === SCHED_BATCH).length;
        if (on) expect(others).toBeGreaterThanOrEqual(3);
        else expect(others).toBe(0);
      } finally {
        await server.stop();
      }
    }
  });
});

describe('thread names', () => {
  it.runIf(process.platform === 'linux')('name every shard thread and LevelDB\'s compaction threads (one per shard), which run at leveldb-compaction-nice', async () => {
    const server = await startServer({ shards: 3 });
    try {
      const pid = server.proc.pid!;
      // LevelDB's background threads start with the first task, queued at start, and name themselves.
      let threads = threadStats(pid);
      for (let i = 0; i < 50 && threads.filter((t) => t.name === 'leveldb-bg').length < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        threads = threadStats(pid);
      }
      expect(threads.filter((t) => t.name.startsWith('cairn-shard-')).map((t) => t.name).sort())
        .toEqual(['cairn-shard-0', 'cairn-shard-1', 'cairn-shard-2']);
      const bg = threads.filter((t) => t.name === 'leveldb-bg');
      expect(bg.map((t) => t.nice)).toEqual([19, 19, 19]);
    } finally {
      await server.stop();
    }
  });
});
