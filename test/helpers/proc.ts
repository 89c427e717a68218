/**
 * Per-thread figures of a process from /proc (Linux).
 */
import fs from 'node:fs';

export interface ThreadStat {
  tid: number;
  /** Nice value (field 19 of /proc/<pid>/task/<tid>/stat). */
  nice: number;
  /** Scheduling policy (field 41): 0 SCHED_OTHER, 3 SCHED_BATCH, 5 SCHED_IDLE. */
  policy: number;
  /** The thread's name (/proc/<pid>/task/<tid>/comm). */
  name: string;
  /** CPU time used, user + system (fields 14 and 15, in USER_HZ: 100 per second on Linux). */
  cpuSeconds: number;
}

/** Every thread of `pid` (a thread that ends while it is read is left out). */
export function threadStats(pid: number): ThreadStat[] {
  const out: ThreadStat[] = [];
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    let name: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    // Fields after the command name (which may hold spaces), from field 3 on.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({ tid: Number(tid), nice: Number(f[16]), policy: Number(f[38]), name, cpuSeconds: (Number(f[11]) + Number(f[12])) / 100 });
  }
  return out;
}
