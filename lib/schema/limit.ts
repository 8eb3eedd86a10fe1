/**
 * Bounds the schema fetches (http(s) GETs) a repository has in flight.
 * Clients choose schema URIs, so without a bound one request naming
 * hundreds of unknown schemas sends as many GETs at once, to a repository
 * that other workers (and services) depend on too. Fetches past the bound
 * wait their turn, first come first served; a wait longer than the fetch
 * timeout ends in EG_ERR_SCHEMA_FETCH_BUSY, a retryable error.
 */
import { EventGateError } from '../errors';
import { nullMetrics, type Metrics } from '../metrics/metrics';

interface Waiter {
  /** Called with the slot of a finished fetch, handed over. */
  readonly go: () => void;
  readonly timer: NodeJS.Timeout;
}

export class FetchLimiter {
  private active = 0;
  private readonly waiting: Waiter[] = [];

  constructor(
    private readonly max: number,
    private readonly waitMs: number,
    private readonly metrics: Metrics = nullMetrics,
  ) {}

  /** Runs `fetch` once fewer than `max` run; rejects with EG_ERR_SCHEMA_FETCH_BUSY if none ends within waitMs. */
  async run<T>(href: string, fetch: () => Promise<T>): Promise<T> {
    if (this.active < this.max) this.active++;
    else await this.turn(href);
    try {
      return await fetch();
    } finally {
      this.release();
    }
  }

  /** Fetches in flight and waiting, for tests and logs. */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  private turn(href: string): Promise<void> {
    const started = performance.now();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        go: () => {
          this.metrics.timing('schema.fetch.wait_time', performance.now() - started);
          resolve();
        },
        timer: setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(waiter), 1);
          this.metrics.increment('schema.fetch.refused', 1, { reason: 'busy' });
          reject(
            new EventGateError(
              'EG_ERR_SCHEMA_FETCH_BUSY',
              `${href} was not fetched: ${this.max} schema fetches (schema_limits.max_concurrent_fetches) were in flight for ${this.waitMs} ms; retry later.`,
            ),
          );
        }, this.waitMs),
      };
      this.waiting.push(waiter);
    });
  }

  /**
   * The slot passes straight to the first waiter: were it freed and taken
   * again a microtask later, a newcomer could take it first.
   */
  private release(): void {
    const next = this.waiting.shift();
    if (!next) {
      this.active--;
      return;
    }
    clearTimeout(next.timer);
    next.go();
  }
}
