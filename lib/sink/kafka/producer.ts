/**
 * A Sink on one node-rdkafka Producer. Each produce() call waits for the
 * delivery report of every event (so an ok outcome means Kafka acknowledged
 * it), bounded by kafka.produce_timeout_ms; what Kafka did not take goes to
 * the failed-events spool. guaranteed.ts and hasty.ts differ only in settings.
 */
import * as Kafka from 'node-rdkafka';
import { EventGateError, messageOf, type ErrorCode } from '../../errors';
import type { Logger } from '../../log';
import type { Metrics, Tags } from '../../metrics/metrics';
import { bytesOf, PRODUCED, type OutboundEvent, type ProduceContext, type ProduceOutcome, type Sink } from '../sink';
import type { FailedEvent, Spool } from '../spool';
import type { KafkaConf } from '../../config/schema';
import { commonDefaults, producerProps, type ProducerName, type ProducerProps, type PropDefault } from './config';
import { Delivery, deliveryFailure, failure, produceFailure, type Failure, type Pending } from './delivery';
import { logRdkafka, recordStats, type RdkafkaLog } from './observe';

/** Pause between a failed connection attempt (itself bounded) and the next. */
const RETRY_DELAY_MS = 1000;
/** After a complete flush, how long delivery reports may take to reach JS. */
const REPORT_GRACE_MS = 1000;
/** Bound on librdkafka's own teardown at close. */
const DISCONNECT_TIMEOUT_MS = 5000;

const CONTENT_TYPE: Kafka.MessageHeader = Object.freeze({ 'content-type': 'application/json' });

export interface KafkaSinkDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Where events go that passed validation but Kafka did not take. */
  readonly spool?: Spool;
}

export interface KafkaSinkOptions extends KafkaSinkDeps {
  readonly name: ProducerName;
  /** librdkafka settings, defaults applied (config.ts). */
  readonly props: ProducerProps;
  readonly produceTimeoutMs: number;
  readonly flushTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly pollIntervalMs: number;
}

type Waiter = (err?: Error) => void;

/**
 * What a librdkafka error event means here. node-rdkafka 3.6 hands error
 * events to JS as a message only (src/callbacks.cc builds a plain Error; its
 * code is -1), so the kind is read from librdkafka's fixed texts:
 * err2str(ERR__ALL_BROKERS_DOWN), and the "Fatal error: ..." prefix of
 * rd_kafka_set_fatal_error, which node-rdkafka turns into origin 'fatal error'.
 */
export function errorKind(err: Kafka.LibrdKafkaError): 'fatal' | 'all_brokers_down' | 'other' {
  if (err.isFatal === true || err.code === Kafka.CODES.ERRORS.ERR__FATAL || /^fatal/i.test(err.origin ?? '')) return 'fatal';
  if (err.code === Kafka.CODES.ERRORS.ERR__ALL_BROKERS_DOWN || /all broker connections are down/i.test(err.message)) {
    return 'all_brokers_down';
  }
  return 'other';
}

export class KafkaSink implements Sink {
  readonly kind: string;
  readonly name: ProducerName;
  private readonly opts: KafkaSinkOptions;
  private readonly log: Logger;
  private readonly tags: Tags;
  private readonly client: Kafka.Producer;
  private connected = false;
  private started = false;
  private connectError: string | undefined;
  private brokersDown: string | undefined;
  private fatalError: string | undefined;
  private probing = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Delivery>();
  private readonly spooling = new Set<Promise<unknown>>();
  private readonly readyWaiters = new Set<Waiter>();
  private readonly drainWaiters = new Set<() => void>();
  private closing: Promise<void> | undefined;

