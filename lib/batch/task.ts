/**
 * What crosses the thread boundary, both ways. Plain data only: structured
 * clone keeps no classes, so errors travel as `{code, message}` and are
 * matched on `code`.
 */
import type { LogStream, ServiceConf } from '../config/schema';
import type { PackedAnswer } from '../answer/packed';
import type { SchemaCounts } from '../gate/schema-counts';
import type { FailedResult } from '../gate/result';
import type { StreamCounts } from '../gate/stream-counts';
import type { Tags } from '../metrics/metrics';
import type { RequestHeaders } from '../event/enrich';

/** Given to every thread once, at its start (piscina `workerData`). */
export interface ThreadData {
  readonly conf: ServiceConf;
  /** Relative schema base paths resolve here, as in the HTTP worker. */
  readonly configDir: string;
  readonly log: { readonly level: number; readonly fields: Readonly<Record<string, unknown>>; readonly stream: LogStream };
  /** The BroadcastChannel through which the thread finds schemas (schema-relay.ts); absent: it fetches them itself. */
  readonly schemaRelay?: string;
}

/**
 * The stream config in use, v8-serialized into shared memory: written once
 * per config version (the clone of a task then copies nothing), read by a
 * thread only when the version it has is another.
 */
export interface StreamSnapshot {
  readonly version: number;
  readonly serviceName: string;
  readonly bytes: Uint8Array;
}

export interface BatchTask {
  /** The raw request body (after inflating), transferred. */
  readonly body: ArrayBuffer;
  readonly headers: RequestHeaders;
  /** The query string, for query enrichment (URLSearchParams does not clone). */
  readonly query: string;
  /** Absent when the service has no stream config. */
  readonly streams?: StreamSnapshot;
}

/** A metric the thread recorded, summed per name and tags, replayed on the main thread. */
export type MetricSample = readonly [kind: 'increment' | 'timing' | 'gauge', name: string, value: number, tags: Tags | undefined];

/**
 * Strings that repeat across a batch (stream names, topics), each sent once:
 * ids[i] is 0 for none, else 1 + its index in `table`. Thousands of copies
 * of a few names would cost the clone, and the main thread's GC, for nothing.
 */
export interface Interned {
  readonly table: string[];
  readonly ids: Uint32Array;
}

/**
 * The serialized valid events in one transferred buffer: each value
 * (valueLength[i] bytes) followed by a newline, then all keys back to back
 * (keyLength[i] bytes; -1: no key). `index` is each one's place in the
 * batch.
 */
export interface PackedOutbound {
  readonly bytes: ArrayBuffer;
  readonly valueLength: Uint32Array;
  readonly keyLength: Int32Array;
  readonly index: Uint32Array;
  readonly streams: Interned;
  readonly topics: Interned;
  /** NaN: no timestamp. */
  readonly timestamps: Float64Array;
}

export type BatchReply =
  /** The body cannot be read as events: the same request-level error inline parsing gives. */
  | { readonly kind: 'refused'; readonly code: string; readonly message: string; readonly metrics: MetricSample[] }
  /** Validation threw (a fault, not a verdict): answered as an inline validation fault is. */
  | { readonly kind: 'failed'; readonly code: string; readonly message: string; readonly metrics: MetricSample[] }
  /** The batch prepared (lib/pipeline/prepare.ts), packed for the crossing. */
  | PackedBatch;

/**
 * A PreparedBatch packed (pack.ts): everything per event done, nothing per
 * event left to unpack but the outbound events themselves.
 */
export interface PackedBatch {
  readonly kind: 'validated';
  readonly count: number;
  readonly holdsNonEvent: boolean;
  readonly outbound: PackedOutbound;
  readonly answer: PackedAnswer;
  readonly counts: (readonly [string, StreamCounts])[];
  readonly schemaCounts: SchemaCounts;
  /** Absent without error_stream, or when no event was invalid. */
  readonly errorEvents?: { readonly made: number; readonly outbound: PackedOutbound; readonly firstInvalid?: FailedResult };
  readonly metrics: MetricSample[];
  /** Time the thread spent on the batch. */
  readonly threadMs: number;
}
