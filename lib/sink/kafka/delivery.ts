/**
 * The bookkeeping of one produce() call. It has two moments:
 *
 * - the answer: once every event has its fate, or at the call's deadline
 *   (kafka.produce_timeout_ms), whichever is first; events without a fate
 *   then are answered with the deadline's failure;
 * - the end: once every event has its fate, from librdkafka's delivery
 *   report (which every message gets within message.timeout.ms), a produce
 *   error, a refusal or the producer's close.
 *
 * An event eventgate stopped waiting for may still reach Kafka: only a fate
 * says whether it goes to the spool (settle.ts), so that no event is both in
 * the topic and in the spool.
 */
import * as Kafka from 'node-rdkafka';
import type { ErrorCode } from '../../errors';
import type { ProduceOutcome } from '../sink';

export type Failure = Extract<ProduceOutcome, { ok: false }>;

/** The opaque passed along with each message, given back in its delivery report. */
export interface Pending {
  readonly delivery: Delivery;
  readonly index: number;
}

export interface DeliveryHooks {
  /**
   * Once: the outcomes the client is answered with; `fated[i]` false: event
   * i had no fate yet. `fated` is undefined when every event has one (the
   * common case, answered without a copy).
   */
  readonly answer: (delivery: Delivery, outcomes: readonly ProduceOutcome[], fated: readonly boolean[] | undefined) => void;
  /** Event `index` got its fate after the answer. */
  readonly late: (delivery: Delivery, index: number, outcome: ProduceOutcome) => void;
  /** Once: every event has its fate. */
  readonly end: (delivery: Delivery) => void;
}

export class Delivery {
  readonly started = Date.now();
  /** Each event's fate, once known. */
  private readonly fates: (ProduceOutcome | undefined)[];
  private left: number;
  private timer: NodeJS.Timeout | undefined;
  private answeredAt = false;
  private ended = false;

  constructor(
    size: number,
    private readonly hooks: DeliveryHooks,
  ) {
    // Filled, not sparse: map() skips the holes of a sparse array.
    this.fates = new Array<ProduceOutcome | undefined>(size).fill(undefined);
    this.left = size;
  }

  /** Whether the client has its answer. */
  get answered(): boolean {
    return this.answeredAt;
  }

  /** Whether every event has its fate. */
  get done(): boolean {
    return this.ended;
  }

  /** Records event `index`'s fate, unless it already has one. */
  settle(index: number, outcome: ProduceOutcome): void {
    if (this.ended || this.fates[index] !== undefined) return;
    this.fates[index] = outcome;
    this.left -= 1;
    if (this.answeredAt) this.hooks.late(this, index, outcome);
    if (this.left === 0) this.end();
  }

  /** Gives every event still without a fate `outcome` (a refusal, or the producer's close). */
  fill(outcome: Failure): void {
    for (let i = 0; i < this.fates.length && !this.ended; i++) this.settle(i, outcome);
  }

  /** After `ms`, answers the client, the events still without a fate with `outcome()`. */
  deadline(ms: number, outcome: () => Failure): void {
    if (this.answeredAt) return;
    this.timer = setTimeout(() => this.answer(outcome()), ms);
  }

  private answer(missing: Failure | undefined): void {
    if (this.answeredAt) return;
    this.answeredAt = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.left === 0) {
      this.hooks.answer(this, this.fates as ProduceOutcome[], undefined);
      return;
    }
    const fated = this.fates.map((f) => f !== undefined);
    const outcomes = this.fates.map((f) => f ?? (missing as Failure));
    this.hooks.answer(this, outcomes, fated);
  }

  private end(): void {
    this.ended = true;
    this.answer(undefined);
    this.hooks.end(this);
  }
}

export function failure(code: ErrorCode, message: string): Failure {
  return { ok: false, code, message };
}

/** The outcome of an event whose produce() call threw (it never reached librdkafka's queue). */
export function produceFailure(err: unknown): Failure {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e?.code === Kafka.CODES.ERRORS.ERR__QUEUE_FULL) return failure('EG_ERR_KAFKA_QUEUE_FULL', message);
  // node-rdkafka throws a plain Error with no code once its client is disconnected.
  if (typeof e?.code !== 'number') return failure('EG_ERR_KAFKA_UNAVAILABLE', message);
  return failure('EG_ERR_KAFKA_DELIVERY', message);
}

/** The outcome of an event whose delivery report carries an error. */
export function deliveryFailure(err: { message: string; code?: number }): Failure {
  // librdkafka purges a producer's queue itself after a fatal error (lifecycle.ts replaces the client): a retry can succeed.
  if (err.code === Kafka.CODES.ERRORS.ERR__PURGE_QUEUE || err.code === Kafka.CODES.ERRORS.ERR__PURGE_INFLIGHT) return failure('EG_ERR_KAFKA_FATAL', err.message);
  return failure('EG_ERR_KAFKA_DELIVERY', err.message);
}
