/**
 * Lowers the scheduling priority of the calling thread only. A pool thread
 * parsing a large batch competes for the same cores as the event loop that
 * answers everyone's small requests; niced, it takes what the event loop
 * leaves, so one client's big batch does not slow another's single event.
 *
 * Linux: setpriority(PRIO_PROCESS, tid) applies to one thread, and
 * /proc/thread-self names the calling thread's id. Elsewhere, or when the
 * call is refused, the thread keeps its priority (returns false).
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Sets the calling thread's nice value (absolute, as setpriority does); 0 leaves it as it is. */
export function niceThisThread(nice: number): boolean {
  if (nice === 0) return true;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    // A tid equal to the pid is the process's main thread: never nice that one.
    if (!Number.isInteger(tid) || tid === process.pid) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
