/**
 * The master's way out, and every process.exit of the master: SIGTERM/SIGINT
 * drains all workers and exits 0 (1 if one did not drain cleanly); a second
 * signal or shutdown_timeout_ms kills them and exits 1; a master whose first
 * worker never starts gives up with 1.
 */
import type { Logger } from '../log';
import type { ReloadableMetrics } from '../metrics/factory';
import { StopSignals } from './signal';
import type { WorkerSet } from './workers';

export class Shutdown {
  private readonly stopped = new AbortController();
  /** Some worker did not drain cleanly during the stop: the exit code says so. */
  private unclean = false;
  /** When the first signal came: a second one within the merge window is the same request (signal.ts). */
  private readonly signals: StopSignals;

  constructor(
    private readonly workers: WorkerSet,
    private readonly log: Logger,
    private readonly metrics: ReloadableMetrics,
    /** Runs once every worker is gone, before the metrics close; `clean`: each drained cleanly. */
    private readonly onDrained: (clean: boolean) => void,
  ) {
    this.signals = new StopSignals(log);
  }

  get stopping(): boolean {
    return this.stopped.signal.aborted;
  }

  /** A worker exited badly (a failed drain, a crash) while the master stops. */
  markUnclean(): void {
    this.unclean = true;
  }

  begin(signal: NodeJS.Signals, timeoutMs: number, mergeMs: number): void {
    if (this.signals.take(signal, mergeMs) === 'merged') return;
    if (this.stopping) {
      this.log.warn({ signal }, 'second signal: killing the workers and exiting now');
      this.workers.killAll('shutdown');
      process.exit(1);
    }
    this.stopped.abort();
    this.log.info({ signal, workers: this.workers.size }, 'shutting down: draining the workers');
    setTimeout(() => {
      this.log.error({ timeout_ms: timeoutMs }, 'shutdown timed out: killing the workers and exiting now');
      this.workers.killAll('shutdown');
      process.exit(1);
    }, timeoutMs).unref();
    void (async () => {
      await Promise.all([...this.workers].map((w) => this.workers.retire(w)));
      this.onDrained(!this.unclean);
      await this.metrics.close();
      this.log.info({ clean: !this.unclean }, 'stopped');
      // stdout is synchronous for files and pipes on Linux: the lines above are out.
      process.exit(this.unclean ? 1 : 0);
    })();
  }

  /** The service cannot start: nothing to drain, the reason is logged already. */
  async giveUp(): Promise<never> {
    this.workers.killAll('shutdown');
    await this.metrics.close();
    process.exit(1);
  }

  /** Resolves true after `ms`, or false at once when the master stops. */
  sleep(ms: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    const signal = this.stopped.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', done);
        resolve(true);
      }, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
