/**
 * The messages master and workers exchange over the cluster IPC channel.
 * Both directions are closed unions discriminated by `type`; a receiver
 * checks a message with the guard below before switching on it, so anything
 * else on the channel (cluster's own messages, a worker of another version)
 * is ignored rather than half-read.
 */
import type { Config } from '../config/schema';
import type { Snapshot } from '../metrics/prometheus';

/** Master -> worker: the validated config to serve, sent in answer to `ready`. */
export interface StartMessage {
  readonly type: 'start';
  readonly workerId: number;
  /**
   * The worker's place, 0..workers-1, kept by its replacement: the bounded
   * `worker` label of its metrics (the id grows with every fork).
   */
  readonly slot: number;
  readonly config: Config;
  /** Where the config came from; relative paths in it resolve against `dir`. */
  readonly path?: string;
  readonly dir: string;
  readonly heartbeatIntervalMs: number;
  /** Workers the master runs (num_workers or -n): the service sizes its thread pool by it. */
  readonly workers: number;
  /** No other worker listens: take connections before the producers are ready (ServiceDeps.listenBeforeReady). */
  readonly listenBeforeReady?: boolean;
}

/** Master -> worker: stop accepting, finish in-flight requests, close the service, exit 0. */
export interface DrainMessage {
  readonly type: 'drain';
}

/** Master -> worker: send your Prometheus samples (a scrape of the master is under way). */
export interface CollectMetricsMessage {
  readonly type: 'collect_metrics';
  readonly id: number;
}

/**
 * Master -> worker: the answer to `memory_ask` `id` (lib/memory/ledger.ts):
 * granted, busy (no room now: 503), or never (more than the whole pool: 413).
 */
export interface MemoryAnswerMessage {
  readonly type: 'memory_answer';
  readonly id: number;
  readonly answer: 'granted' | 'busy' | 'never';
}

export type MasterMessage = StartMessage | DrainMessage | CollectMetricsMessage | MemoryAnswerMessage;

/** Worker -> master: the entry module is loaded and waits for `start`. */
export interface ReadyMessage {
  readonly type: 'ready';
}

/** Worker -> master: the service accepts connections. */
export interface ListeningMessage {
  readonly type: 'listening';
  readonly port: number;
}

/** Worker -> master, every heartbeatIntervalMs: the event loop turns; heap for the heap watch. */
export interface HeartbeatMessage {
  readonly type: 'heartbeat';
  readonly heapUsedBytes: number;
  readonly rssBytes: number;
}

/** Worker -> master, just before exiting: the service could not start, and why. */
export interface StartupFailedMessage {
  readonly type: 'startup_failed';
  /** A catalogue code (lib/errors.ts), kept a string on the wire: a worker rolled onto newer code may know codes its master does not. */
  readonly code: string;
  readonly message: string;
}

/** Worker -> master: it drains on its own (it got SIGTERM), so the master should not count a crash. */
export interface DrainingMessage {
  readonly type: 'draining';
  readonly reason: string;
}

/**
 * Worker -> master: its Prometheus samples, in answer to `collect_metrics`
 * (`id`), or unasked (no `id`) every few seconds and just before a planned
 * exit, so that what it counted since the last scrape is not lost when it
 * exits. Empty without a prometheus target.
 */
export interface MetricsMessage {
  readonly type: 'metrics';
  readonly id?: number;
  readonly metrics: Snapshot;
}

/** Worker -> master: a grant of `bytes` of the shared body memory, under the worker's own `id`, before a large body is read. */
export interface MemoryAskMessage {
  readonly type: 'memory_ask';
  readonly id: number;
  readonly bytes: number;
}

/** Worker -> master: the body of grant `id` is gone (its answer closed, or the grant came too late to be used). */
export interface MemoryDoneMessage {
  readonly type: 'memory_done';
  readonly id: number;
}

export type WorkerMessage =
  | ReadyMessage
  | ListeningMessage
  | HeartbeatMessage
  | StartupFailedMessage
  | DrainingMessage
  | MetricsMessage
  | MemoryAskMessage
  | MemoryDoneMessage;

const MASTER_TYPES: ReadonlySet<string> = new Set<MasterMessage['type']>(['start', 'drain', 'collect_metrics', 'memory_answer']);
const WORKER_TYPES: ReadonlySet<string> = new Set<WorkerMessage['type']>(['ready', 'listening', 'heartbeat', 'startup_failed', 'draining', 'metrics', 'memory_ask', 'memory_done']);

function typeOf(msg: unknown): string | undefined {
  if (typeof msg !== 'object' || msg === null) return undefined;
  const type = (msg as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

export function isMasterMessage(msg: unknown): msg is MasterMessage {
  const type = typeOf(msg);
  return type !== undefined && MASTER_TYPES.has(type);
}

export function isWorkerMessage(msg: unknown): msg is WorkerMessage {
  const type = typeOf(msg);
  return type !== undefined && WORKER_TYPES.has(type);
}
