/**
 * Cross-shard coordination: ordered reservation of shards.
 *
 * Every shard runs its commands in the order the front thread sent them, so commands that the
 * front thread sends to several shards in one go (MSET, MGET, DEL k1 k2) are seen by every shard
 * in one global order: no client can observe half of one. That needs nothing more.
 *
 * A command that must read before it writes across shards (RENAME, MSETNX, COPY, and later
 * EXEC and EVAL) reserves its shards: until it releases them, nothing else is sent to them, and
 * commands that need them wait here in arrival order. The front thread is single-threaded and
 * reserves all shards of one command at once, so two reservations can never deadlock.
 */
export class Coordinator {
  private readonly reserved: Uint8Array;
  /** Waiters in arrival order; each is retried when shards are released. */
  private waiters: { shards: readonly number[]; reserve: boolean; wake: () => void }[] = [];
  /** How many waiting reservations want each shard (a newcomer must not overtake them). */
  private readonly wanted: Uint16Array;

  constructor(shards: number) {
    this.reserved = new Uint8Array(shards);
    this.wanted = new Uint16Array(shards);
  }

  /** True when a command for these shards may be sent now. */
  canSend(shards: readonly number[]): boolean {
    for (const s of shards) if (this.reserved[s] || this.wanted[s]) return false;
    return true;
  }

  canSendOne(shard: number): boolean {
    return this.reserved[shard] === 0 && this.wanted[shard] === 0;
  }

  /** Calls `wake` once the shards are free (without reserving them). */
  waitFor(shards: readonly number[], wake: () => void): void {
    this.waiters.push({ shards, reserve: false, wake });
  }

  /** Runs `fn` with the shards reserved; other senders to them wait until it settles. */
  async withShards<T>(shards: readonly number[], fn: () => Promise<T>): Promise<T> {
    if (this.canSend(shards)) this.take(shards);
    else {
      for (const s of shards) this.wanted[s]!++;
      await new Promise<void>((wake) => this.waiters.push({ shards, reserve: true, wake }));
    }
    try {
      return await fn();
    } finally {
      for (const s of shards) this.reserved[s] = 0;
      this.wakeWaiters();
    }
  }

  private take(shards: readonly number[]): void {
    for (const s of shards) this.reserved[s] = 1;
  }

  private wakeWaiters(): void {
    const still: typeof this.waiters = [];
    // Shards claimed by an earlier waiter in this pass stay blocked for later ones (FIFO).
    const blocked = new Set<number>();
    for (const w of this.waiters) {
      const free = w.shards.every((s) => !this.reserved[s] && !blocked.has(s));
      if (!free) {
        still.push(w);
        for (const s of w.shards) blocked.add(s);
        continue;
      }
      if (w.reserve) {
        for (const s of w.shards) this.wanted[s]!--;
        this.take(w.shards);
      }
      w.wake();
    }
    this.waiters = still;
  }
}
