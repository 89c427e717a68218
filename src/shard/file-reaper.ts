/**
 * Deferred deletion of a shard's LevelDB files (what RocksDB's DeleteScheduler does, from outside).
 *
 * LevelDB deletes the table and log files a compaction made obsolete itself (DBImpl::
 * DeleteObsoleteFiles), while it holds the database's mutex, which every read and write of the
 * shard takes. Unlinking a multi-MB file frees its blocks, and on a filesystem mounted with
 * `discard` (this machine's ext4) that is a synchronous TRIM: bench:capacity caught the shard
 * thread blocked 10-30 ms in getSync behind it (perf sched_switch stacks: unlink <-
 * DeleteObsoleteFile <- blkdev_issue_discard), at any request rate.
 *
 * So the reaper keeps a second hard link to each of the shard's table and log files in
 * <shard>/reaper/ (LevelDB ignores names it did not make). LevelDB's unlink then only drops a name;
 * the file's blocks are freed here, when the reaper's link is the last one, on the libuv pool, one
 * file at a time, under no lock of LevelDB's. A file LevelDB creates and deletes between two rounds
 * (one a second) is freed by LevelDB as before. Leftovers of a crash are reaped at the next start.
 */
import fs from 'node:fs';
import path from 'node:path';

/** LevelDB's table files (.ldb, older .sst) and write-ahead logs (.log). */
const LEVELDB_FILE = /^\d+\.(ldb|sst|log)$/;
export const REAPER_DIR = 'reaper';

export class FileReaper {
  private readonly dir: string;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Files freed by the reaper since start. */
  reaped = 0;

  constructor(private readonly shardDir: string, private readonly onError: (e: Error) => void) {
    this.dir = path.join(shardDir, REAPER_DIR);
  }

  /** Runs a round now and then every `everyMs`. */
  start(everyMs = 1000): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const tick = (): void => {
      if (this.running) return;
      this.running = this.round().catch(this.onError).finally(() => {
        this.running = null;
      });
    };
    tick();
    this.timer = setInterval(tick, everyMs);
    this.timer.unref();
  }

  /** Stops the rounds (waits for a running one). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Links the shard's new files, then frees the files LevelDB has deleted. */
  async round(): Promise<void> {
    const live = new Set((await fs.promises.readdir(this.shardDir)).filter((n) => LEVELDB_FILE.test(n)));
    const held = new Set(await fs.promises.readdir(this.dir));
    for (const name of live) {
      if (held.has(name)) continue;
      try {
        await fs.promises.link(path.join(this.shardDir, name), path.join(this.dir, name));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'EEXIST') throw e; // ENOENT: deleted since the listing
      }
    }
    for (const name of held) {
      if (live.has(name)) continue;
      // Gone from the shard's directory: LevelDB deleted it, this link is the last one.
      await fs.promises.rm(path.join(this.dir, name), { force: true });
      this.reaped++;
    }
  }
}
