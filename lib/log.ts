import bunyan from 'bunyan';
import type { Config } from './config/schema';

export type Logger = bunyan;

/**
 * The process logger: JSON lines on stdout, level from `logging.level`.
 * `fields` (worker_id, pid, ...) are carried on every line.
 */
export function createLogger(logging: Config['logging'], fields: Record<string, unknown> = {}): Logger {
  return bunyan.createLogger({
    name: logging.name,
    level: logging.level,
    serializers: bunyan.stdSerializers,
    ...fields,
  });
}

/** A logger that writes nothing, for tests and tools that must stay quiet. */
export function silentLogger(): Logger {
  return bunyan.createLogger({ name: 'eventgate', streams: [], level: bunyan.FATAL + 1 });
}
