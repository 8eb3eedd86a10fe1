import { basename, dirname, join, resolve } from 'node:path';
import type { LoadedConfig } from './config/load';
import { codeOf, EventGateError, messageOf, type ErrorCode } from './errors';
import type { Logger } from './log';
import type { Metrics } from './metrics/metrics';
import { prepareEvents } from './pipeline/prepare';
import { buildApp } from './service';
import { FileSpool, readSpool, type FailedEvent, type SpoolEntry } from './sink/spool';
import type { LogEvent } from './log-events';

/** Spooled events come with no request: nothing to enrich from headers or a query string. */
const NO_REQUEST = Object.freeze({ headers: {} });

export interface ReplayReport {
  readonly file: string;
  readonly read: number;
  readonly produced: number;
  readonly invalid: number;
  readonly failed: number;
  readonly skipped_lines: number;
  /** Where the events that did not go in were written, when any did not. */
  readonly failed_file?: string;
  /** Why the replay stopped before the end of FILE (Kafka never connected, FILE unreadable, ...). */
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

/** The report of a replay that failed before it read anything (config, FILE). */
export function failedReport(file: string, err: unknown): ReplayReport {
  return { file: resolve(file), read: 0, produced: 0, invalid: 0, failed: 0, skipped_lines: 0, error: { code: codeOf(err), message: messageOf(err) } };
}

export interface ReplayOptions {
  /** Events per produce call. */
  readonly batchSize?: number;
  /** How long to wait for the sinks (Kafka) to be ready; default kafka.connect_timeout_ms. */
  readonly readyTimeoutMs?: number;
  /** Where failures go; default: beside FILE, named after it and the time. */
  readonly failedPath?: string;
}

/** The config with its spool pointed at `failedPath`, so a replay never appends to the file it reads. */
function withSpool(loaded: LoadedConfig, failedPath: string): LoadedConfig {
  const [service] = loaded.config.services;
  return {
    ...loaded,
    config: { ...loaded.config, services: [{ ...service, conf: { ...service.conf, failed_events_path: failedPath } }] },
  };
}

/**
 * Waits for the guaranteed sink, the only one a replay produces to. A replay
 * has no client to serve meanwhile: a broker that does not answer within one
 * connection attempt (kafka.connect_timeout_ms) ends it, as
 * EG_ERR_KAFKA_CONNECT, rather than leaving the operator at a silent prompt.
 */
async function untilReady(sink: { notReadyReason(): string | undefined }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let reason = sink.notReadyReason(); reason !== undefined; reason = sink.notReadyReason()) {
    if (Date.now() >= deadline) {
      throw new EventGateError('EG_ERR_KAFKA_CONNECT', `Kafka not connected within kafka.connect_timeout_ms (${timeoutMs} ms): ${reason}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `eventgate replay FILE`: produces the events of a failed-events spool again,
 * through the normal validation and the guaranteed sink. Events that still do
 * not go in (Kafka failures, and events now invalid) are written to a new
 * spool file; FILE itself is only read.
 */
export async function replaySpool(file: string, loaded: LoadedConfig, deps: { log: Logger; metrics: Metrics }, opts: ReplayOptions = {}): Promise<ReplayReport> {
  const source = resolve(file);
  const failedPath = opts.failedPath ?? join(dirname(source), `${basename(source, '.ndjson')}.replay-failed-${Date.now()}.ndjson`);
  const app = await buildApp(withSpool(loaded, failedPath), deps);
  // Invalid events are not the sink's to spool: this spool takes them.
  const invalidSpool = new FileSpool(failedPath);
  const batchSize = opts.batchSize ?? 500;
  let read = 0;
  let produced = 0;
  let invalid = 0;
  let failed = 0;
  let skipped = 0;
  let error: ReplayReport['error'];
  try {
    await untilReady(app.sinks.guaranteed, opts.readyTimeoutMs ?? app.conf.kafka?.connect_timeout_ms ?? 10000);
    const flush = async (batch: SpoolEntry[]): Promise<void> => {
      const events = batch.map((e) => e.event);
      const timestamps = batch.map((e) => e.timestamp);
      // The same prepare and produce steps as a request, inline, each event with the Kafka timestamp it got at receipt.
      const prepared = await prepareEvents(events, NO_REQUEST, app.inline, { timestamps });
      const answer = await app.gate.produce(prepared, app.sinks.guaranteed, { requestId: `replay-${basename(source)}` });
      produced += events.length - answer.failed;
      invalid += answer.invalid;
      failed += answer.failed - answer.invalid;
      // Invalid events are not the sink's to spool (it spooled those it refused): this spool takes them.
      const nowInvalid: FailedEvent[] = [];
      prepared.results?.forEach((r, i) => {
        if (r.status !== 'invalid') return;
        const e = batch[i];
        nowInvalid.push({
          event: { topic: e.topic, stream: e.stream, value: Buffer.from(JSON.stringify(e.event)), key: e.key === null ? null : Buffer.from(e.key) },
          error: { code: r.code, message: r.context.errorsText },
        });
      });
      await invalidSpool.append(nowInvalid);
    };
    let batch: SpoolEntry[] = [];
    const onInvalidLine = (line: number, _text: string, reason: string): void => {
      skipped++;
      deps.log.warn({ file: source, line, reason, event: 'replay.line_skipped' satisfies LogEvent }, 'spool line skipped');
    };
    for await (const entry of readSpool(source, { onInvalidLine })) {
      read++;
      batch.push(entry);
      if (batch.length >= batchSize) {
        await flush(batch);
        batch = [];
      }
    }
    if (batch.length) await flush(batch);
  } catch (err) {
    error = { code: codeOf(err), message: messageOf(err) };
  } finally {
    await app.close();
    await invalidSpool.close();
  }
  const report: ReplayReport = { file: source, read, produced, invalid, failed, skipped_lines: skipped };
  return { ...report, ...(invalid + failed > 0 ? { failed_file: failedPath } : {}), ...(error ? { error } : {}) };
}
