import { performance } from 'node:perf_hooks';

interface Deadline {
  readonly at: number;
  readonly expire: () => void;
}

/**
 * Deadlines checked by one timer for all of them: a body read's 408. A timer
 * per request costs more than it seems: when requests do not overlap, node
 * builds and tears down a timer list for each one (~0.25 µs, bench/). A
 * deadline fires up to `tickMs` late; the timer runs only while deadlines are
 * pending and never holds the process open.
 */
export class Deadlines {
  private readonly pending = new Set<Deadline>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly tickMs: number) {}

  /** `expire` runs once, `ms` to `ms + tickMs` from now, unless cancelled first. */
  arm(ms: number, expire: () => void): Deadline {
    const d: Deadline = { at: performance.now() + ms, expire };
    this.pending.add(d);
    this.timer ??= setInterval(() => this.sweep(), this.tickMs).unref();
    return d;
  }

  cancel(d: Deadline): void {
    this.pending.delete(d);
  }

  private sweep(): void {
    const now = performance.now();
    for (const d of this.pending) {
      if (d.at > now) continue;
      this.pending.delete(d);
      d.expire();
    }
    if (this.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
