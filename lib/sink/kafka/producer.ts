/**
 * A Sink on one node-rdkafka Producer. Each produce() call waits for the
 * delivery report of every event (so an ok outcome means Kafka acknowledged
 * it), bounded by kafka.produce_timeout_ms; what Kafka did not take goes to
 * the failed-events spool, once librdkafka says so (delivery.ts). While
 * librdkafka knows every broker to be down, calls are refused at once.
 * After a fatal librdkafka error the client is replaced by a new one (the
 * old one's events get their fate first). guaranteed.ts and hasty.ts differ
 * only in settings.
 */
import * as Kafka from 'node-rdkafka';
import { EventGateError, messageOf } from '../../errors';
import type { Logger } from '../../log';
import type { Metrics, Tags } from '../../metrics/metrics';
import { Backoff } from '../../backoff';
import { bytesOf, PRODUCED, type Admission, type OutboundEvent, type ProduceContext, type ProduceOutcome, type Sink } from '../sink';
import type { Spool } from '../spool';
import type { KafkaConf } from '../../config/schema';
import { pollIntervalOf, sinkProps, type ProducerName, type ProducerProps, type PropDefault } from './config';
import { disconnectWithin, flushWithin, producerClient } from './client';
import { Delivery, deliveryFailure, failure, produceFailure, type Failure, type Pending } from './delivery';
import { AuthWatch } from './auth';
import { errorKind, RdkafkaLogger, recordStats, type RdkafkaLog } from './observe';
import { Poller } from './poller';
import { Settler } from './settle';
import { PendingBound } from './bound';
import { headerMaker, type HeaderMaker, type MessageHeaderName } from './headers';

/** Waits between failed connection attempts (each bounded by connect_timeout_ms): doubling from the first to the last. */
const CONNECT_RETRY_MS = [500, 4000] as const;
/** Waits between metadata probes while all brokers are down. */
const PROBE_RETRY_MS = [250, 2000] as const;
/** After a complete flush, how long delivery reports may take to reach JS. */
const REPORT_GRACE_MS = 1000;
/** Statistics documents in a row with no broker connection up that confirm "all brokers are down". */
const DOWN_STATS_TO_CONFIRM = 2;
/** How often a producer with no delivery awaited polls (logs, errors, statistics). */
const IDLE_POLL_MS = 100;
/** Bound on librdkafka's own teardown at close. */
const DISCONNECT_TIMEOUT_MS = 3000;
/**
 * Waits before rebuilding a producer after a fatal error: at once for the
 * first of a streak, then doubling from the first to the last, so that a
 * fatal error that comes back at once (a setting, a broker) is no busy loop.
 */
const REBUILD_RETRY_MS = [1000, 60000] as const;

export interface KafkaSinkDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Where events go that passed validation but Kafka did not take. */
  readonly spool?: Spool;
  /** Start of the default client.id: services[0].conf.user_agent (config.ts DEFAULT_CLIENT_NAME without it). */
  readonly clientName?: string;
}

export interface KafkaSinkOptions extends KafkaSinkDeps {
  readonly name: ProducerName;
  /** librdkafka settings, defaults applied (config.ts). */
  readonly props: ProducerProps;
  readonly produceTimeoutMs: number;
  readonly flushTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly pollIntervalMs: number;
  /** Bounds on what calls not yet ended hold: events, and bytes of their values. */
  readonly maxPendingEvents: number;
  readonly maxPendingBytes: number;
  /** The Kafka headers on every message (kafka.message_headers). */
  readonly messageHeaders: readonly MessageHeaderName[];
}

type Waiter = (err?: Error) => void;

/** How a connected producer's brokers are doing (fields change as librdkafka reports). */
interface Health {
  /** Set from librdkafka's "all brokers are down" until a leader connection is up again. */
  brokersDown?: string;
  /**
   * Set once librdkafka's broker states, after brokersDown was set, showed no
   * connection up at all twice in a row (a second apart by default), or a
   * metadata probe failed: calls are refused at once (no broker could take
   * them) rather than waiting for produce_timeout_ms. Twice, so that the
   * moment a broker closes an idle connection and librdkafka reconnects does
   * not refuse anything.
   */
  downConfirmed?: boolean;
  /** Statistics documents with no connection up since brokersDown was set. */
  downStats?: number;
  /** A metadata probe in flight, or the timer of the next one. */
  probe?: 'running' | NodeJS.Timeout;
}

