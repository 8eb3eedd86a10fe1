/**
 * Entry of a pool thread (piscina loads this file). It builds the same
 * validator as the HTTP worker (buildValidator, with its own schema cache),
 * and per task runs the same prepare step the worker runs inline
 * (lib/pipeline/prepare.ts), and replies with its result packed (pack.ts).
 * Producing stays on the main thread, which then has a constant left to do
 * per batch besides it.
 */
import bunyan from 'bunyan';
import { deserialize } from 'node:v8';
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { codeOf, messageOf } from '../errors';
import { buildValidator } from '../gate/build';
import { errorEventOptionsOf } from '../gate/error-events';
import type { StreamLookup } from '../gate/validate';
import { eventLimitsOf } from '../event/scan';
import { prepareBody, refusesBody, type PrepareDeps } from '../pipeline/prepare';
import { StreamTable, type StreamSettings } from '../stream';
import { ThreadMetrics } from './metrics';
import { niceThisThread } from './nice';
import { packBatch, transferOf } from './pack';
import { relayedLocate } from './schema-relay';
import type { BatchReply, BatchTask, StreamSnapshot, ThreadData } from './task';
import type { LogEvent } from '../log-events';

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
  readonly metrics: ThreadMetrics;
  readonly streams: SnapshotStreams;
  readonly deps: PrepareDeps;
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
  const deps: PrepareDeps = { validator: built.validator, log, limits: eventLimitsOf(conf), errorEvents: errorEventOptionsOf(conf), maxAnswerBytes: conf.max_answer_bytes };
  return { metrics, streams, deps };
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
  const { metrics, streams, deps } = await state;
  const started = performance.now();
  const failed = (err: unknown) => {
    deps.log.error({ err, event: 'pool.validation_failed' satisfies LogEvent }, 'pool thread could not validate a batch');
    return reply({ kind: 'failed', code: codeOf(err), message: messageOf(err), metrics: metrics.take() });
  };
  try {
    if (task.streams) streams.use(task.streams);
  } catch (err) {
    // Not the body's fault, whatever the error: the stream config the worker validated would not load here.
    return failed(err);
  }
  try {
    const prepared = await prepareBody(Buffer.from(task.body), { headers: task.headers, query: new URLSearchParams(task.query) }, deps);
    const packed = packBatch(prepared, metrics.take(), performance.now() - started);
    return reply(packed, transferOf(packed));
  } catch (err) {
    if (refusesBody(err)) return reply({ kind: 'refused', code: err.code, message: err.message, metrics: metrics.take() });
    return failed(err);
  }
}
