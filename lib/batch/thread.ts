/**
 * Entry of a pool thread (piscina loads this file). It builds the same
 * validator as the HTTP worker (buildValidator, with its own schema cache),
 * and per task: parses the raw body, validates, enriches, serializes, and
 * replies with per-event results and the serialized valid events in one
 * transferred buffer. Producing stays on the main thread.
 */
import bunyan from 'bunyan';
import { deserialize } from 'node:v8';
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { codeOf, messageOf } from '../errors';
import { buildValidator, type BuiltValidator } from '../gate/build';
import type { RequestInfo, StreamLookup } from '../gate/validate';
import { eventLimitsOf, type EventLimits } from '../event/scan';
import { parseEvents, type ParsedEvents } from '../event/parse';
import type { Logger } from '../log';
import { StreamTable, type StreamSettings } from '../stream';
import { ThreadMetrics } from './metrics';
import { packReply } from './pack';
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
}

async function start(data: ThreadData): Promise<ThreadState> {
  const { conf, configDir } = data;
  // Lines go where the worker's go, with its fields.
  const { fields, level, stream } = data.log;
  const name = typeof fields.name === 'string' ? fields.name : 'eventgate';
  const log = bunyan.createLogger({ ...fields, name, level, serializers: bunyan.stdSerializers, stream: process[stream], pool_thread: true });
  const metrics = new ThreadMetrics();
  const streams = new SnapshotStreams();
  const built = buildValidator(conf, configDir, { log, metrics, streams: conf.stream_config_uri ? streams : undefined });
  try {
    await built.schemas.precache(conf.schema_precache_uris);
  } catch (err) {
    // The worker precached them already; here a failure only means the first batch loads them.
    log.warn({ err }, 'pool thread could not precache schemas');
  }
  // Precache metrics are the worker's business, not the first batch's.
  metrics.take();
  return { built, metrics, streams, log, limits: eventLimitsOf(conf) };
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

export default async function runBatch(task: BatchTask): Promise<unknown> {
  const { built, metrics, streams, log, limits } = await state;
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
    const packed = packReply(events, validated, metrics.take(), performance.now() - started);
    return reply(packed, [packed.outbound.bytes]);
  } catch (err) {
    log.error({ err }, 'pool thread could not validate a batch');
    return reply({ kind: 'failed', code: codeOf(err), message: messageOf(err), metrics: metrics.take() });
  }
}
