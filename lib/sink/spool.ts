/**
 * The failed-events spool: events that passed validation but that Kafka did
 * not take (delivery failure, timeout, shutdown) are appended to
 * `failed_events_path`, one NDJSON line each, so that nothing accepted for
 * processing is lost; `eventgate replay FILE` reads them back with readSpool.
 *
 * A line: {"topic","stream","key","timestamp","error":{"code","message"},"event","dt"}
 * where `event` is the event JSON itself (not a string) and `dt` when it was spooled.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { codeOf, EventGateError, messageOf, type ErrorCode } from '../errors';
import type { OutboundEvent } from './sink';

export interface SpoolError {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface FailedEvent {
  readonly event: OutboundEvent;
  readonly error: SpoolError;
}

/** One line of a spool file, as read back. */
export interface SpoolEntry {
  readonly topic: string;
  readonly stream: string;
  /** The Kafka key as UTF-8 text, or null. */
  readonly key: string | null;
  /** Message timestamp (ms since the epoch), or null for "when produced". */
  readonly timestamp: number | null;
  readonly error: { readonly code: string; readonly message: string };
  /** The event as it was validated (defaults and enrichment applied). */
  readonly event: unknown;
  /** ISO 8601 time the event was spooled. */
  readonly dt: string;
}

export interface Spool {
  readonly path: string;
  /** Appends one line per event, in one write; rejects with EG_ERR_SPOOL_WRITE. */
  append(failed: readonly FailedEvent[]): Promise<void>;
  /** Waits for pending appends and closes the file; idempotent. */
  close(): Promise<void>;
}

/**
 * The event as JSON text for the line: the serialized bytes as they are when
 * they are one line of JSON, so a replay produces exactly what was refused.
 */
function eventJson(value: string | Buffer): string {
  const text = typeof value === 'string' ? value : value.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (no sink should hand us that): keep the text rather than lose it.
    return JSON.stringify(text);
  }
  return /[\r\n]/.test(text) ? JSON.stringify(parsed) : text;
}

/** The NDJSON text for `failed`, each line ending in a newline. */
export function formatSpoolLines(failed: readonly FailedEvent[], now: Date = new Date()): string {
  const dt = JSON.stringify(now.toISOString());
  let out = '';
  for (const { event, error } of failed) {
    // Built by hand around the event so its JSON is not parsed and re-serialized
    // (which could change number formatting or key order).
    out +=
      `{"topic":${JSON.stringify(event.topic)},"stream":${JSON.stringify(event.stream)}` +
      `,"key":${event.key ? JSON.stringify(event.key.toString('utf8')) : 'null'}` +
      `,"timestamp":${event.timestamp ?? 'null'}` +
      `,"error":${JSON.stringify({ code: error.code, message: error.message })}` +
      `,"event":${eventJson(event.value)},"dt":${dt}}\n`;
  }
  return out;
}

/**
 * Appends to one file, opened on first use in append mode: every append is a
 * single O_APPEND write, so workers sharing the file do not interleave lines.
 */
export class FileSpool implements Spool {
  readonly path: string;
  private handle: FileHandle | undefined;
  private tail: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(path: string) {
    this.path = path;
  }

  append(failed: readonly FailedEvent[]): Promise<void> {
    if (this.closing) return Promise.reject(new EventGateError('EG_ERR_SPOOL_WRITE', `spool ${this.path} is closed`));
    if (failed.length === 0) return Promise.resolve();
    const text = formatSpoolLines(failed);
    // Appends run one after another, so the lazy open below is never raced.
    const write = this.tail.then(async () => {
      try {
        if (!this.handle) {
          await mkdir(dirname(this.path), { recursive: true });
          this.handle = await open(this.path, 'a', 0o640);
        }
        await this.handle.appendFile(text);
      } catch (err) {
        throw new EventGateError('EG_ERR_SPOOL_WRITE', `spool ${this.path}: ${messageOf(err)}`, { cause: err });
      }
    });
    this.tail = write.catch(() => undefined);
    return write;
  }

  close(): Promise<void> {
    this.closing ??= this.tail.then(async () => {
      const handle = this.handle;
      this.handle = undefined;
      await handle?.close();
    });
    return this.closing;
  }
}

/** The entry a line holds, or why it holds none. */
function parseEntry(text: string): SpoolEntry | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return messageOf(err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'not a JSON object';
  const e = parsed as Record<string, unknown>;
  if (typeof e.topic !== 'string') return 'no topic';
  if (!('event' in e)) return 'no event';
  const error = (typeof e.error === 'object' && e.error !== null ? e.error : {}) as Record<string, unknown>;
  return {
    topic: e.topic,
    stream: typeof e.stream === 'string' ? e.stream : '',
    key: typeof e.key === 'string' ? e.key : null,
    timestamp: typeof e.timestamp === 'number' ? e.timestamp : null,
    error: { code: typeof error.code === 'string' ? error.code : '', message: typeof error.message === 'string' ? error.message : '' },
    event: e.event,
    dt: typeof e.dt === 'string' ? e.dt : '',
  };
}

export interface ReadSpoolOptions {
  /**
   * Called for a line that is not a spool entry (a line cut short by a crash),
   * which is then skipped; without it such a line rejects with EG_ERR_SPOOL_READ.
   */
  onInvalidLine?(line: number, text: string, reason: string): void;
}

/** The entries of a spool file, in file order, streamed (not read whole). */
export async function* readSpool(path: string, options: ReadSpoolOptions = {}): AsyncGenerator<SpoolEntry> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      if (text.trim() === '') continue;
      const entry = parseEntry(text);
      if (typeof entry === 'string') {
        if (!options.onInvalidLine) {
          throw new EventGateError('EG_ERR_SPOOL_READ', `${path}:${line}: not a spool entry (${entry})`);
        }
        options.onInvalidLine(line, text, entry);
        continue;
      }
      yield entry;
    }
  } catch (err) {
    if (codeOf(err) === 'EG_ERR_SPOOL_READ') throw err;
    throw new EventGateError('EG_ERR_SPOOL_READ', `${path}: ${messageOf(err)}`, { cause: err });
  } finally {
    lines.close();
    input.destroy();
  }
}
