/**
 * The last word of a process that met a bug: an uncaught exception or an
 * unhandled rejection. Node's own answer is a raw stack on stderr, which
 * journald or a log pipeline keeps as lines of plain text, not a log line:
 * no level, no code, no worker. Each process role installs this once, with
 * its logger, and one fatal bunyan line says what broke and what the process
 * was doing before it exits 1 (a worker's death is then replaced by the
 * master as any crash).
 */
import type { ErrorCode } from '../errors';
import type { Logger } from '../log';
import type { LogEvent } from '../log-events';

export type Role = 'master' | 'worker' | 'single';

/** What the process was doing when it died: its lifecycle phase. */
export type Doing = 'starting' | 'serving' | 'draining' | 'stopping';

export function exitOnUncaught(log: Logger, role: Role, doing: () => Doing): void {
  let dying = false;
  // One handler for both: without an 'unhandledRejection' listener node hands
  // rejections here, with origin 'unhandledRejection' (--unhandled-rejections=throw, the default).
  process.on('uncaughtException', (err: unknown, origin: NodeJS.UncaughtExceptionOrigin) => {
    // A throw from the logger itself must not loop back here.
    if (dying) process.exit(1);
    dying = true;
    const code: ErrorCode = 'EG_ERR_UNCAUGHT';
    try {
      log.fatal({ event: 'process.uncaught_error' satisfies LogEvent, err, code, origin, role, doing: doing() }, 'uncaught error: exiting');
    } finally {
      // stdout is synchronous for files and pipes on Linux: the line is out.
      process.exit(1);
    }
  });
}
