/**
 * Exponential back-off (restarting workers, reconnecting producers): the first failure waits
 * `initialMs`, each further one in a row twice as long, up to `maxMs`. A
 * failure more than `maxMs` after the previous one starts a new streak, so a
 * worker that crashes once a day is replaced at once every time.
 */
export class Backoff {
  private streak = 0;
  private lastFailureAt = -Infinity;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a failure; returns how long to wait before the next attempt. */
  next(): number {
    const at = this.now();
    if (at - this.lastFailureAt > Math.max(this.maxMs, this.initialMs)) this.streak = 0;
    this.lastFailureAt = at;
    const delay = Math.min(this.initialMs * 2 ** this.streak, this.maxMs);
    this.streak++;
    return delay;
  }
}