/**
 * The producer's lifecycle, one value (as WorkerRecord's state): new, then
 * connecting (retrying with back-off), connected (polling), and closed from
 * any of them. Every change is an assignment to `state`.
 */
type State =
  | { readonly kind: 'new' }
  | {
      readonly kind: 'connecting';
      readonly error?: string;
      readonly retry?: NodeJS.Timeout;
      /** Set while a client that failed fatally is being replaced: librdkafka's reason. */
      readonly rebuilding?: string;
    }
  | { readonly kind: 'connected'; readonly poll: Poller; readonly health: Health }
  | { readonly kind: 'closed'; readonly done: Promise<void> };

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
  /** Calls whose events do not all have their fate yet (answered or not). */
  private readonly inflight = new Set<Delivery>();
  /** What the calls in `inflight` hold, bounded; hasty requests wait in it for room. */
  private readonly bound: PendingBound;
  /** Whether the last call was refused for the bound: logged once per stretch. */
  private refusingFull = false;
  /** Whether librdkafka sends statistics (broker states); without them a metadata probe is the sign of brokers back. */
  private readonly statsEnabled: boolean;
  private readonly settler: Settler;
  private readonly readyWaiters = new Set<Waiter>();
  /** Called each time a call's events all have their fate. */
  private readonly endWaiters = new Set<() => void>();
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
  private get closed(): boolean {
    return this.state.kind === 'closed';
  }

  /**
   * Connects, retrying until it succeeds or the sink is closed. Resolves once
   * connected; rejects with EG_ERR_KAFKA_CONNECT after `timeoutMs`, while
   * attempts go on (notReadyReason() says why it is not ready meanwhile).
   */
  start(timeoutMs = this.opts.connectTimeoutMs): Promise<void> {
    if (this.closed) return Promise.reject(new EventGateError('EG_ERR_KAFKA_CONNECT', `${this.kind} producer is closed`));
    if (this.state.kind === 'new') this.connect();
    if (this.state.kind === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = (err) => {
        clearTimeout(timer);
        this.readyWaiters.delete(waiter);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => {
        const error = this.state.kind === 'connecting' ? this.state.error : undefined;
        waiter(new EventGateError('EG_ERR_KAFKA_CONNECT', `${this.kind} producer did not connect within ${timeoutMs} ms${error ? `: ${error}` : ''}`));
      }, timeoutMs);
      this.readyWaiters.add(waiter);
    });
  }

  produce(events: readonly OutboundEvent[], ctx: ProduceContext): Promise<ProduceOutcome[]> {
    if (events.length === 0) return Promise.resolve([]);
    const state = this.state;
    if (state.kind === 'closed') return this.refuse(events, ctx, failure('EG_ERR_KAFKA_CLOSED', `${this.kind} producer is closed`));
    if (state.kind !== 'connected' || state.health.downConfirmed) {
      const code = this.auth.failure ? 'EG_ERR_KAFKA_AUTH' : 'EG_ERR_KAFKA_UNAVAILABLE';
      return this.refuse(events, ctx, failure(code, this.notReadyReason() ?? `${this.kind} producer is not connected`));
    }
    const bytes = bytesHeld(events);
    const full = this.bound.take(events.length, bytes, ctx.admission);
    this.noteFull(full !== undefined);
    if (full) return this.refuse(events, ctx, failure('EG_ERR_KAFKA_QUEUE_FULL', `${this.kind} producer ${full}`));
    const headers = this.headersOf(ctx.requestId);
    const client = this.client;
    return new Promise((resolve) => {
      const delivery = this.track(events, ctx, resolve, bytes);
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
    const state = this.state;
    const refused = this.auth.failure;
    if (refused && state.kind !== 'closed' && state.kind !== 'new') return `${this.kind} producer refused by Kafka (EG_ERR_KAFKA_AUTH): ${refused.detail}`;
    switch (state.kind) {
      case 'closed':
        return `${this.kind} producer is closed`;
      case 'new':
        return `${this.kind} producer is connecting`;
      case 'connecting':
        if (state.rebuilding !== undefined) return `${this.kind} producer is being rebuilt after a fatal error: ${state.rebuilding}`;
        return state.error ? `${this.kind} producer cannot connect: ${state.error}` : `${this.kind} producer is connecting`;
      case 'connected':
        if (state.health.brokersDown !== undefined) return `${this.kind} producer: ${state.health.brokersDown}`;
        return undefined;
    }
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
    if (was.kind === 'connected' && typeof was.health.probe === 'object') clearTimeout(was.health.probe);
    for (const waiter of [...this.readyWaiters]) {
      waiter(new EventGateError('EG_ERR_KAFKA_CONNECT', `${this.kind} producer was closed before it connected`));
    }
    // A client that failed fatally gives its events their fate first: flushing the new one does not.
    while (this.retiring.size) await Promise.all(this.retiring);
    if (was.kind === 'connected' && this.inflight.size) {
      if (was.health.downConfirmed) this.log.warn({ batches: this.inflight.size }, 'kafka brokers are down: closing without a flush');
      else if (await flushWithin(this.client, this.opts.flushTimeoutMs)) await this.drained(REPORT_GRACE_MS);
      else this.log.warn({ batches: this.inflight.size }, 'kafka producer did not flush before close');
    }
    for (const delivery of [...this.inflight]) {
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
      const poll = new Poller(() => pollClient(client), () => this.inflight.size > 0, this.opts.pollIntervalMs, IDLE_POLL_MS);
      const rebuilt = this.state.kind === 'connecting' && this.state.rebuilding !== undefined;
      this.state = { kind: 'connected', poll, health: {} };
      this.auth.clear();
      this.rdkafkaLog.connected();
      this.log.info({ rebuilt }, rebuilt ? 'kafka producer rebuilt and connected' : 'kafka producer connected');
      for (const waiter of [...this.readyWaiters]) waiter();
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
    const held = [...this.inflight];
    // The settings were accepted by the first client: a second one on them is accepted too.
    this.client = this.newClient();
    const retry = setTimeout(() => this.connect(), this.rebuildBackoff.next());
    retry.unref();
    this.state = { kind: 'connecting', rebuilding: reason, retry };
    if (typeof state.health.probe === 'object') clearTimeout(state.health.probe);
    const work = this.retire(old, state.poll, held).catch((e: unknown) => this.log.error({ err: e }, 'kafka producer: retiring a failed client failed'));
    this.retiring.add(work);
    void work.finally(() => this.retiring.delete(work));
    return true;
  }

  private async retire(client: Kafka.Producer, poll: Poller, held: readonly Delivery[]): Promise<void> {
    const fated = (): boolean => held.every((d) => d.done);
    if (!fated() && (await flushWithin(client, this.opts.flushTimeoutMs))) await this.until(fated, REPORT_GRACE_MS);
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
    const health = this.state.kind === 'connected' ? this.state.health : undefined;
    if (kind === 'fatal') {
      // Unrecoverable for this client instance (e.g. an idempotence sequence error).
      if (!this.rebuild(err.message, err)) this.log.error({ err }, 'kafka producer fatal error while not connected: replaced at its next produce');
      return;
    }
    if (kind === 'all_brokers_down') {
      if (health && health.brokersDown === undefined) {
        this.log.error({ err }, 'all kafka brokers are down');
        health.brokersDown = 'all brokers are down';
      }
      this.probeBrokers();
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
    if (this.state.kind !== 'connected' || this.state.health.brokersDown === undefined) return;
    const health = this.state.health;
    health.downStats = brokers.anyUp ? 0 : (health.downStats ?? 0) + 1;
    if (health.downStats >= DOWN_STATS_TO_CONFIRM) this.confirmDown();
  }

  /** librdkafka's broker states agree that nothing is reachable: refuse calls at once from now on. */
  private confirmDown(): void {
    if (this.state.kind !== 'connected') return;
    const health = this.state.health;
    if (health.brokersDown === undefined || health.downConfirmed) return;
    health.downConfirmed = true;
    health.brokersDown = 'all brokers are down; no broker connection is up';
    this.log.warn('no kafka broker connection is up: refusing events at once until one is');
  }

  /** A partition leader is reachable again: `via` says what showed it (logged, so that an outage's end can be traced). */
  private markUp(via: 'delivery' | 'stats' | 'probe'): void {
    this.auth.clear();
    if (this.state.kind !== 'connected' || this.state.health.brokersDown === undefined) return;
    this.state.health.brokersDown = undefined;
    this.state.health.downConfirmed = undefined;
    this.state.health.downStats = undefined;
    this.log.info({ via }, 'kafka brokers reachable again');
  }

  /**
   * While brokers are down, asks for metadata (which needs a live broker):
   * a connection attempt even with no traffic. Its answer can come over the
   * bootstrap connection while the partition leaders' are still down, so
   * only without statistics does it count as the brokers being back.
   */
  private probeBrokers(): void {
    if (this.state.kind !== 'connected' || this.state.health.probe !== undefined) return;
    const health = this.state.health;
    health.probe = 'running';
    this.client.getMetadata({ timeout: this.opts.connectTimeoutMs }, (err) => {
      health.probe = undefined;
      if (this.closed || health.brokersDown === undefined) return;
      if (!err) {
        if (!this.statsEnabled) this.markUp('probe');
        return;
      }
      this.confirmDown();
      const next = setTimeout(() => {
        health.probe = undefined;
        this.probeBrokers();
      }, this.probeBackoff.next());
      next.unref();
      health.probe = next;
    });
  }

  /** Logs the start and the end of a stretch of calls refused for the bound, not each call. */
  private noteFull(full: boolean): void {
    if (full === this.refusingFull) return;
    this.refusingFull = full;
    const held = { pending_events: this.bound.pendingEvents, pending_bytes: this.bound.pendingBytes };
    if (full) {
      this.opts.metrics.increment('kafka.producer.full', 1, this.tags);
      this.log.warn(
        { ...held, max_pending_events: this.opts.maxPendingEvents, max_pending_bytes: this.opts.maxPendingBytes },
        'kafka producer holds its most events awaiting delivery reports: refusing events until reports come',
      );
    } else this.log.info(held, 'kafka producer takes events again');
  }

  /** Every event gets `outcome` at once (and is spooled). */
  private refuse(events: readonly OutboundEvent[], ctx: ProduceContext, outcome: Failure): Promise<ProduceOutcome[]> {
    return new Promise((resolve) => this.track(events, ctx, resolve).fill(outcome));
  }

  /** A new call's bookkeeping, in `inflight` until every event has its fate; `bytes`: the room it took in the bound (none for a refusal). */
  private track(events: readonly OutboundEvent[], ctx: ProduceContext, resolve: (outcomes: Promise<ProduceOutcome[]>) => void, bytes?: number): Delivery {
    const delivery = new Delivery(events.length, {
      answer: (d, outcomes, fated) => resolve(this.settler.answer(d, outcomes, fated, events, ctx)),
      late: (_d, index, outcome) => this.settler.settleLate(events[index], outcome),
      end: (d) => {
        if (!this.inflight.delete(d)) return;
        if (bytes !== undefined) this.bound.done(events.length, bytes);
        for (const waiter of [...this.endWaiters]) waiter();
      },
    });
    this.inflight.add(delivery);
    if (this.state.kind === 'connected') this.state.poll.wake();
    return delivery;
  }

  /** Resolves when no call waits for delivery reports, or after `ms`. */
  private drained(ms: number): Promise<void> {
    return this.until(() => this.inflight.size === 0, ms);
  }

  /** Resolves once `done()` holds (checked as calls end), or after `ms`. */
  private until(done: () => boolean, ms: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.endWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.endWaiters.delete(check);
        resolve();
      }, ms);
      this.endWaiters.add(check);
    });
  }
}

