import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { PRODUCED, type OutboundEvent, type ProduceOutcome, type Sink } from './sink';

const NEWLINE = Buffer.from('\n');

/**
 * NDJSON to a file or stdout: the sink when there is no Kafka (development,
 * and config.dev.yaml). One write per request, and an event counts as
 * produced once its write completed.
 */
export class FileSink implements Sink {
  readonly kind: string;
  private readonly out: Writable;
  private readonly owned: WriteStream | undefined;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(outputPath: string) {
    if (outputPath === 'stdout') {
      this.kind = 'stdout';
      this.out = process.stdout;
    } else {
      mkdirSync(dirname(outputPath), { recursive: true });
      this.owned = createWriteStream(outputPath, { flags: 'a' });
      this.kind = 'file';
      this.out = this.owned;
    }
    this.out.on('error', (err) => {
      this.failure = err;
    });
  }

  produce(events: readonly OutboundEvent[]): Promise<ProduceOutcome[]> {
    if (events.length === 0) return Promise.resolve([]);
    const failed = (err: Error): ProduceOutcome[] =>
      events.map(() => ({ ok: false, code: 'EG_ERR_SINK_WRITE', message: `${this.kind} sink: ${err.message}` }));
    if (this.failure) return Promise.resolve(failed(this.failure));
    if (this.closing) return Promise.resolve(failed(new Error('sink is closed')));
    const parts: Buffer[] = new Array<Buffer>(events.length * 2);
    for (let i = 0; i < events.length; i++) {
      parts[2 * i] = events[i].value;
      parts[2 * i + 1] = NEWLINE;
    }
    const chunk = Buffer.concat(parts);
    return new Promise((resolve) => {
      this.out.write(chunk, (err) => {
        resolve(err ? failed(err) : events.map(() => PRODUCED));
      });
    });
  }

  notReadyReason(): string | undefined {
    return this.failure ? `${this.kind} sink failed: ${this.failure.message}` : undefined;
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      if (!this.owned) return resolve();
      this.owned.end(() => resolve());
    });
    return this.closing;
  }
}
