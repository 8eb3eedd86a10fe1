/**
 * Stop signals that belong together. One Ctrl-C on `npm start` delivers two
 * SIGINTs within milliseconds: the terminal signals its whole foreground
 * process group (npm and node alike), and npm forwards the one it got. A
 * second signal is the operator's "stop now" only when it comes later than
 * `shutdown_signal_merge_ms` after the first; sooner, it is the same request.
 */
import type { Logger } from '../log';
import type { LogEvent } from '../log-events';

export type SignalVerdict = 'first' | 'merged' | 'second';

export class StopSignals {
  private firstAt: number | undefined;

  constructor(private readonly log: Logger) {}

  take(signal: NodeJS.Signals, mergeMs: number): SignalVerdict {
    const now = performance.now();
    if (this.firstAt === undefined) {
      this.firstAt = now;
      return 'first';
    }
    if (now - this.firstAt < mergeMs) {
      this.log.info({ event: 'shutdown.signal_merged' satisfies LogEvent, signal, merge_ms: mergeMs }, 'signal merged with the first: already stopping');
      return 'merged';
    }
    return 'second';
  }
}
