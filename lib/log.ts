import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import bunyan from 'bunyan';
import type { Config, LogStream, LogStreamEntry } from './config/schema';

export type Logger = bunyan;
export type { LogStream };

/**
 * service-runner's `named_levels`: each record with its level as the
 * upper-case name (`"level":"INFO"`), which log pipelines built for
 * service-runner services match on.
 */
class NamedLevels extends Writable {
  constructor(private readonly out: NodeJS.WritableStream) {
    super({ objectMode: true });
  }

  override _write(record: Record<string, unknown>, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const line = JSON.stringify({ ...record, level: bunyan.nameFromLevel[record.level as number].toUpperCase() }) + '\n';
    this.out.write(line);
    done();
  }
}

function destination(s: LogStreamEntry): NodeJS.WritableStream {
  // bunyan opens a file stream in append mode: so does this, and so may
  // several processes (the master and its workers) share one file.
  return s.type === 'file' ? createWriteStream(s.path, { flags: 'a' }) : process[s.type];
}

function bunyanStream(s: LogStreamEntry, level: Config['logging']['level']): bunyan.Stream {
  const out = destination(s);
  const streamLevel = s.level ?? level;
  return s.named_levels ? { type: 'raw', stream: new NamedLevels(out), level: streamLevel } : { stream: out, level: streamLevel };
}

/**
 * The process logger: JSON lines on each of `logging.streams`, or with none
 * on `stream` (config/outputs.ts logStreamOf picks it), level from
 * `logging.level` (a stream may have its own). `fields` (worker_id, pid,
 * ...) are carried on every line.
 */
export function createLogger(logging: Config['logging'], fields: Record<string, unknown> = {}, stream: LogStream = 'stdout'): Logger {
  const streams = logging.streams.length ? logging.streams.map((s) => bunyanStream(s, logging.level)) : [{ stream: process[stream], level: logging.level }];
  return bunyan.createLogger({
    name: logging.name,
    serializers: bunyan.stdSerializers,
    streams,
    ...fields,
  });
}

/** A logger that writes nothing, for tests and tools that must stay quiet. */
export function silentLogger(): Logger {
  return bunyan.createLogger({ name: 'eventgate', streams: [], level: bunyan.FATAL + 1 });
}
