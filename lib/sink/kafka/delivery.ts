/**
 * The bookkeeping of one produce() call: an outcome slot per event, filled
 * by delivery reports or produce errors, closed early by a deadline.
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

export class Delivery {
  readonly started = Date.now();
  readonly outcomes: (ProduceOutcome | undefined)[];
  private left: number;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private readonly onDone: (delivery: Delivery) => void;

  constructor(size: number, onDone: (delivery: Delivery) => void) {
    this.outcomes = new Array<ProduceOutcome | undefined>(size);
    this.left = size;
    this.onDone = onDone;
  }

  get done(): boolean {
    return this.finished;
  }

  /** Records event `index`'s outcome, unless it already has one or the call is done. */
  settle(index: number, outcome: ProduceOutcome): void {
    if (this.finished || this.outcomes[index] !== undefined) return;
    this.outcomes[index] = outcome;
    this.left -= 1;
    if (this.left === 0) this.finish();
  }

  /** Gives every event still waiting `outcome`, which ends the call. */
  fill(outcome: Failure): void {
    if (this.finished) return;
    for (let i = 0; i < this.outcomes.length; i++) {
      if (this.outcomes[i] === undefined) this.outcomes[i] = outcome;
    }
    this.left = 0;
    this.finish();
  }

  /** After `ms`, the events still waiting get `outcome()`. */
  deadline(ms: number, outcome: () => Failure): void {
    if (this.finished) return;
    this.timer = setTimeout(() => this.fill(outcome()), ms);
  }

  private finish(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.onDone(this);
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
export function deliveryFailure(err: { message: string }): Failure {
  return failure('EG_ERR_KAFKA_DELIVERY', err.message);
}
