/**
 * Load drivers for the benches, both recording latency in log-linear histograms (microseconds).
 *
 * `openLoop`: requests leave on a fixed schedule, request k at t0 + k/rate, spread round-robin
 * over the connections, whatever the replies do. Latency is measured from the INTENDED send time,
 * so a stall of the server (or of this process) shows up as latency of every request that should
 * have left meanwhile, not as fewer requests: no coordinated omission (as wrk2, Gil Tene's
 * HdrHistogram talks). Pacing, how the sender keeps the schedule:
 *  - 'batch' (default): the sender sleeps on a timer (~1 ms) and each time sends every request due
 *    before its next wake-up: up to ~1 ms early, so requests leave in small bursts at the exact
 *    rate. An early request's latency counts from when it left, a late one's from its intended
 *    time. The sender uses little CPU: on a 2-core machine a busy load generator takes the core
 *    the server's threads need (a real client runs elsewhere), which showed as milliseconds of p99
 *    for Cairn's multi-threaded server and not for single-threaded Redis.
 *  - 'spin': sleeps while the next request is more than 2 ms away and polls with setImmediate
 *    when it is closer (I/O still runs between polls), so each request leaves within a few
 *    microseconds of its time, at the price of one busy core at rates above ~500/s.
 * How late requests actually left is kept as `sendLag`.
 *
 * `closedLoop`: each connection keeps `depth` requests in flight and sends the next one when a
 * reply comes; latency from the actual send. This measures the most a server does, not latency
 * at a given load (a slow reply delays the requests behind it, which then are never measured).
 */
import { Conn, type Reply } from './conn.js';
import { Histogram } from './histogram.js';

export interface Request {
  /** What the histograms are kept under (usually the command name). */
  label: string;
  payload: string;
  /** Checks a non-error reply; returns what is wrong, or undefined. */
  check?(reply: Reply): string | undefined;
}

export interface LoadResult {
  /** The target rate (requests/s), 0 for a closed loop. */
  rate: number;
  sent: number;
  completed: number;
  /** Error replies and replies that failed their check. */
  errors: number;
  firstError?: string;
  /** Sent but not answered when the run gave up waiting. */
  unanswered: number;
  /**
   * Open loop: the server did not keep up with the rate: it answered less than 90% of it, or it
   * fell so far behind that sending stopped early (`giveUpBehindMs`). Its latencies then grow with
   * the length of the run, not with the server: report the achieved rate instead.
   */
  saturated: boolean;
  /** From the first send to the last reply. */
  seconds: number;
  /** completed / seconds */
  achieved: number;
  /** Per label, and all labels together. */
  latency: Record<string, Histogram>;
  all: Histogram;
  /** Open loop: how late each request left (us). */
  sendLag: Histogram;
  /** Per second of the run: [its end (s), replies/s, max latency (us)]. */
  timeline: [number, number, number][];
}

class Recorder {
  readonly latency: Record<string, Histogram> = {};
  readonly all = new Histogram();
  readonly sendLag = new Histogram();
  readonly perSecond: { n: number; max: number }[] = [];
  completed = 0;
  errors = 0;
  firstError?: string;
  lastReplyAt = 0;

  constructor(readonly t0: number) {}

  reply(req: Request, r: Reply, from: number): void {
    const now = performance.now();
    const us = (now - from) * 1000;
    (this.latency[req.label] ??= new Histogram()).record(us);
    this.all.record(us);
    const bin = (this.perSecond[Math.max(0, Math.floor((now - this.t0) / 1000))] ??= { n: 0, max: 0 });
    bin.n++;
    bin.max = Math.max(bin.max, us);
    this.completed++;
    this.lastReplyAt = now;
    const wrong = r instanceof Error ? r.message : req.check?.(r);
    if (wrong !== undefined) {
      this.errors++;
      this.firstError ??= `${req.payload.replace(/\r\n/g, ' ').slice(0, 120)}: ${wrong}`;
    }
  }

