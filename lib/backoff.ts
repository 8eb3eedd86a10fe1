/**
 * Exponential back-off (restarting workers, reconnecting producers): the first failure waits
 * `initialMs`, each further one in a row twice as long, up to `maxMs`. A
 * failure more than `maxMs` after the previous one starts a new streak, so a
 * worker that crashes once a day is replaced at once every time. With
 * `firstMs`, the first failure of a streak waits that long instead, and the
 * doubling from `initialMs` starts at the second (a producer rebuilt at once
 * after a rare fatal error, but not in a tight loop when it keeps failing).
 */
export class Backoff {
  private streak = 0;
  private lastFailureAt = -Infinity;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
    private readonly firstMs?: number,
  ) {}

  /** Records a failure; returns how long to wait before the next attempt. */
  next(): number {
    const at = this.now();
    if (at - this.lastFailureAt > Math.max(this.maxMs, this.initialMs)) this.streak = 0;
    this.lastFailureAt = at;
    const doublings = this.firstMs === undefined ? this.streak : this.streak - 1;
    const delay = doublings < 0 ? (this.firstMs as number) : Math.min(this.initialMs * 2 ** doublings, this.maxMs);
    this.streak++;
    return delay;
  }
}
