/**
 * Whether the heap watch may replace a worker now. Replacing a worker over
 * worker_heap_limit_mb helps only if a fresh worker starts under the limit.
 * When the successor of a heap replacement is over the limit at its first
 * heartbeat after listening, the limit is below a worker's baseline heap:
 * replacing again would replace workers forever. Then heap replacements back
 * off: none for BACKOFF_INITIAL_MS, then one more try, each failed try
 * doubling the pause up to BACKOFF_MAX_MS. A successor under the limit, or a
 * different limit (a SIGHUP), ends the back-off.
 */
export const BACKOFF_INITIAL_MS = 60_000;
export const BACKOFF_MAX_MS = 3_600_000;

export class HeapGuard {
  private pausedUntil = 0;
  private pauseMs = 0;
  private limitMb: number | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** The limit in force; a new one is a fresh start (it may well be above the baseline). */
  private track(limitMb: number): void {
    if (limitMb === this.limitMb) return;
    this.limitMb = limitMb;
    this.pausedUntil = 0;
    this.pauseMs = 0;
  }

  /** False while heap replacements back off. */
  mayReplace(limitMb: number): boolean {
    this.track(limitMb);
    return this.now() >= this.pausedUntil;
  }

  /**
   * The first heartbeat of a heap replacement's successor. Over the limit: a
   * pause starts and this says how long, and whether it is the first for this
   * limit (the one to tell the operator about). Under it: the back-off ends.
   */
  successorBeat(limitMb: number, heapUsedBytes: number): { readonly pauseMs: number; readonly first: boolean } | undefined {
    this.track(limitMb);
    if (heapUsedBytes <= limitMb * 1024 * 1024) {
      this.pauseMs = 0;
      this.pausedUntil = 0;
      return undefined;
    }
    const first = this.pauseMs === 0;
    this.pauseMs = first ? BACKOFF_INITIAL_MS : Math.min(this.pauseMs * 2, BACKOFF_MAX_MS);
    this.pausedUntil = this.now() + this.pauseMs;
    return { pauseMs: this.pauseMs, first };
  }
}
