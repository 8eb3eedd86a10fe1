/**
 * The life of a producer's Kafka client, made by a client factory
 * (client.ts): connecting (retrying with back-off), connected (polling, its
 * brokers' health watched), replaced after a fatal librdkafka error (the old
 * client retired: its events get their fate first), and closed (flush,
 * disconnect). What each client reports is read by reports.ts; the Sink
 * facade (producer.ts) produces on whichever client is current.
 */
import type { LogEvent } from '../../log-events';
import { EventGateError } from '../../errors';
import type { Logger } from '../../log';
import type { Tags } from '../../metrics/metrics';
import { Backoff } from '../../backoff';
import { type ClientFactory, disconnectWithin, flushWithin, pollClient, type ProducerClient, rdkafkaClient } from './client';
import { type Delivery, failure } from './delivery';
import { AuthWatch } from './auth';
import { RdkafkaLogger } from './observe';
import { ClientReports } from './reports';
import { Poller } from './poller';
import { notReadyReasonOf, PRODUCER_TIMINGS, type ProducerTimings, ReadyWaiters, type State } from './state';
import type { Calls } from './calls';
import type { PendingBound } from './bound';
import type { Settler } from './settle';
import { BrokerHealth } from './health';
import type { KafkaSinkOptions } from './options';

export interface LifecycleDeps {
  readonly opts: KafkaSinkOptions;
  /** kafka-<producer>: how messages name it. */
  readonly kind: string;
  readonly log: Logger;
  readonly tags: Tags;
  readonly calls: Calls;
  /** Read for the pending gauges at each statistics document (reports.ts). */
  readonly bound: PendingBound;
  /** Its spool writes are awaited at close. */
  readonly settler: Settler;
}

export class ClientLifecycle {
  private readonly d: LifecycleDeps;
  private readonly timings: ProducerTimings;
  private readonly makeClient: ClientFactory;
  /** The client events are produced on; replaced after a failed connect or a fatal error. */
  private clientNow: ProducerClient;
  private stateNow: State = { kind: 'new' };
  private readonly connectBackoff: Backoff;
  private readonly probeBackoff: Backoff;
  private readonly rebuildBackoff: Backoff;
  /** Clients that failed fatally, until their events have their fate and they are disconnected. */
  private readonly retiring = new Set<Promise<void>>();
  /** Clients replaced after a fatal error: what they report no longer says how the producer is. */
  private readonly retired = new WeakSet<ProducerClient>();
  /** Whether librdkafka sends statistics (broker states); without them a metadata probe is the sign of brokers back. */
  private readonly statsEnabled: boolean;
  private readonly ready = new ReadyWaiters();
  private readonly auth: AuthWatch;
  /** librdkafka's log lines and recoverable errors, one line per distinct message per interval. */
  private readonly rdkafkaLog: RdkafkaLogger;
  private readonly reports: ClientReports;

  /** Makes the first client: throws when its settings are refused. */
  constructor(deps: LifecycleDeps) {
    this.d = deps;
    const { opts, log } = deps;
    this.timings = { ...PRODUCER_TIMINGS, ...opts.timings };
    this.makeClient = opts.clientFactory ?? rdkafkaClient;
    this.connectBackoff = new Backoff(...this.timings.connectRetryMs);
    this.probeBackoff = new Backoff(...this.timings.probeRetryMs);
    this.rebuildBackoff = new Backoff(this.timings.rebuildRetryMs[0], this.timings.rebuildRetryMs[1], Date.now, 0);
    this.statsEnabled = Number(opts.props.global['statistics.interval.ms'] ?? 0) > 0;
    this.auth = new AuthWatch(log);
    this.rdkafkaLog = new RdkafkaLogger(log);
    this.reports = new ClientReports({
      metrics: opts.metrics,
      tags: deps.tags,
      bound: deps.bound,
      auth: this.auth,
      rdkafkaLog: this.rdkafkaLog,
      health: () => (this.stateNow.kind === 'connected' ? this.stateNow.health : undefined),
      rebuild: (reason, err) => this.rebuild(reason, err),
      fatalNotConnected: (err) =>
        log.error({ event: 'kafka.fatal_not_connected' satisfies LogEvent, err }, 'kafka producer fatal error while not connected: replaced at its next produce'),
    });
    this.clientNow = this.newClient();
  }

  get state(): State {
    return this.stateNow;
  }

  get client(): ProducerClient {
    return this.clientNow;
  }

