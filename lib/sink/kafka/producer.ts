/**
 * The Kafka Sink: what the rest of the service sees of one producer. Each
 * produce() call waits for the delivery report of every event (so an ok
 * outcome means Kafka acknowledged it), bounded by kafka.produce_timeout_ms;
 * what Kafka did not take goes to the failed-events spool, once librdkafka
 * says so (delivery.ts). While librdkafka knows every broker to be down,
 * calls are refused at once. Its parts: lifecycle.ts (the client: connect,
 * rebuild after a fatal error, close; with state.ts), health.ts (brokers
 * down or up), calls.ts (calls awaiting their reports), bound.ts (what they
 * may hold), options.ts. guaranteed.ts and hasty.ts differ only in settings.
 */
import * as Kafka from 'node-rdkafka';
import { EventGateError, messageOf } from '../../errors';
import type { Tags } from '../../metrics/metrics';
import { bytesOf, type Admission, type OutboundEvent, type ProduceContext, type ProduceOutcome, type Sink } from '../sink';
import type { ProducerName } from './config';
import { failure, produceFailure, type Pending } from './delivery';
import { Settler } from './settle';
import { ClientLifecycle } from './lifecycle';
import { bytesHeld, Calls } from './calls';
import type { KafkaSinkOptions } from './options';
import { PendingBound } from './bound';
import { headerMaker, type HeaderMaker } from './headers';

export { sinkOptions, type KafkaSinkDeps, type KafkaSinkOptions } from './options';
export class KafkaSink implements Sink {
  readonly kind: string;
  readonly name: ProducerName;
  private readonly opts: KafkaSinkOptions;
  /** What the calls hold, bounded; hasty requests wait in it for room. */
  private readonly bound: PendingBound;
  /** Calls whose events do not all have their fate yet (answered or not). */
  private readonly calls: Calls;
  private readonly lifecycle: ClientLifecycle;
  private readonly headersOf: HeaderMaker;

  /** Throws EG_ERR_CONFIG_INVALID when librdkafka refuses the settings. */
  constructor(opts: KafkaSinkOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.kind = `kafka-${opts.name}`;
    const log = opts.log.child({ component: 'kafka', producer: opts.name });
    const tags: Tags = Object.freeze({ producer: opts.name });
    const settler = new Settler({ log, metrics: opts.metrics, tags, spool: opts.spool });
    this.bound = new PendingBound(opts.maxPendingEvents, opts.maxPendingBytes);
    this.headersOf = headerMaker(opts.messageHeaders);
    this.calls = new Calls({ ...opts, log, tags, settler, bound: this.bound, wake: () => this.lifecycle.wake() });
    try {
      this.lifecycle = new ClientLifecycle({ opts, kind: this.kind, log, tags, calls: this.calls, bound: this.bound, settler });
    } catch (err) {
      throw new EventGateError('EG_ERR_CONFIG_INVALID', `kafka ${opts.name} producer: ${messageOf(err)}`, { cause: err });
    }
  }

  /**
   * Connects, retrying until it succeeds or the sink is closed. Resolves once
   * connected; rejects with EG_ERR_KAFKA_CONNECT after `timeoutMs`, while
   * attempts go on (notReadyReason() says why it is not ready meanwhile).
   */
  start(timeoutMs = this.opts.connectTimeoutMs): Promise<void> {
    return this.lifecycle.start(timeoutMs);
  }

  produce(events: readonly OutboundEvent[], ctx: ProduceContext): Promise<ProduceOutcome[]> {
    if (events.length === 0) return Promise.resolve([]);
    const state = this.lifecycle.state;
    if (state.kind === 'closed') return this.calls.refuse(events, ctx, failure('EG_ERR_KAFKA_CLOSED', `${this.kind} producer is closed`));
    if (state.kind !== 'connected' || state.health.downConfirmed) {
      return this.calls.refuse(events, ctx, failure(this.lifecycle.refusalCode, this.notReadyReason() ?? `${this.kind} producer is not connected`));
    }
    const bytes = bytesHeld(events);
    const full = this.bound.take(events.length, bytes, ctx.admission);
    this.calls.noteFull(full !== undefined);
    if (full) return this.calls.refuse(events, ctx, failure('EG_ERR_KAFKA_QUEUE_FULL', `${this.kind} producer ${full}`));
    const headers = this.headersOf(ctx.requestId);
    const client = this.lifecycle.client;
    return new Promise((resolve) => {
      const delivery = this.calls.track(events, ctx, resolve, bytes);
      for (let i = 0; i < events.length; i++) {
        const event = events[i];
        const pending: Pending = { delivery, index: i };
        try {
          client.produce(event.topic, null, bytesOf(event.value), event.key ?? null, event.timestamp ?? null, pending, headers);
        } catch (err) {
          if ((err as { code?: unknown } | null)?.code !== Kafka.CODES.ERRORS.ERR__FATAL) {
            delivery.settle(i, produceFailure(err));
            continue;
          }
          // The fatal error's own event may not have told yet: librdkafka refuses every produce after one.
          this.lifecycle.rebuild(messageOf(err));
          delivery.fill(failure('EG_ERR_KAFKA_FATAL', `${this.kind} producer failed (fatal error): ${messageOf(err)}`));
          break;
        }
      }
      delivery.deadline(this.opts.produceTimeoutMs, () => {
        const down = state.health.brokersDown;
        return failure(
          'EG_ERR_KAFKA_TIMEOUT',
          `no delivery report within ${this.opts.produceTimeoutMs} ms${down ? ` (${down})` : ''}; spooled if Kafka reports it undelivered`,
        );
      });
    });
  }

  /** Room for a hasty request's events before its 202 (see bound.ts). */
  admit(events: number, waitMs: number): Admission | Promise<Admission | undefined> {
    return this.bound.admit(events, waitMs);
  }

  notReadyReason(): string | undefined {
    return this.lifecycle.notReadyReason();
  }

  /**
   * Refuses new events, flushes for up to kafka.flush_timeout_ms (not at all
   * while every broker is known to be down), spools what is still
   * unacknowledged (EG_ERR_KAFKA_CLOSED), disconnects. Idempotent.
   */
  close(): Promise<void> {
    // Hasty requests waiting for room are answered as without hasty (and refused: closed).
    if (this.lifecycle.state.kind !== 'closed') this.bound.close();
    return this.lifecycle.close();
  }
}
