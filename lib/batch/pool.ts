/**
 * The piscina pool of one HTTP worker, the second executor of the prepare
 * step (lib/pipeline/prepare.ts): large batches are prepared in a thread;
 * the main thread only reads the body, hands it over (transferred), and
 * produces what comes back. Here: scheduling, the crossing, and the pool's
 * own faults.
 */
import { resolve } from 'node:path';
import { Piscina } from 'piscina';
import type { LogStream, ServiceConf } from '../config/schema';
import { EventGateError, isErrorCode, messageOf, type ErrorCode } from '../errors';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { SchemaRepository } from '../schema';
import type { RequestHeaders } from '../event/enrich';
import type { StreamRegistry } from '../stream';
import { ValidationFault, type PreparedBatch } from '../pipeline/prepare';
import { replay } from './metrics';
import { unpackBatch } from './pack';
import { serveSchemaRelay, type SchemaRelay } from './schema-relay';
import { eventMarker, holdsAtLeast } from './route';
import { defaultThreads } from './size';
import { StreamSnapshots } from './streams';
import type { BatchReply, BatchTask, ThreadData } from './task';
import type { LogEvent } from '../log-events';

export interface BatchPoolOptions {
  readonly conf: ServiceConf;
  readonly configDir: string;
  /** HTTP worker processes sharing this machine's cores (for the default thread count). */
  readonly workers: number;
  readonly log: Logger;
  /** Where the threads write their log lines: the stream of `log`. */
  readonly logStream: LogStream;
  readonly metrics: Metrics;
  readonly streams?: StreamRegistry;
  /** The worker's schema repository: threads find schemas through it (schema-relay.ts). */
  readonly schemas?: Pick<SchemaRepository, 'locateDocument'>;
  /**
   * What the worker's memory budget allows (lib/memory/budget.ts): fewer
   * threads, and smaller V8 limits per thread, than configured; absent: as configured.
   */
  readonly memory?: { readonly threads: number; readonly youngGenerationMb?: number; readonly heapLimitMb?: number; readonly retireIdleThreads?: boolean };
}

/** The request a batch came in, as the pool needs it. */
export interface PoolRequest {
  readonly headers: RequestHeaders;
  readonly query: URLSearchParams;
}

/** Codes of failures of the pool itself (not of the request's body): answered as such. */
export const POOL_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['EG_ERR_POOL_FULL', 'EG_ERR_POOL_TASK', 'EG_ERR_POOL_TIMEOUT']);

/**
 * The body's bytes as an ArrayBuffer the thread can own. A body Buffer that
 * is its whole ArrayBuffer (one allocation of its own: Buffer.concat of a
 * multi-chunk body, or one chunk the HTTP parser copied out) is transferred
 * as is. A slice of a larger ArrayBuffer (Node's shared pool slab for small
 * buffers, a zlib output buffer) must not be: transferring would detach
 * memory that other Buffers use, so only then the body is copied.
 */
export function transferableBody(body: Buffer): ArrayBuffer {
  const ab = body.buffer;
  if (ab instanceof ArrayBuffer && body.byteOffset === 0 && body.byteLength === ab.byteLength) return ab;
  const copy = new ArrayBuffer(body.length);
  new Uint8Array(copy).set(body);
  return copy;
}

const THREAD_FILE = resolve(__dirname, 'thread.js');

/** One batch handed to the pool. */
interface Job {
  readonly done: Promise<BatchReply>;
  /** On a thread (it left the queue). */
  started: boolean;
  /** task_timeout_ms passed, waiting for a thread or on one. */
  expired: boolean;
  /** Hands it to piscina. */
  readonly run: () => void;
}

export class BatchPool {
  /** Threads at most. */
  readonly threads: number;
  private readonly piscina: Piscina<BatchTask, BatchReply>;
  private readonly marker: Buffer;
  private readonly minBytes: number;
  private readonly minEvents: number;
  private readonly maxQueue: number;
  private readonly taskTimeoutMs: number;
  private readonly snapshots: StreamSnapshots | undefined;
  private readonly relay: SchemaRelay | undefined;
  /** Batches on a thread now, and batches waiting for one (first come, first served). */
  private running = 0;
  private readonly waiting: Job[] = [];
  private closing: Promise<void> | undefined;

  /** Undefined when the config turns the pool off. */
  static create(opts: BatchPoolOptions): BatchPool | undefined {
    return opts.conf.batch.thread_pool.enabled ? new BatchPool(opts) : undefined;
  }

