/**
 * A Sink on one node-rdkafka Producer. Each produce() call waits for the
 * delivery report of every event (so an ok outcome means Kafka acknowledged
 * it), bounded by kafka.produce_timeout_ms; what Kafka did not take goes to
 * the failed-events spool, once librdkafka says so (delivery.ts). While
 * librdkafka knows every broker to be down, calls are refused at once.
 * After a fatal librdkafka error the client is replaced by a new one (the
 * old one's events get their fate first). Its parts: lifecycle.ts (states,
 * timings), health.ts (brokers down or up), calls.ts (calls awaiting their
 * reports), options.ts. guaranteed.ts and hasty.ts differ only in settings.
 */
import * as Kafka from 'node-rdkafka';
import { EventGateError, messageOf } from '../../errors';
import type { Logger } from '../../log';
import type { Tags } from '../../metrics/metrics';
import { Backoff } from '../../backoff';
import { bytesOf, PRODUCED, type Admission, type OutboundEvent, type ProduceContext, type ProduceOutcome, type Sink } from '../sink';
import type { ProducerName } from './config';
import { disconnectWithin, flushWithin, producerClient } from './client';
import { type Delivery, deliveryFailure, failure, produceFailure, type Pending } from './delivery';
import { AuthWatch } from './auth';
import { errorKind, RdkafkaLogger, recordStats, type RdkafkaLog } from './observe';
import { Poller } from './poller';
import { Settler } from './settle';
import { DISCONNECT_TIMEOUT_MS, fatalReason, IDLE_POLL_MS, notReadyReasonOf, pollClient, ReadyWaiters, REPORT_GRACE_MS, CONNECT_RETRY_MS, PROBE_RETRY_MS, REBUILD_RETRY_MS, type State } from './lifecycle';
import { bytesHeld, Calls } from './calls';
import { BrokerHealth } from './health';
import type { KafkaSinkOptions } from './options';
import { PendingBound } from './bound';
import { headerMaker, type HeaderMaker } from './headers';

export { sinkOptions, type KafkaSinkDeps, type KafkaSinkOptions } from './options';
export class KafkaSink implements Sink {
  readonly kind: string;
  readonly name: ProducerName;
  private readonly opts: KafkaSinkOptions;
  private readonly log: Logger;
  private readonly tags: Tags;
  /** The client events are produced on; replaced after a fatal error. */
  private client: Kafka.Producer;
  private state: State = { kind: 'new' };
  private readonly connectBackoff = new Backoff(...CONNECT_RETRY_MS);
  private readonly probeBackoff = new Backoff(...PROBE_RETRY_MS);
  private readonly rebuildBackoff = new Backoff(REBUILD_RETRY_MS[0], REBUILD_RETRY_MS[1], Date.now, 0);
  /** Clients that failed fatally, until their events have their fate and they are disconnected. */
  private readonly retiring = new Set<Promise<void>>();
  /** Clients replaced after a fatal error: what they report no longer says how the producer is. */
  private readonly retired = new WeakSet<Kafka.Producer>();
  /** What the calls hold, bounded; hasty requests wait in it for room. */
  private readonly bound: PendingBound;
  /** Whether librdkafka sends statistics (broker states); without them a metadata probe is the sign of brokers back. */
  private readonly statsEnabled: boolean;
  private readonly settler: Settler;
  /** Calls whose events do not all have their fate yet (answered or not). */
  private readonly calls: Calls;
  private readonly ready = new ReadyWaiters();
  private readonly auth: AuthWatch;
  /** librdkafka's log lines and recoverable errors, one line per distinct message per interval. */
  private readonly rdkafkaLog: RdkafkaLogger;
  private readonly headersOf: HeaderMaker;

