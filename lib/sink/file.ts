import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { bytesOf, PRODUCED, type OutboundEvent, type ProduceOutcome, type Sink } from './sink';

const NEWLINE = Buffer.from('\n');

/**
 * The values as one span of the buffer they are views into, when they sit
 * there back to back with a newline after each: the thread pool packs them
 * so (lib/batch/pack.ts), and a large batch is then written without a copy.
 */
function packedNdjson(events: readonly OutboundEvent[]): Buffer | undefined {
  const first = events[0].value;
  if (typeof first === 'string') return undefined;
  const all = new Uint8Array(first.buffer);
  let end = first.byteOffset + first.length;
  for (let i = 1; i < events.length; i++) {
    const v = events[i].value;
    if (typeof v === 'string' || v.buffer !== first.buffer || v.byteOffset !== end + 1 || all[end] !== 0x0a) return undefined;
    end = v.byteOffset + v.length;
  }
  if (end >= all.length || all[end] !== 0x0a) return undefined;
  return Buffer.from(first.buffer, first.byteOffset, end + 1 - first.byteOffset);
}

/** One request's events as NDJSON: text when every value is text (the in-thread path), else bytes. */
function ndjson(events: readonly OutboundEvent[]): string | Buffer {
  let text = '';
  for (const e of events) {
    if (typeof e.value !== 'string') return packedNdjson(events) ?? Buffer.concat(events.flatMap((x) => [bytesOf(x.value), NEWLINE]));
    text += e.value + '\n';
  }
  return text;
}

/** writeSync may write less than asked (a full disk, a signal): go on until all is out. */
function writeAll(fd: number, data: string | Buffer): void {
  let bytes: Buffer;
  let off: number;
  if (typeof data === 'string') {
    off = writeSync(fd, data);
    if (off === Buffer.byteLength(data)) return;
    bytes = Buffer.from(data);
  } else {
    bytes = data;
    off = 0;
  }
  while (off < bytes.length) off += writeSync(fd, bytes, off);
}

/**
 * NDJSON to a file or stdout: the sink when there is no Kafka (development,
 * and config.dev.yaml). One write per request, and an event counts as
 * produced once its write completed.
 *
 * A file is appended to synchronously: a few KB into the page cache takes
 * about 2 µs, less than handing it to libuv's thread pool and back, and an
 * async WriteStream keeps each waiting request's chunk and callback queued
 * long enough to be promoted, which made every scavenge copy ~2 MB and
 * tripled GC time (bench/: test single 45 -> 37 µs per event). stdout is
 * already synchronous for files and pipes on Linux.
 */
export class FileSink implements Sink {
  readonly kind: string;
  private readonly fd: number | undefined;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(outputPath: string) {
    if (outputPath === 'stdout') {
      this.kind = 'stdout';
      process.stdout.on('error', (err: Error) => {
        this.failure = err;
      });
    } else {
      mkdirSync(dirname(outputPath), { recursive: true });
      this.fd = openSync(outputPath, 'a');
      this.kind = 'file';
    }
  }

  produce(events: readonly OutboundEvent[]): Promise<ProduceOutcome[]> {
    if (events.length === 0) return Promise.resolve([]);
    const failed = (why: string): ProduceOutcome[] => events.map(() => ({ ok: false, code: 'EG_ERR_SINK_WRITE', message: `${this.kind} sink: ${why}` }));
    if (this.failure) return Promise.resolve(failed(this.failure.message));
    if (this.closing) return Promise.resolve(failed('sink is closed'));
    const chunk = ndjson(events);
    if (this.fd === undefined) {
      return new Promise((resolve) => {
        process.stdout.write(chunk, (err) => resolve(err ? failed(err.message) : events.map(() => PRODUCED)));
      });
    }
    try {
      writeAll(this.fd, chunk);
    } catch (err) {
      this.failure = err as Error;
      return Promise.resolve(failed(this.failure.message));
    }
    return Promise.resolve(events.map(() => PRODUCED));
  }

  notReadyReason(): string | undefined {
    return this.failure ? `${this.kind} sink failed: ${this.failure.message}` : undefined;
  }

  close(): Promise<void> {
    this.closing ??= Promise.resolve().then(() => {
      if (this.fd !== undefined) closeSync(this.fd);
    });
    return this.closing;
  }
}