  /** What a call refused while not ready is answered with. */
  get refusalCode(): 'EG_ERR_KAFKA_AUTH' | 'EG_ERR_KAFKA_UNAVAILABLE' {
    return this.auth.failure ? 'EG_ERR_KAFKA_AUTH' : 'EG_ERR_KAFKA_UNAVAILABLE';
  }

  notReadyReason(): string | undefined {
    return notReadyReasonOf(this.d.kind, this.stateNow, this.auth.failure?.detail);
  }

  /** A call began: a connected client polls at the busy pace. */
  wake(): void {
    if (this.stateNow.kind === 'connected') this.stateNow.poll.wake();
  }

  /** The one guard of every callback that could outlive the producer. */
  private get closed(): boolean {
    return this.stateNow.kind === 'closed';
  }

  /**
   * A client on the producer's settings, what it reports wired (reports.ts).
   * A client whose connection attempt failed is not retired: what librdkafka
   * says of that attempt (a refused password) may come after its callback,
   * and still holds.
   */
  private newClient(): ProducerClient {
    const client = this.makeClient(this.d.opts.props);
    this.reports.wire(client, () => !this.retired.has(client));
    return client;
  }

  /**
   * Connects, retrying until it succeeds or the producer is closed. Resolves
   * once connected; rejects with EG_ERR_KAFKA_CONNECT after `timeoutMs`,
   * while attempts go on (notReadyReason() says why it is not ready meanwhile).
   */
  start(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new EventGateError('EG_ERR_KAFKA_CONNECT', `${this.d.kind} producer is closed`));
    if (this.stateNow.kind === 'new') this.connect();
    if (this.stateNow.kind === 'connected') return Promise.resolve();
    return this.ready.wait(timeoutMs, () => {
      const error = this.stateNow.kind === 'connecting' ? this.stateNow.error : undefined;
      return new EventGateError('EG_ERR_KAFKA_CONNECT', `${this.d.kind} producer did not connect within ${timeoutMs} ms${error ? `: ${error}` : ''}`);
    });
  }

  /**
   * Flushes for up to kafka.flush_timeout_ms (not at all while every broker
   * is known to be down), fails what is still unacknowledged
   * (EG_ERR_KAFKA_CLOSED), disconnects. Idempotent; closed from the call on.
   */
  close(): Promise<void> {
    if (this.stateNow.kind === 'closed') return this.stateNow.done;
    const was = this.stateNow;
    // Closed from here on, before the first await: every callback sees it.
    const done = Promise.resolve().then(() => this.shutdown(was));
    this.stateNow = { kind: 'closed', done };
    return done;
  }

  private async shutdown(was: Exclude<State, { kind: 'closed' }>): Promise<void> {
    const { calls, log, kind, opts } = this.d;
    if (was.kind === 'connecting') clearTimeout(was.retry);
    if (was.kind === 'connected') was.health.stop();
    this.ready.settle(new EventGateError('EG_ERR_KAFKA_CONNECT', `${kind} producer was closed before it connected`));
    // A client that failed fatally gives its events their fate first: flushing the new one does not.
    while (this.retiring.size) await Promise.all(this.retiring);
    if (was.kind === 'connected' && calls.size) {
      if (was.health.downConfirmed) log.warn({ event: 'kafka.close_without_flush' satisfies LogEvent, batches: calls.size }, 'kafka brokers are down: closing without a flush');
      else if (await flushWithin(this.clientNow, opts.flushTimeoutMs)) await calls.drained(this.timings.reportGraceMs);
      else log.warn({ event: 'kafka.flush_incomplete' satisfies LogEvent, batches: calls.size }, 'kafka producer did not flush before close');
    }
    for (const delivery of calls.list()) {
      delivery.fill(failure('EG_ERR_KAFKA_CLOSED', `${kind} producer closed before the event was acknowledged`));
    }
    await this.d.settler.idle();
    if (was.kind === 'connected') was.poll.stop();
    await disconnectWithin(this.clientNow, this.timings.disconnectTimeoutMs);
    this.rdkafkaLog.flush();
    log.info({ event: 'kafka.closed' satisfies LogEvent }, 'kafka producer closed');
  }

  private connect(): void {
    if (this.closed) return;
    const was = this.stateNow.kind === 'connecting' ? this.stateNow : undefined;
    this.stateNow = { kind: 'connecting', error: was?.error, rebuilding: was?.rebuilding };
    const client = this.clientNow;
    const { opts, log, tags } = this.d;
    client.connect({ timeout: opts.connectTimeoutMs }, (err) => {
      if (this.closed) {
        if (!err) void disconnectWithin(client, this.timings.disconnectTimeoutMs);
        return;
      }
      if (err) {
        this.rdkafkaLog.connectFailed(err);
        opts.metrics.increment('kafka.connect.failed', 1, tags);
        // node-rdkafka wires its event callbacks again at each connect() of a
        // client, so that each retry on one client would deliver every event
        // once more: after an hour-long outage, each log line hundreds of times.
        // The next attempt gets a new client (node-rdkafka has disconnected the failed one, or is doing so).
        void disconnectWithin(client, this.timings.disconnectTimeoutMs);
        this.clientNow = this.newClient();
        const retry = setTimeout(() => this.connect(), this.connectBackoff.next());
        retry.unref();
        const rebuilding = this.stateNow.kind === 'connecting' ? this.stateNow.rebuilding : undefined;
        this.stateNow = { kind: 'connecting', error: err.message, retry, rebuilding };
        return;
      }
      const calls = this.d.calls;
      const poll = new Poller(() => pollClient(client), () => calls.size > 0, opts.pollIntervalMs, this.timings.idlePollMs);
      const rebuilt = this.stateNow.kind === 'connecting' && this.stateNow.rebuilding !== undefined;
      const health = new BrokerHealth({
        log,
        statsEnabled: this.statsEnabled,
        probeBackoff: this.probeBackoff,
        metadata: (done) => {
          client.getMetadata({ timeout: opts.connectTimeoutMs }, done);
        },
        answered: () => this.auth.clear(),
        closed: () => this.closed,
      });
      this.stateNow = { kind: 'connected', poll, health };
      this.auth.clear();
      this.rdkafkaLog.connected();
      if (rebuilt) log.info({ event: 'kafka.rebuilt' satisfies LogEvent, rebuilt }, 'kafka producer rebuilt and connected');
      else log.info({ event: 'kafka.connected' satisfies LogEvent, rebuilt }, 'kafka producer connected');
      this.ready.settle();
    });
  }

  /**
   * librdkafka reported a fatal error: this client takes no more events.
   * A new client replaces it (at once, then backing off if it keeps
   * failing); meanwhile calls are refused (and spooled). The old client's
   * events get their fate: librdkafka failed the queued ones itself, those
   * in flight get the broker's answer within kafka.flush_timeout_ms, and
   * whatever is left then is failed and spooled. False when it was not
   * connected (already being replaced, or closing).
   */
  rebuild(reason: string, err?: unknown): boolean {
    const state = this.stateNow;
    if (state.kind !== 'connected') return false;
    const { log, opts, tags, calls } = this.d;
    log.error({ event: 'kafka.fatal' satisfies LogEvent, err, reason }, 'kafka producer fatal error: replacing the client');
    opts.metrics.increment('kafka.producer.rebuilt', 1, tags);
    const old = this.clientNow;
    this.retired.add(old);
    const held = calls.list();
    // The settings were accepted by the first client: a second one on them is accepted too.
    this.clientNow = this.newClient();
    const retry = setTimeout(() => this.connect(), this.rebuildBackoff.next());
    retry.unref();
    this.stateNow = { kind: 'connecting', rebuilding: reason, retry };
    state.health.stop();
    const work = this.retire(old, state.poll, held).catch((e: unknown) =>
      log.error({ event: 'kafka.retire_failed' satisfies LogEvent, err: e }, 'kafka producer: retiring a failed client failed'),
    );
    this.retiring.add(work);
    void work.finally(() => this.retiring.delete(work));
    return true;
  }

  private async retire(client: ProducerClient, poll: Poller, held: readonly Delivery[]): Promise<void> {
    const { calls, kind, opts, log } = this.d;
    const fated = (): boolean => held.every((d) => d.done);
    if (!fated() && (await flushWithin(client, opts.flushTimeoutMs))) await calls.until(fated, this.timings.reportGraceMs);
    const unacknowledged = held.filter((d) => !d.done).length;
    for (const delivery of held) {
      delivery.fill(failure('EG_ERR_KAFKA_FATAL', `${kind} producer failed (fatal error) before Kafka acknowledged the event`));
    }
    poll.stop();
    await disconnectWithin(client, this.timings.disconnectTimeoutMs);
    log.info({ event: 'kafka.retired' satisfies LogEvent, batches: held.length, unacknowledged }, 'kafka producer: the failed client is retired');
  }
}