  private constructor(private readonly opts: BatchPoolOptions) {
    const { conf, log, metrics } = opts;
    const tp = conf.batch.thread_pool;
    this.threads = Math.min(tp.max_threads > 0 ? tp.max_threads : defaultThreads(opts.workers), opts.memory?.threads ?? Infinity);
    const heapLimitMb = opts.memory?.heapLimitMb ?? tp.heap_limit_mb;
    const youngGenerationMb = opts.memory?.youngGenerationMb ?? tp.young_generation_mb;
    this.marker = eventMarker(conf.schema_uri_field);
    this.minBytes = tp.min_bytes;
    this.minEvents = tp.min_events;
    this.maxQueue = tp.max_queue;
    this.taskTimeoutMs = tp.task_timeout_ms;
    this.snapshots = opts.streams ? new StreamSnapshots(opts.streams, conf.service_name) : undefined;
    const { schemas } = opts;
    this.relay = schemas ? serveSchemaRelay((uri) => schemas.locateDocument(uri), log) : undefined;
    const data: ThreadData = {
      conf,
      configDir: opts.configDir,
      log: { level: log.level(), fields: { ...(log.fields as Record<string, unknown>) }, stream: opts.logStream },
      schemaRelay: this.relay?.name,
    };
    // Where the workers share too little memory to let each thread keep its last batch's heap (lib/memory/budget.ts).
    const retire = opts.memory?.retireIdleThreads === true;
    this.piscina = new Piscina<BatchTask, BatchReply>({
      filename: THREAD_FILE,
      minThreads: retire ? 0 : Math.min(tp.min_threads, this.threads),
      maxThreads: this.threads,
      idleTimeout: retire ? 0 : tp.idle_timeout_ms,
      // Batches wait in our own queue (see schedule()), never in piscina's.
      maxQueue: Infinity,
      // Nothing runs past task_timeout_ms; close() waits for what runs.
      closeTimeout: tp.task_timeout_ms,
      resourceLimits: {
        ...(heapLimitMb > 0 ? { maxOldGenerationSizeMb: heapLimitMb } : {}),
        ...(youngGenerationMb > 0 ? { maxYoungGenerationSizeMb: youngGenerationMb } : {}),
      },
      workerData: data,
    });
    // piscina emits workerDestroy while it still lists the thread. A closing
    // pool stays quiet: after a reload, the gauge is the new pool's.
    this.piscina.on('workerCreate', () => {
      if (!this.closing) metrics.gauge('batch.pool.threads', this.piscina.threads.length);
    });
    this.piscina.on('workerDestroy', () => {
      if (!this.closing) metrics.gauge('batch.pool.threads', this.piscina.threads.length - 1);
    });
    // A thread that fails with no task of ours on it (piscina emits it here, or it would throw).
    this.piscina.on('error', (err: unknown) => log.error({ err }, 'pool thread failed'));
    log.info({ threads: this.threads, heap_limit_mb: heapLimitMb, young_generation_mb: youngGenerationMb, min_bytes: this.minBytes, min_events: this.minEvents, max_queue: this.maxQueue }, 'thread pool started');
  }

  /** Whether a body goes to the pool: big enough in bytes, or in events counted without parsing. */
  wants(body: Buffer): boolean {
    if (this.closing) return false;
    return body.length >= this.minBytes || holdsAtLeast(body, this.marker, this.minEvents);
  }