  /** Throws EG_ERR_CONFIG_INVALID when librdkafka refuses the settings. */
  constructor(opts: KafkaSinkOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.kind = `kafka-${opts.name}`;
    this.log = opts.log.child({ component: 'kafka', producer: opts.name });
    this.tags = Object.freeze({ producer: opts.name });
    this.auth = new AuthWatch(this.log);
    this.rdkafkaLog = new RdkafkaLogger(this.log);
    this.settler = new Settler({ log: this.log, metrics: opts.metrics, tags: this.tags, spool: opts.spool });
    this.statsEnabled = Number(opts.props.global['statistics.interval.ms'] ?? 0) > 0;
    this.bound = new PendingBound(opts.maxPendingEvents, opts.maxPendingBytes);
    this.headersOf = headerMaker(opts.messageHeaders);
    this.calls = new Calls({
      ...opts,
      log: this.log,
      tags: this.tags,
      settler: this.settler,
      bound: this.bound,
      wake: () => this.state.kind === 'connected' && this.state.poll.wake(),
    });
    try {
      this.client = this.newClient();
    } catch (err) {
      throw new EventGateError('EG_ERR_CONFIG_INVALID', `kafka ${opts.name} producer: ${messageOf(err)}`, { cause: err });
    }
  }

  /**
   * A client on the producer's settings, its events wired. A retired
   * client's delivery reports still give its events their fate; its other
   * events only reach the log. A client whose connection attempt failed is
   * not retired: what librdkafka says of that attempt (a refused password)
   * may come after its callback, and still holds.
   */
  private newClient(): Kafka.Producer {
    const client = producerClient(this.opts.props);
    const current = (): boolean => !this.retired.has(client);
    client.on('delivery-report', (err, report) => this.onDeliveryReport(err, report, current()));
    client.on('event.log', (entry: RdkafkaLog) => {
      this.rdkafkaLog.log(entry);
      if (!current()) return;
      this.auth.see(entry.message);
      // librdkafka's own line for a fatal error comes first, and is the one with its whole reason.
      if (entry.fac === 'FATAL') this.rebuild(fatalReason(entry.message));
    });
    client.on('event.error', (err) => (current() ? this.onError(err) : this.rdkafkaLog.error(err)));
    client.on('event.stats', (data: { message: string }) => {
      if (current()) this.onStats(data.message);
    });
    return client;
  }

  /** The one guard of every callback that could outlive the producer. */
  private get closed(): boolean { return this.state.kind === 'closed'; }

  /**
   * Connects, retrying until it succeeds or the sink is closed. Resolves once
   * connected; rejects with EG_ERR_KAFKA_CONNECT after `timeoutMs`, while
   * attempts go on (notReadyReason() says why it is not ready meanwhile).
   */
  start(timeoutMs = this.opts.connectTimeoutMs): Promise<void> {
    if (this.closed) return Promise.reject(new EventGateError('EG_ERR_KAFKA_CONNECT', `${this.kind} producer is closed`));
    if (this.state.kind === 'new') this.connect();
    if (this.state.kind === 'connected') return Promise.resolve();
    return this.ready.wait(timeoutMs, () => {
      const error = this.state.kind === 'connecting' ? this.state.error : undefined;
      return new EventGateError('EG_ERR_KAFKA_CONNECT', `${this.kind} producer did not connect within ${timeoutMs} ms${error ? `: ${error}` : ''}`);
    });
  }

  produce(events: readonly OutboundEvent[], ctx: ProduceContext): Promise<ProduceOutcome[]> {
    if (events.length === 0) return Promise.resolve([]);
    const state = this.state;
    if (state.kind === 'closed') return this.calls.refuse(events, ctx, failure('EG_ERR_KAFKA_CLOSED', `${this.kind} producer is closed`));
    if (state.kind !== 'connected' || state.health.downConfirmed) {
      const code = this.auth.failure ? 'EG_ERR_KAFKA_AUTH' : 'EG_ERR_KAFKA_UNAVAILABLE';
      return this.calls.refuse(events, ctx, failure(code, this.notReadyReason() ?? `${this.kind} producer is not connected`));
    }
    const bytes = bytesHeld(events);
    const full = this.bound.take(events.length, bytes, ctx.admission);
    this.calls.noteFull(full !== undefined);
    if (full) return this.calls.refuse(events, ctx, failure('EG_ERR_KAFKA_QUEUE_FULL', `${this.kind} producer ${full}`));
    const headers = this.headersOf(ctx.requestId);
    const client = this.client;
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
          this.rebuild(messageOf(err));
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
    return notReadyReasonOf(this.kind, this.state, this.auth.failure?.detail);
  }

