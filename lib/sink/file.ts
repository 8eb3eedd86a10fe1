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

/** A call's chunk, waiting for the write of its loop turn. */
interface Queued {
  readonly chunk: string | Buffer;
  readonly events: readonly OutboundEvent[];
  readonly resolve: (outcomes: ProduceOutcome[]) => void;
}

/**
 * NDJSON to a file or stdout: the sink when there is no Kafka (development,
 * and config.dev.yaml). An event counts as produced once its write completed.
 *
 * A file is appended to synchronously: a few KB into the page cache takes
 * about 2 µs, less than handing it to libuv's thread pool and back, and an
 * async WriteStream keeps each waiting request's chunk and callback queued
 * long enough to be promoted, which made every scavenge copy ~2 MB and
 * tripled GC time (bench/: test single 45 -> 37 µs per event). The calls of
 * one event-loop turn share one write, at the end of the turn (setImmediate):
 * under load many requests end in the same turn, and a write syscall per
 * request was the largest cost of a single event after the answer's own
 * (bench/, issue 13). stdout is already synchronous for files and pipes on
 * Linux, and keeps one write per call.
 */
export class FileSink implements Sink {
  readonly kind: string;
  private readonly fd: number | undefined;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  /** Calls of this turn, in order; written together by flush(). */
  private queue: Queued[] = [];

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
    if (this.failure) return Promise.resolve(this.failed(events, this.failure.message));
    if (this.closing) return Promise.resolve(this.failed(events, 'sink is closed'));
    const chunk = ndjson(events);
    if (this.fd === undefined) {
      return new Promise((resolve) => {
        process.stdout.write(chunk, (err) => resolve(err ? this.failed(events, err.message) : events.map(() => PRODUCED)));
      });
    }
    return new Promise((resolve) => {
      if (this.queue.length === 0) setImmediate(this.flush);
      this.queue.push({ chunk, events, resolve });
    });
  }

  notReadyReason(): string | undefined {
    return this.failure ? `${this.kind} sink failed: ${this.failure.message}` : undefined;
  }

  close(): Promise<void> {
    this.closing ??= Promise.resolve().then(() => {
      // Calls taken before the close are written, not refused: they were told nothing yet.
      this.flush();
      if (this.fd !== undefined) closeSync(this.fd);
    });
    return this.closing;
  }

  private failed(events: readonly OutboundEvent[], why: string): ProduceOutcome[] {
    return events.map(() => ({ ok: false, code: 'EG_ERR_SINK_WRITE', message: `${this.kind} sink: ${why}` }));
  }

  /**
   * Writes the turn's calls in order: runs of text values as one string,
   * pooled buffers as they are (no copy). A failed write fails its calls and
   * every call after it; those before it were written.
   */
  private readonly flush = (): void => {
    const queue = this.queue;
    if (queue.length === 0 || this.fd === undefined) return;
    this.queue = [];
    let from = 0;
    while (from < queue.length) {
      let to = from + 1;
      let data = queue[from].chunk;
      if (typeof data === 'string') {
        while (to < queue.length && typeof queue[to].chunk === 'string') data += queue[to++].chunk as string;
      }
      if (!this.failure) {
        try {
          writeAll(this.fd, data);
        } catch (err) {
          this.failure = err as Error;
        }
      }
      for (let i = from; i < to; i++) {
        const { events, resolve } = queue[i];
        resolve(this.failure ? this.failed(events, this.failure.message) : events.map(() => PRODUCED));
      }
      from = to;
    }
  };
}