  /**
   * Prepares a body in a thread. Rejects with an EventGateError: the
   * request-level code inline parsing gives (empty, malformed, not events),
   * or EG_ERR_POOL_FULL / _TASK / _TIMEOUT; with a ValidationFault when
   * validation threw in the thread, as inline.
   */
  async prepare(body: Buffer, request: PoolRequest): Promise<PreparedBatch> {
    const { metrics, log } = this.opts;
    if (this.running + this.waiting.length >= this.threads + this.maxQueue) {
      metrics.increment('batch.pool.rejected');
      throw new EventGateError('EG_ERR_POOL_FULL');
    }
    const task: BatchTask = {
      body: transferableBody(body),
      headers: request.headers,
      query: request.query.toString(),
      streams: this.snapshots?.current(),
    };
    const started = performance.now();
    const job = this.schedule(task);
    let reply: BatchReply;
    try {
      reply = await job.done;
    } catch (err) {
      if (job.expired && !job.started) {
        metrics.increment('batch.pool.rejected');
        throw new EventGateError(
          'EG_ERR_POOL_FULL',
          `The thread pool is busy: no thread was free for this batch within batch.thread_pool.task_timeout_ms (${this.taskTimeoutMs} ms); retry later.`,
        );
      }
      if (job.expired) {
        metrics.increment('batch.pool.tasks', 1, { outcome: 'timeout' });
        log.error({ timeout_ms: this.taskTimeoutMs, bytes: body.length, event: 'pool.task_timed_out' satisfies LogEvent }, 'pool batch timed out; its thread is terminated');
        throw new EventGateError(
          'EG_ERR_POOL_TIMEOUT',
          `The thread processing this batch did not finish within batch.thread_pool.task_timeout_ms (${this.taskTimeoutMs} ms); it was terminated and replaced, and the batch was not accepted.`,
        );
      }
      metrics.increment('batch.pool.tasks', 1, { outcome: 'crashed' });
      log.error({ err, bytes: body.length, event: 'pool.task_failed' satisfies LogEvent }, 'pool thread failed on a batch; it is replaced');
      throw new EventGateError('EG_ERR_POOL_TASK', `The thread processing this batch failed (${messageOf(err)}); the batch was not accepted.`, {
        cause: err,
      });
    } finally {
      metrics.timing('batch.pool.task_duration', performance.now() - started);
    }
    replay(reply.metrics, metrics);
    metrics.increment('batch.pool.tasks', 1, { outcome: reply.kind });
    if (reply.kind === 'refused') {
      throw new EventGateError(isErrorCode(reply.code) ? reply.code : 'EG_ERR_INTERNAL', reply.message);
    }
    if (reply.kind === 'failed') {
      // Validation threw in the thread (it logged the error): the same fault inline validation gives.
      throw new ValidationFault(reply.message, isErrorCode(reply.code) ? reply.code : 'EG_ERR_INTERNAL');
    }
    metrics.timing('batch.pool.thread_time', reply.threadMs);
    return unpackBatch(reply);
  }

  /**
   * Queues a task, first come first served, and hands it to piscina once a
   * thread is free. task_timeout_ms bounds the wait for a thread (then 503),
   * and again the time on one (then the thread is terminated: a hang). The queue is ours, not piscina's: piscina keeps tasks
   * that carry an abort signal (the timeout, which must end a running task)
   * out of its FIFO queue, in an order where under steady load one batch can
   * be passed over again and again.
   */
  private schedule(task: BatchTask): Job {
    let settle!: { resolve: (r: BatchReply) => void; reject: (e: unknown) => void };
    const done = new Promise<BatchReply>((resolve, reject) => (settle = { resolve, reject }));
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const job: Job = {
      done,
      started: false,
      expired: false,
      run: () => {
        clearTimeout(timer);
        job.started = true;
        this.running++;
        // On a thread, the clock starts again: a hang is what it bounds now.
        timer = setTimeout(() => {
          job.expired = true;
          // piscina terminates the thread running it, rejects, and starts another.
          abort.abort();
        }, this.taskTimeoutMs);
        this.piscina
          .run(task, { transferList: [task.body], signal: abort.signal })
          .then(settle.resolve, settle.reject)
          .finally(() => {
            clearTimeout(timer);
            this.running--;
            this.pump();
          });
      },
    };
    timer = setTimeout(() => {
      job.expired = true;
      this.waiting.splice(this.waiting.indexOf(job), 1);
      this.gaugeQueue();
      // Turned into EG_ERR_POOL_FULL with the whole story where the job is awaited.
      settle.reject(new EventGateError('EG_ERR_POOL_FULL'));
    }, this.taskTimeoutMs);
    this.waiting.push(job);
    this.pump();
    return job;
  }

  private pump(): void {
    while (this.running < this.threads) {
      const job = this.waiting.shift();
      if (!job) break;
      job.run();
    }
    this.gaugeQueue();
  }

  private gaugeQueue(): void {
    if (!this.closing) this.opts.metrics.gauge('batch.pool.queue', this.waiting.length);
  }

  /** Threads running now. */
  get liveThreads(): number {
    return this.piscina.threads.length;
  }

  /** Lets running batches finish, then ends the threads. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.piscina
      .close()
      .catch((err: unknown) => this.opts.log.warn({ err }, 'thread pool did not close cleanly'))
      // After the threads: a batch still running may be waiting for a schema.
      .finally(() => this.relay?.close());
    return this.closing;
  }
}
