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
}

export function threadStats(pid: number): ThreadStat[] {
  return fs.readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    return { tid: Number(tid), nice: Number(f[16]), policy: Number(f[38]), name };
  });
}