  /**
   * Refuses new events, flushes for up to kafka.flush_timeout_ms (not at all
   * while every broker is known to be down), spools what is still
   * unacknowledged (EG_ERR_KAFKA_CLOSED), disconnects. Idempotent.
   */
  close(): Promise<void> {
    if (this.state.kind === 'closed') return this.state.done;
    const was = this.state;
    // Hasty requests waiting for room are answered as without hasty (and refused: closed).
    this.bound.close();
    // Closed from here on, before the first await: every callback sees it.
    const done = Promise.resolve().then(() => this.shutdown(was));
    this.state = { kind: 'closed', done };
    return done;
  }

  private async shutdown(was: Exclude<State, { kind: 'closed' }>): Promise<void> {
    if (was.kind === 'connecting') clearTimeout(was.retry);
    if (was.kind === 'connected') was.health.stop();
    this.ready.settle(new EventGateError('EG_ERR_KAFKA_CONNECT', `${this.kind} producer was closed before it connected`));
    // A client that failed fatally gives its events their fate first: flushing the new one does not.
    while (this.retiring.size) await Promise.all(this.retiring);
    if (was.kind === 'connected' && this.calls.size) {
      if (was.health.downConfirmed) this.log.warn({ batches: this.calls.size }, 'kafka brokers are down: closing without a flush');
      else if (await flushWithin(this.client, this.opts.flushTimeoutMs)) await this.calls.drained(REPORT_GRACE_MS);
      else this.log.warn({ batches: this.calls.size }, 'kafka producer did not flush before close');
    }
    for (const delivery of this.calls.list()) {
      delivery.fill(failure('EG_ERR_KAFKA_CLOSED', `${this.kind} producer closed before the event was acknowledged`));
    }
    await this.settler.idle();
    if (was.kind === 'connected') was.poll.stop();
    await disconnectWithin(this.client, DISCONNECT_TIMEOUT_MS);
    this.rdkafkaLog.flush();
    this.log.info('kafka producer closed');
  }

  private connect(): void {
    if (this.closed) return;
    const was = this.state.kind === 'connecting' ? this.state : undefined;
    this.state = { kind: 'connecting', error: was?.error, rebuilding: was?.rebuilding };
    const client = this.client;
    client.connect({ timeout: this.opts.connectTimeoutMs }, (err) => {
      if (this.closed) {
        if (!err) void disconnectWithin(client, DISCONNECT_TIMEOUT_MS);
        return;
      }
      if (err) {
        this.rdkafkaLog.connectFailed(err);
        this.opts.metrics.increment('kafka.connect.failed', 1, this.tags);
        // node-rdkafka wires its event callbacks again at each connect() of a
        // client, so that each retry on one client would deliver every event
        // once more: after an hour-long outage, each log line hundreds of times.
        // The next attempt gets a new client (node-rdkafka has disconnected the failed one, or is doing so).
        void disconnectWithin(client, DISCONNECT_TIMEOUT_MS);
        this.client = this.newClient();
        const retry = setTimeout(() => this.connect(), this.connectBackoff.next());
        retry.unref();
        this.state = { kind: 'connecting', error: err.message, retry, rebuilding: this.state.kind === 'connecting' ? this.state.rebuilding : undefined };
        return;
      }
      const poll = new Poller(() => pollClient(client), () => this.calls.size > 0, this.opts.pollIntervalMs, IDLE_POLL_MS);
      const rebuilt = this.state.kind === 'connecting' && this.state.rebuilding !== undefined;
      const health = new BrokerHealth({
        log: this.log,
        statsEnabled: this.statsEnabled,
        probeBackoff: this.probeBackoff,
        metadata: (done) => {
          client.getMetadata({ timeout: this.opts.connectTimeoutMs }, done);
        },
        answered: () => this.auth.clear(),
        closed: () => this.closed,
      });
      this.state = { kind: 'connected', poll, health };
      this.auth.clear();
      this.rdkafkaLog.connected();
      this.log.info({ rebuilt }, rebuilt ? 'kafka producer rebuilt and connected' : 'kafka producer connected');
      this.ready.settle();
    });
  }

