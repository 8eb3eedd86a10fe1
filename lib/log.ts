import bunyan from 'bunyan';
import type { Config, LogStream } from './config/schema';

export type Logger = bunyan;
export type { LogStream };

/**
 * The process logger: JSON lines on `stream` (config/outputs.ts logStreamOf
 * picks it), level from `logging.level`. `fields` (worker_id, pid, ...) are
 * carried on every line.
 */
export function createLogger(logging: Config['logging'], fields: Record<string, unknown> = {}, stream: LogStream = 'stdout'): Logger {
  return bunyan.createLogger({
    name: logging.name,
    level: logging.level,
    serializers: bunyan.stdSerializers,
    stream: process[stream],
    ...fields,
  });
}

/** A logger that writes nothing, for tests and tools that must stay quiet. */
export function silentLogger(): Logger {
  return bunyan.createLogger({ name: 'eventgate', streams: [], level: bunyan.FATAL + 1 });
}
