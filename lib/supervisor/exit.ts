/**
 * The one shutdown policy of every process role (master, single process,
 * worker): the first stop request runs `stop` once, bounded by a timeout;
 * exit 0 when it ends clean, 1 when it reports something unclean or throws;
 * a second signal (past shutdown_signal_merge_ms: signal.ts) or the timeout
 * exits 1 at once. What differs by role comes in: what to stop, the wording
 * of its lines, what to force before a hard exit (the master kills its
 * workers) and what an exit is (a worker tells the master first).
 */
import type { LogEvent } from '../log-events';
import type { Logger } from '../log';
import { StopSignals } from './signal';

/** The message of each line, per role; the `event` field is the same for all. */
export interface ExitLines {
  readonly started: string;
  readonly second: string;
  readonly timeout: string;
  readonly failed: string;
  readonly stopped: string;
}

export interface GracefulExitOptions {
  readonly log: Logger;
  readonly lines: ExitLines;
  /** Ends the process with this code (process.exit, or a worker's message to the master, then exit). */
  readonly exit: (code: number) => void;
  /** Runs before a forced exit (second signal, timeout). */
  readonly force?: () => void;
}

export interface StopRequest {
  /** The signal that asked, if one did: merged and second signals are told apart by it. */
  readonly signal?: NodeJS.Signals;
  readonly mergeMs?: number;
  readonly timeoutMs: number;
  /** More fields of the `shutdown.started` line. */
  readonly fields?: Readonly<Record<string, unknown>>;
}

/** Resolves true when everything stopped cleanly, false when something did not (exit 1); throws on failure (exit 1). */
export type Stop = () => Promise<boolean>;

export class GracefulExit {
  private readonly signals: StopSignals;
  private begun = false;
  private ended = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: GracefulExitOptions) {
    this.signals = new StopSignals(opts.log);
  }

  get stopping(): boolean {
    return this.begun;
  }

  /** A request to stop: the first runs `stop`; a later signal exits 1 now; one without a signal is ignored. */
  request(req: StopRequest, stop: Stop): void {
    const { log, lines } = this.opts;
    if (req.signal !== undefined && this.signals.take(req.signal, req.mergeMs ?? 0) === 'merged') return;
    if (this.begun) {
      if (req.signal === undefined) return;
      log.warn({ event: 'shutdown.second_signal' satisfies LogEvent, signal: req.signal }, lines.second);
      return this.force(1);
    }
    this.begun = true;
    log.info({ event: 'shutdown.started' satisfies LogEvent, ...(req.signal ? { signal: req.signal } : {}), ...req.fields }, lines.started);
    this.timer = setTimeout(() => {
      log.error({ event: 'shutdown.timeout' satisfies LogEvent, timeout_ms: req.timeoutMs }, lines.timeout);
      this.force(1);
    }, req.timeoutMs);
    this.timer.unref();
    // Called now, not a tick later (the master marks itself stopping at once); a throw becomes a rejection.
    const running = (async () => stop())();
    running.then(
      (clean) => {
        if (this.ended) return;
        log.info({ event: 'shutdown.stopped' satisfies LogEvent, clean }, lines.stopped);
        // stdout is synchronous for files and pipes on Linux: the lines above are out.
        this.end(clean ? 0 : 1);
      },
      (err: unknown) => {
        if (this.ended) return;
        log.error({ event: 'shutdown.failed' satisfies LogEvent, err }, lines.failed);
        this.end(1);
      },
    );
  }

  private force(code: number): void {
    if (this.ended) return;
    this.opts.force?.();
    this.end(code);
  }

  /** The first end wins: a stop that finishes after a forced exit (in a test, where exit returns) must not exit again. */
  private end(code: number): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    this.opts.exit(code);
  }
}