  /** Throws EG_ERR_CONFIG_INVALID when librdkafka refuses the settings. */
  constructor(opts: KafkaSinkOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.kind = `kafka-${opts.name}`;
    this.log = opts.log.child({ component: 'kafka', producer: opts.name });
    this.tags = Object.freeze({ producer: opts.name });
    try {
      this.client = new Kafka.Producer({ ...opts.props.global, dr_cb: true }, { ...opts.props.topic });
    } catch (err) {
      throw new EventGateError('EG_ERR_CONFIG_INVALID', `kafka ${opts.name} producer: ${messageOf(err)}`, { cause: err });
    }
    this.client.on('delivery-report', (err, report) => this.onDeliveryReport(err, report));
    this.client.on('event.log', (entry: RdkafkaLog) => logRdkafka(this.log, entry));
    this.client.on('event.error', (err) => this.onError(err));
    this.client.on('event.stats', (data: { message: string }) => this.onStats(data.message));
  }

  /**
   * Connects, retrying until it succeeds or the sink is closed. Resolves once
   * connected; rejects with EG_ERR_KAFKA_CONNECT after `timeoutMs`, while
   * attempts go on (notReadyReason() says why it is not ready meanwhile).
   */
  start(timeoutMs = this.opts.connectTimeoutMs): Promise<void> {
    if (this.closing) return Promise.reject(new EventGateError('EG_ERR_KAFKA_CONNECT', `${this.kind} producer is closed`));
    if (!this.started) {
      this.started = true;
      this.connect();
    }
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = (err) => {
        clearTimeout(timer);
        this.readyWaiters.delete(waiter);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => {
        const why = this.connectError ? `: ${this.connectError}` : '';
        waiter(new EventGateError('EG_ERR_KAFKA_CONNECT', `${this.kind} producer did not connect within ${timeoutMs} ms${why}`));
      }, timeoutMs);
      this.readyWaiters.add(waiter);
    });
  }

  produce(events: readonly OutboundEvent[], ctx: ProduceContext): Promise<ProduceOutcome[]> {
    if (events.length === 0) return Promise.resolve([]);
    if (this.closing) return this.refuse(events, ctx, failure('EG_ERR_KAFKA_CLOSED', `${this.kind} producer is closed`));
    if (!this.connected || this.fatalError) {
      return this.refuse(events, ctx, failure('EG_ERR_KAFKA_UNAVAILABLE', this.notReadyReason() ?? `${this.kind} producer is not connected`));
    }
    const headers = ctx.requestId ? [CONTENT_TYPE, { 'x-request-id': ctx.requestId }] : [CONTENT_TYPE];
    return new Promise((resolve) => {
      const delivery = new Delivery(events.length, (d) => resolve(this.complete(d, events, ctx)));
      for (let i = 0; i < events.length; i++) {
        const event = events[i];
        const pending: Pending = { delivery, index: i };
        try {
          this.client.produce(event.topic, null, bytesOf(event.value), event.key ?? null, event.timestamp ?? null, pending, headers);
        } catch (err) {
          delivery.settle(i, produceFailure(err));
        }
      }
      if (delivery.done) return;
      this.inflight.add(delivery);
      delivery.deadline(this.opts.produceTimeoutMs, () => {
        const why = this.brokersDown ? ` (${this.brokersDown})` : '';
        return failure('EG_ERR_KAFKA_TIMEOUT', `no delivery report within ${this.opts.produceTimeoutMs} ms${why}`);
      });
    });
  }

  notReadyReason(): string | undefined {
    if (this.closing) return `${this.kind} producer is closed`;
    if (!this.connected) {
      return this.connectError ? `${this.kind} producer cannot connect: ${this.connectError}` : `${this.kind} producer is connecting`;
    }
    if (this.fatalError) return `${this.kind} producer failed: ${this.fatalError}`;
    if (this.brokersDown) return `${this.kind} producer: ${this.brokersDown}`;
    return undefined;
  }

  /**
   * Refuses new events, flushes for up to kafka.flush_timeout_ms, spools what
   * is still unacknowledged (EG_ERR_KAFKA_CLOSED), disconnects. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    clearTimeout(this.retryTimer);
    clearTimeout(this.probeTimer);
    for (const waiter of [...this.readyWaiters]) {
      waiter(new EventGateError('EG_ERR_KAFKA_CONNECT', `${this.kind} producer was closed before it connected`));
    }
    if (this.connected) {
      if (await this.flush(this.opts.flushTimeoutMs)) await this.drained(REPORT_GRACE_MS);
      else if (this.inflight.size) this.log.warn({ batches: this.inflight.size }, 'kafka producer did not flush before close');
    }
    for (const delivery of [...this.inflight]) {
      delivery.fill(failure('EG_ERR_KAFKA_CLOSED', `${this.kind} producer closed before the event was acknowledged`));
    }
    await Promise.all(this.spooling);
    clearInterval(this.pollTimer);
    await this.disconnect();
    this.log.info('kafka producer closed');
  }

  private connect(): void {
    if (this.closing) return;
    this.client.connect({ timeout: this.opts.connectTimeoutMs }, (err) => {
      if (this.closing) {
        if (!err) void this.disconnect();
        return;
      }
      if (err) {
        this.connectError = err.message;
        this.log.warn({ err }, 'kafka producer could not connect, retrying');
        this.opts.metrics.increment('kafka.connect.failed', 1, this.tags);
        this.retryTimer = setTimeout(() => this.connect(), RETRY_DELAY_MS);
        this.retryTimer.unref();
        return;
      }
      this.connected = true;
      this.connectError = undefined;
      // Delivery reports, logs, errors and stats all reach JS through poll().
      this.pollTimer = setInterval(() => this.poll(), this.opts.pollIntervalMs);
      this.pollTimer.unref();
      this.log.info('kafka producer connected');
      for (const waiter of [...this.readyWaiters]) waiter();
    });
  }

  private poll(): void {
    try {
      this.client.poll();
    } catch {
      // Not connected any more: close() stops this timer.
    }
  }

  private onDeliveryReport(err: Kafka.LibrdKafkaError | null | undefined, report: Kafka.DeliveryReport): void {
    const pending = report.opaque as Pending | undefined;
    if (!err) this.markUp();
    if (!pending) return;
    if (pending.delivery.done) {
      // Reported after its call timed out: the event is in the spool too (a duplicate on replay) or truly failed.
      this.opts.metrics.increment('kafka.produce.late', 1, { ...this.tags, ok: err ? 'false' : 'true' });
      return;
    }
    pending.delivery.settle(pending.index, err ? deliveryFailure(err) : PRODUCED);
  }

  private onError(err: Kafka.LibrdKafkaError): void {
    const kind = errorKind(err);
    this.opts.metrics.increment('kafka.errors', 1, { ...this.tags, kind });
    if (kind === 'fatal') {
      // Unrecoverable for this client instance (e.g. an idempotence sequence error).
      this.fatalError = err.message;
      this.log.fatal({ err }, 'kafka producer fatal error');
      return;
    }
    if (kind === 'all_brokers_down') {
      if (!this.brokersDown) this.log.error({ err }, 'all kafka brokers are down');
      this.brokersDown = 'all brokers are down';
      this.probeBrokers();
      return;
    }
    // librdkafka recovers from the others by itself (reconnects, retries).
    this.log.warn({ err }, 'librdkafka error');
  }

  private onStats(json: string): void {
    if (recordStats(this.opts.metrics, this.tags, json)?.brokerUp) this.markUp();
  }

  private markUp(): void {
    if (!this.brokersDown) return;
    this.brokersDown = undefined;
    this.log.info('kafka brokers reachable again');
  }

  /**
   * While brokers are down, asks for metadata (which needs a live broker) so
   * that readiness comes back even with no traffic and no statistics.
   */
  private probeBrokers(): void {
    if (this.probing || this.closing || !this.connected) return;
    this.probing = true;
    this.client.getMetadata({ timeout: this.opts.connectTimeoutMs }, (err) => {
      this.probing = false;
      if (this.closing || !this.brokersDown) return;
      if (!err) {
        this.markUp();
        return;
      }
      this.probeTimer = setTimeout(() => this.probeBrokers(), RETRY_DELAY_MS);
      this.probeTimer.unref();
    });
  }

  /** Every event gets `outcome` at once (and is spooled). */
  private refuse(events: readonly OutboundEvent[], ctx: ProduceContext, outcome: Failure): Promise<ProduceOutcome[]> {
    return new Promise((resolve) => {
      new Delivery(events.length, (d) => resolve(this.complete(d, events, ctx))).fill(outcome);
    });
  }

  /** Counts, logs and spools a finished call; resolves with its outcomes. */
  private complete(delivery: Delivery, events: readonly OutboundEvent[], ctx: ProduceContext): Promise<ProduceOutcome[]> {
    if (this.inflight.delete(delivery) && this.inflight.size === 0) {
      for (const waiter of [...this.drainWaiters]) waiter();
    }
    const outcomes = delivery.outcomes as ProduceOutcome[];
    const failed: FailedEvent[] = [];
    const codes: Partial<Record<ErrorCode, number>> = {};
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i];
      if (outcome.ok) continue;
      failed.push({ event: events[i], error: { code: outcome.code, message: outcome.message } });
      codes[outcome.code] = (codes[outcome.code] ?? 0) + 1;
    }
    const metrics = this.opts.metrics;
    metrics.timing('kafka.produce.duration', Date.now() - delivery.started, this.tags);
    if (failed.length < events.length) metrics.increment('kafka.produce.delivered', events.length - failed.length, this.tags);
    for (const [code, n] of Object.entries(codes)) metrics.increment('kafka.produce.failed', n, { ...this.tags, code });
    if (failed.length === 0) return Promise.resolve(outcomes);

    const spooled = this.spool(failed).then((ok) => {
      this.log.warn({ request_id: ctx.requestId, events: events.length, failed: failed.length, codes, spooled: ok }, 'events not produced to kafka');
      return outcomes;
    });
    this.spooling.add(spooled);
    void spooled.finally(() => this.spooling.delete(spooled));
    return spooled;
  }

  /** Appends to the spool; false when there is none or the write failed (logged). */
  private spool(failed: readonly FailedEvent[]): Promise<boolean> {
    const spool = this.opts.spool;
    if (!spool) return Promise.resolve(false);
    return spool.append(failed).then(
      () => true,
      (err: unknown) => {
        this.log.error({ err, failed: failed.length, path: spool.path }, 'failed events could not be spooled');
        this.opts.metrics.increment('kafka.spool.failed', failed.length, this.tags);
        return false;
      },
    );
  }

  /** Resolves true once librdkafka's queue is empty, false after `ms` (or on error). */
  private flush(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      // librdkafka bounds the flush itself; this guards against a callback that never comes.
      const guard = setTimeout(() => resolve(false), ms + 1000);
      try {
        this.client.flush(ms, (err) => {
          clearTimeout(guard);
          resolve(!err);
        });
      } catch {
        clearTimeout(guard);
        resolve(false);
      }
    });
  }

  /** Resolves when no call waits for delivery reports, or after `ms`. */
  private drained(ms: number): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.drainWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.drainWaiters.add(done);
    });
  }

  private disconnect(): Promise<void> {
    if (!this.client.isConnected()) return Promise.resolve();
    return new Promise((resolve) => {
      const guard = setTimeout(resolve, DISCONNECT_TIMEOUT_MS);
      // Already flushed: a zero flush timeout, then librdkafka's teardown.
      this.client.disconnect(0, () => {
        clearTimeout(guard);
        resolve();
      });
    });
  }
}

/** The options of producer `name` from the `kafka` config section. */
export function sinkOptions(kafka: KafkaConf, name: ProducerName, defaults: readonly PropDefault[], deps: KafkaSinkDeps): KafkaSinkOptions {
  return {
    ...deps,
    name,
    props: producerProps(kafka, name, [...commonDefaults(name, kafka.produce_timeout_ms), ...defaults]),
    produceTimeoutMs: kafka.produce_timeout_ms,
    flushTimeoutMs: kafka.flush_timeout_ms,
    connectTimeoutMs: kafka.connect_timeout_ms,
    pollIntervalMs: kafka.poll_interval_ms,
  };
}
