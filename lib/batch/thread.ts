/**
 * Entry of a pool thread (piscina loads this file). It builds the same
 * validator as the HTTP worker (buildValidator, with its own schema cache),
 * and per task: parses the raw body, validates, enriches, serializes, makes
 * the error events of invalid events, builds the answer and the metric
 * counts, and replies with all that packed (pack.ts). Producing stays on the
 * main thread, which then has a constant left to do per batch besides it.
 */
import bunyan from 'bunyan';
import { deserialize } from 'node:v8';
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { codeOf, messageOf } from '../errors';
import { buildValidator, type BuiltValidator } from '../gate/build';
import { errorEventOptionsOf, errorEventsOf, type ErrorEventOptions } from '../gate/error-events';
import type { FailedResult } from '../gate/result';
import type { RequestInfo, StreamLookup, Validated } from '../gate/validate';
import { eventLimitsOf, type EventLimits } from '../event/scan';
import { parseEvents, type ParsedEvents } from '../event/parse';
import type { Logger } from '../log';
import { StreamTable, type StreamSettings } from '../stream';
import { ThreadMetrics } from './metrics';
import { niceThisThread } from './nice';
import { packReply, transferOf, type PackedErrorEvents } from './pack';
import { relayedLocate } from './schema-relay';
import type { BatchReply, BatchTask, StreamSnapshot, ThreadData } from './task';

/** The stream table a task names, rebuilt only when the main thread's config changed. */
class SnapshotStreams implements StreamLookup {
  private version = -1;
  private table: StreamTable | undefined;

  use(snapshot: StreamSnapshot): void {
    if (snapshot.version === this.version) return;
    const source: unknown = deserialize(snapshot.bytes);
    this.table = new StreamTable(source, snapshot.serviceName);
    this.version = snapshot.version;
  }

  get(stream: string): StreamSettings | undefined {
    return this.table?.get(stream);
  }
}

interface ThreadState {
  readonly built: BuiltValidator;
  readonly metrics: ThreadMetrics;
  readonly streams: SnapshotStreams;
  readonly log: Logger;
  readonly limits: EventLimits;
  readonly errorEvents: ErrorEventOptions | undefined;
  readonly maxAnswerBytes: number;
}

async function start(data: ThreadData): Promise<ThreadState> {
  const { conf, configDir } = data;
  // Lines go where the worker's go, with its fields.
  const { fields, level, stream } = data.log;
  const name = typeof fields.name === 'string' ? fields.name : 'eventgate';
  const log = bunyan.createLogger({ ...fields, name, level, serializers: bunyan.stdSerializers, stream: process[stream], pool_thread: true });
  if (!niceThisThread(conf.batch.thread_pool.nice)) log.debug('pool thread keeps its scheduling priority (no per-thread nice here)');
  const metrics = new ThreadMetrics();
  const streams = new SnapshotStreams();
  const built = buildValidator(conf, configDir, {
    log,
    metrics,
    streams: conf.stream_config_uri ? streams : undefined,
    locateSchema: data.schemaRelay !== undefined ? relayedLocate(data.schemaRelay) : undefined,
  });
  try {
    await built.schemas.precache(conf.schema_precache_uris);
  } catch (err) {
    // The worker precached them already; here a failure only means the first batch loads them.
    log.warn({ err }, 'pool thread could not precache schemas');
  }
  // Precache metrics are the worker's business, not the first batch's.
  metrics.take();
  return { built, metrics, streams, log, limits: eventLimitsOf(conf), errorEvents: errorEventOptionsOf(conf), maxAnswerBytes: conf.max_answer_bytes };
}

const state = start(workerData as ThreadData);
// A failed start is reported by the first task that awaits it.
state.catch(() => undefined);

function reply(value: BatchReply, transfer: ArrayBuffer[] = []) {
  return move({
    get [transferableSymbol]() {
      return transfer;
    },
    get [valueSymbol]() {
      return value;
    },
  });
}

/**
 * Error events are a side channel: a fault validating them (a schema
 * repository that throws) must not fail the batch they report on. It fails
 * them all instead, and the main thread counts and logs them as failed.
 */
async function validateErrorEvents(built: BuiltValidator, made: Record<string, unknown>[], log: Logger): Promise<Validated> {
  try {
    return await built.validator.validate(made);
  } catch (err) {
    log.error({ err }, 'pool thread could not validate error events');
    const fault: FailedResult = { status: 'error', code: codeOf(err), context: { message: messageOf(err) } };
    return { results: made.map(() => fault), outbound: [], outboundIndex: [], streams: [], uris: [] };
  }
}

export default async function runBatch(task: BatchTask): Promise<unknown> {
  const { built, metrics, streams, log, limits, errorEvents: errorEventOptions, maxAnswerBytes } = await state;
  const started = performance.now();
  let parsed: ParsedEvents;
  try {
    parsed = parseEvents(Buffer.from(task.body), limits);
  } catch (err) {
    return reply({ kind: 'refused', code: codeOf(err), message: messageOf(err), metrics: metrics.take() });
  }
  try {
    if (task.streams) streams.use(task.streams);
    const { events, tooDeep } = parsed;
    const request: RequestInfo = { headers: task.headers, query: new URLSearchParams(task.query), tooDeep };
    const validated = await built.validator.validate(events, request);
    let errorEvents: PackedErrorEvents | undefined;
    if (errorEventOptions) {
      const made = errorEventsOf(events, validated, errorEventOptions);
      // The same validation the main thread gives error events (Gate.reportInvalid).
      if (made.length > 0) errorEvents = { made: made.length, validated: await validateErrorEvents(built, made, log) };
    }
    const packed = packReply(events, validated, maxAnswerBytes, errorEvents, metrics.take(), performance.now() - started);
    return reply(packed, transferOf(packed));
  } catch (err) {
    log.error({ err }, 'pool thread could not validate a batch');
    return reply({ kind: 'failed', code: codeOf(err), message: messageOf(err), metrics: metrics.take() });
  }
}