/** Bytes of the events' values (a string counts a byte per character: a bound on memory, not an encoding). */
function bytesHeld(events: readonly OutboundEvent[]): number {
  let n = 0;
  for (let i = 0; i < events.length; i++) n += events[i].value.length;
  return n;
}

/** librdkafka's FATAL log line without its thread prefix. */
function fatalReason(line: string): string {
  return line.replace(/^\[thrd:[^\]]*\]:\s*/, '');
}

function pollClient(client: Kafka.Producer): void {
  try {
    client.poll();
  } catch {
    // Not connected any more: whoever disconnected it stops this timer.
  }
}

/** The options of producer `name` from the `kafka` config section. */
export function sinkOptions(kafka: KafkaConf, name: ProducerName, defaults: readonly PropDefault[], deps: KafkaSinkDeps): KafkaSinkOptions {
  return {
    ...deps,
    name,
    props: sinkProps(kafka, name, defaults, deps.clientName),
    produceTimeoutMs: kafka.produce_timeout_ms,
    flushTimeoutMs: kafka.flush_timeout_ms,
    connectTimeoutMs: kafka.connect_timeout_ms,
    pollIntervalMs: pollIntervalOf(kafka, name),
    maxPendingEvents: kafka.max_pending_events,
    maxPendingBytes: kafka.max_pending_bytes,
    messageHeaders: kafka.message_headers,
  };
}