  result(rate: number, sent: number, firstSend: number, gaveUp = false): LoadResult {
    const seconds = Math.max(1e-9, (this.lastReplyAt - firstSend) / 1000);
    // The last second is usually partial (the tail of the replies): its rate over the time it lasted.
    const end = (this.lastReplyAt - this.t0) / 1000;
    const timeline: LoadResult['timeline'] = [];
    for (let i = 0; i < this.perSecond.length; i++) {
      const lasted = Math.min(1, end - i);
      if (lasted >= 0.25) timeline.push([Math.round((i + lasted) * 100) / 100, (this.perSecond[i]?.n ?? 0) / lasted, this.perSecond[i]?.max ?? 0]);
    }
    const achieved = this.completed / seconds;
    return {
      rate, sent, completed: this.completed, errors: this.errors, firstError: this.firstError, unanswered: sent - this.completed,
      saturated: gaveUp || (rate > 0 && achieved < 0.9 * rate), seconds, achieved, latency: this.latency, all: this.all, sendLag: this.sendLag, timeline,
    };
  }
}

export interface OpenLoopOptions {
  /** Requests per second, over all connections together. */
  rate: number;
  seconds: number;
  make: () => Request;
  /** How long to wait for the last replies after the last send (60 s). */
  drainMs?: number;
  /**
   * Stop sending once the replies are this many ms behind the schedule (5000): the server cannot
   * keep up with the rate, and piling up more only fills memory and delays the next run. The
   * result says `saturated`; its percentiles cover only what was sent.
   */
  giveUpBehindMs?: number;
  /** How the schedule is kept (see the top of this file): 'batch' (default) or 'spin'. */
  pacing?: Pacing;
}

export type Pacing = 'batch' | 'spin';

/** --pacing's value, checked. */
export function pacingOption(v: string | undefined): Pacing {
  if (v === undefined || v === 'batch' || v === 'spin') return v ?? 'batch';
  throw new Error(`--pacing must be batch or spin, got '${v}'`);
}

export function openLoop(conns: Conn[], o: OpenLoopOptions): Promise<LoadResult> {
  const interval = 1000 / o.rate;
  const total = Math.max(1, Math.round(o.rate * o.seconds));
  const t0 = performance.now() + 1;
  const rec = new Recorder(t0);
  let next = 0;
  let sent = 0;
  let saturated = false;
  return new Promise((resolve) => {
    let drainTimer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(drainTimer);
      resolve(rec.result(o.rate, sent, t0, saturated));
    };
    const spin = o.pacing === 'spin';
    const issue = (k: number): void => {
      const intended = t0 + k * interval;
      const req = o.make();
      const now = performance.now();
      rec.sendLag.record(Math.max(0, now - intended) * 1000);
      // Sent early (batch pacing): its latency counts from now; sent late: from when it was due.
      const from = Math.min(now, intended);
      sent++;
      conns[k % conns.length]!.send(req.payload, (r) => {
        rec.reply(req, r, from);
        if (next === total && rec.completed === sent) finish();
      });
    };
    const tick = (): void => {
      const now = performance.now();
      // Batch pacing sends what is due before the next wake-up of a 1 ms timer.
      const horizon = spin ? now : now + 1;
      while (next < total && t0 + next * interval <= horizon) issue(next++);
      // Replies come back about in send order: the oldest one missing is about number `completed`.
      if (next < total && now - (t0 + rec.completed * interval) > (o.giveUpBehindMs ?? 5000)) {
        saturated = true;
        next = total;
      }
      if (next === total) {
        drainTimer = setTimeout(finish, o.drainMs ?? 60_000);
        return;
      }
      const wait = t0 + next * interval - performance.now();
      if (!spin) setTimeout(tick, Math.max(1, Math.floor(wait)));
      else if (wait > 2) setTimeout(tick, wait - 1.5);
      else setImmediate(tick);
    };
    setImmediate(tick);
  });
}

export interface ClosedLoopOptions {
  seconds: number;
  make: () => Request;
  /** Requests in flight per connection (1). */
  depth?: number;
}

export function closedLoop(conns: Conn[], o: ClosedLoopOptions): Promise<LoadResult> {
  const t0 = performance.now();
  const deadline = t0 + o.seconds * 1000;
  const rec = new Recorder(t0);
  let sent = 0;
  return new Promise((resolve) => {
    const send = (conn: Conn): void => {
      const req = o.make();
      const at = performance.now();
      sent++;
      conn.send(req.payload, (r) => {
        rec.reply(req, r, at);
        if (performance.now() < deadline) send(conn);
        else if (rec.completed === sent) resolve(rec.result(0, sent, t0));
      });
    };
    for (const c of conns) for (let i = 0; i < (o.depth ?? 1); i++) send(c);
  });
}
