/**
 * Command statistics of one shard worker (INFO commandstats / errorstats), by command id.
 *
 * Calls are counted on the front thread, which sees every command; the time a command ran and
 * whether it failed are only known where it ran, so the executor records them here and the front
 * reads them with the internal `__stats` command.
 */
export class ShardCommandStats {
  /** Microseconds spent running each command id (grown on demand; ids are small). */
  usec = new Float64Array(512);
  /** Calls of each command id that replied with an error. */
  failed = new Float64Array(512);
  /** Error replies by command id, then by code (first word of the error). */
  readonly errors = new Map<number, Map<string, number>>();

  addTime(id: number, usec: number): void {
    if (id >= this.usec.length) this.grow(id);
    this.usec[id] += usec;
  }

  addError(id: number, reply: string): void {
    if (id >= this.failed.length) this.grow(id);
    this.failed[id]++;
    const space = reply.indexOf(' ');
    const code = space < 0 ? reply : reply.slice(0, space);
    let byCode = this.errors.get(id);
    if (!byCode) this.errors.set(id, (byCode = new Map()));
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
  }

  private grow(id: number): void {
    const size = Math.max(id + 1, this.usec.length * 2);
    const usec = new Float64Array(size);
    const failed = new Float64Array(size);
    usec.set(this.usec);
    failed.set(this.failed);
    this.usec = usec;
    this.failed = failed;
  }

  reset(): void {
    this.usec.fill(0);
    this.failed.fill(0);
    this.errors.clear();
  }
}

/** This worker's statistics (each shard worker is its own thread, so its own instance). */
export const shardStats = new ShardCommandStats();