  /**
   * librdkafka reported a fatal error: this client takes no more events.
   * A new client replaces it (at once, then backing off if it keeps
   * failing); meanwhile calls are refused (and spooled). The old client's
   * events get their fate: librdkafka failed the queued ones itself, those
   * in flight get the broker's answer within kafka.flush_timeout_ms, and
   * whatever is left then is failed and spooled.
   */
  private rebuild(reason: string, err?: unknown): boolean {
    const state = this.state;
    // Already being replaced (the error event and a refused produce both tell), or closing.
    if (state.kind !== 'connected') return false;
    this.log.error({ err, reason }, 'kafka producer fatal error: replacing the client');
    this.opts.metrics.increment('kafka.producer.rebuilt', 1, this.tags);
    const old = this.client;
    this.retired.add(old);
    const held = this.calls.list();
    // The settings were accepted by the first client: a second one on them is accepted too.
    this.client = this.newClient();
    const retry = setTimeout(() => this.connect(), this.rebuildBackoff.next());
    retry.unref();
    this.state = { kind: 'connecting', rebuilding: reason, retry };
    state.health.stop();
    const work = this.retire(old, state.poll, held).catch((e: unknown) => this.log.error({ err: e }, 'kafka producer: retiring a failed client failed'));
    this.retiring.add(work);
    void work.finally(() => this.retiring.delete(work));
    return true;
  }

  private async retire(client: Kafka.Producer, poll: Poller, held: readonly Delivery[]): Promise<void> {
    const fated = (): boolean => held.every((d) => d.done);
    if (!fated() && (await flushWithin(client, this.opts.flushTimeoutMs))) await this.calls.until(fated, REPORT_GRACE_MS);
    for (const delivery of held) {
      delivery.fill(failure('EG_ERR_KAFKA_FATAL', `${this.kind} producer failed (fatal error) before Kafka acknowledged the event`));
    }
    poll.stop();
    await disconnectWithin(client, DISCONNECT_TIMEOUT_MS);
  }

  private onDeliveryReport(err: Kafka.LibrdKafkaError | null | undefined, report: Kafka.DeliveryReport, current: boolean): void {
    const pending = report.opaque as Pending | undefined;
    if (!err && current) this.markUp('delivery');
    // A report after the call was answered is a late fate (settle.ts counts it, and spools a failure).
    pending?.delivery.settle(pending.index, err ? deliveryFailure(err) : PRODUCED);
  }

  private onError(err: Kafka.LibrdKafkaError): void {
    this.auth.see(err.message);
    const kind = errorKind(err);
    this.opts.metrics.increment('kafka.errors', 1, { ...this.tags, kind });
    if (kind === 'fatal') {
      // Unrecoverable for this client instance (e.g. an idempotence sequence error).
      if (!this.rebuild(err.message, err)) this.log.error({ err }, 'kafka producer fatal error while not connected: replaced at its next produce');
      return;
    }
    if (kind === 'all_brokers_down') {
      if (this.state.kind === 'connected') this.state.health.allDown(err);
      return;
    }
    // The watch has logged it, once per cause.
    if (kind === 'auth') return;
    // librdkafka recovers from the others by itself (reconnects, retries).
    this.rdkafkaLog.error(err);
  }

  private onStats(json: string): void {
    this.opts.metrics.gauge('kafka.producer.pending_events', this.bound.pendingEvents, this.tags);
    this.opts.metrics.gauge('kafka.producer.pending_bytes', this.bound.pendingBytes, this.tags);
    const brokers = recordStats(this.opts.metrics, this.tags, json);
    if (!brokers) return;
    if (brokers.leaderUp) {
      this.markUp('stats');
      return;
    }
    if (this.state.kind === 'connected') this.state.health.noLeaderUp(brokers.anyUp);
  }

  /** A partition leader is reachable again (or a credential worked). */
  private markUp(via: 'delivery' | 'stats'): void {
    this.auth.clear();
    if (this.state.kind === 'connected') this.state.health.up(via);
  }


}
