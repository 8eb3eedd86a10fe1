import type { ErrorCode } from '../errors';

/** One validated, serialized event on its way out. */
export interface OutboundEvent {
  readonly stream: string;
  /** Kafka topic: topic_prefix + stream. */
  readonly topic: string;
  /**
   * Serialized event (JSON), schema defaults and enrichment applied: text from
   * in-thread validation (a sink encodes it once, where it writes), UTF-8
   * bytes from a pool thread (views into the buffer it transferred).
   */
  readonly value: string | Buffer;
  /** Kafka message key, when stream config gives one. */
  readonly key?: Buffer | null;
  /** Milliseconds since the epoch, from meta.dt when the event has one. */
  readonly timestamp?: number;
}

export interface ProduceContext {
  readonly requestId: string;
  /** Room the sink gave the request before its answer (Sink.admit): its call takes it. */
  readonly admission?: Admission;
}

/** Room a sink keeps for a call to come; released when the call is done or does not come. */
export interface Admission {
  release(): void;
}

export type ProduceOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

export const PRODUCED: ProduceOutcome = Object.freeze({ ok: true });

/** An event value as UTF-8 bytes. */
export function bytesOf(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value;
}

/**
 * Where valid events go. `produce` never rejects: each event gets its own
 * outcome, in input order, so a partial failure is reported event by event.
 * An outcome of ok means the sink owns the event (Kafka acknowledged it, or
 * the file write completed); anything else must not be reported accepted.
 */
export interface Sink {
  readonly kind: string;
  produce(events: readonly OutboundEvent[], ctx: ProduceContext): Promise<ProduceOutcome[]>;
  /**
   * Room for a call of `events` events to come (a hasty request's, before
   * its 202): an Admission now, or a promise of one once the sink has room,
   * or of undefined when it has none within `waitMs` (the request is then
   * answered as without hasty). Absent: the sink is never full.
   */
  admit?(events: number, waitMs: number): Admission | Promise<Admission | undefined>;
  /** Undefined when ready, otherwise why not (for /readyz). */
  notReadyReason(): string | undefined;
  /** Graceful, idempotent, bounded: flushes what it holds. */
  close(): Promise<void>;
}
