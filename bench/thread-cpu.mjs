// CPU time of a process's threads from the scheduler's own nanosecond accounting
// (/proc/<pid>/task/<tid>/schedstat, Linux): utime/stime in /proc/<pid>/stat are sampled per
// clock tick and misattribute short bursts of work. Shared by the benchmarks.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Nanoseconds each thread of `pid` has run so far, by thread id (the main thread's id is the
 * pid). Empty once the process has ended; a thread that ends while being read is left out.
 */
export function threadNanos(pid) {
  const byThread = new Map();
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byThread; // the process ended (a PostgreSQL backend closed)
  }
  for (const tid of tids) {
    try {
      byThread.set(
        tid,
        Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]),
      );
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return byThread;
}

/** Nanoseconds all threads of `pid` have run so far (0 once it has ended). */
export function processNanos(pid) {
  let ns = 0;
  for (const threadNs of threadNanos(pid).values()) ns += threadNs;
  return ns;
}
