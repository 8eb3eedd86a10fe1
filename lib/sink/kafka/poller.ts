/**
 * When a producer polls librdkafka. Delivery reports, logs, errors and
 * statistics reach JS only through poll(): while a delivery is awaited, a
 * report waiting for the next poll is latency every guaranteed request pays,
 * so the producer polls every `busyMs`; with nothing awaited it polls every
 * `idleMs` (logs, errors, statistics), which costs nothing worth a core.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly pollOnce: () => void,
    private readonly awaiting: () => boolean,
    private readonly busyMs: number,
    private readonly idleMs: number,
  ) {
    this.schedule();
  }

  /** A delivery is awaited now: from an idle pace, the next poll comes at the busy one. */
  wake(): void {
    if (this.stopped || this.busy) return;
    clearTimeout(this.timer);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    this.busy = this.awaiting();
    this.timer = setTimeout(() => {
      this.pollOnce();
      if (!this.stopped) this.schedule();
    }, this.busy ? this.busyMs : this.idleMs);
    this.timer.unref();
  }
}
