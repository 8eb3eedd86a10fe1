/**
 * The master's way out, and every process.exit of the master: SIGTERM/SIGINT
 * drains all workers and exits 0 (1 if one did not drain cleanly); a second
 * signal or shutdown_timeout_ms kills them and exits 1; a master whose first
 * worker never starts gives up with 1.
 */
import type { Logger } from '../log';
import type { ReloadableMetrics } from '../metrics/factory';
import { GracefulExit, type ExitLines } from './exit';
import type { WorkerSet } from './workers';

const MASTER_LINES: ExitLines = {
  started: 'shutting down: draining the workers',
  second: 'second signal: killing the workers and exiting now',
  timeout: 'shutdown timed out: killing the workers and exiting now',
  failed: 'shutdown failed',
  stopped: 'stopped',
};

export class Shutdown {
  private readonly stopped = new AbortController();
  /** Some worker did not drain cleanly during the stop: the exit code says so. */
  private unclean = false;
  private readonly exit: GracefulExit;

  constructor(
    private readonly workers: WorkerSet,
    log: Logger,
    private readonly metrics: ReloadableMetrics,
    /** Runs once every worker is gone, before the metrics close; `clean`: each drained cleanly. */
    private readonly onDrained: (clean: boolean) => void,
  ) {
    this.exit = new GracefulExit({
      log,
      lines: MASTER_LINES,
      exit: (code) => process.exit(code),
      force: () => this.workers.killAll('shutdown'),
    });
  }

  get stopping(): boolean {
    return this.stopped.signal.aborted;
  }

  /** A worker exited badly (a failed drain, a crash) while the master stops. */
  markUnclean(): void {
    this.unclean = true;
  }

  begin(signal: NodeJS.Signals, timeoutMs: number, mergeMs: number): void {
    this.exit.request({ signal, mergeMs, timeoutMs, fields: { workers: this.workers.size } }, async () => {
      this.stopped.abort();
      await Promise.all([...this.workers].map((w) => this.workers.retire(w)));
      this.onDrained(!this.unclean);
      await this.metrics.close();
      return !this.unclean;
    });
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
