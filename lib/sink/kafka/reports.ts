/**
 * What a producer's client reports to JS (delivery reports, log lines, error
 * events, statistics) and what each means for the producer: an event's
 * fate, a broker refusing it (auth.ts), brokers down or back (health.ts), a
 * fatal error (the lifecycle replaces the client), metrics and log lines
 * (observe.ts). A retired client's delivery reports still give its events
 * their fate; its other events only reach the log.
 */
import type { Metrics, Tags } from '../../metrics/metrics';
import { PRODUCED } from '../sink';
import type { AuthWatch } from './auth';
import type { PendingBound } from './bound';
import type { ClientError, ProducerClient } from './client';
import { deliveryFailure, type Pending } from './delivery';
import type { BrokerHealth } from './health';
import { errorKind, type RdkafkaLogger, recordStats } from './observe';
import { fatalReason } from './state';

export interface ClientReportsDeps {
  readonly metrics: Metrics;
  readonly tags: Tags;
  /** Read for the pending gauges at each statistics document. */
  readonly bound: PendingBound;
  readonly auth: AuthWatch;
  readonly rdkafkaLog: RdkafkaLogger;
  /** The connected client's broker health; undefined while not connected. */
  readonly health: () => BrokerHealth | undefined;
  /** A fatal error: replace the current client. False when none is connected (already being replaced, or closing). */
  readonly rebuild: (reason: string, err?: unknown) => boolean;
  /** A fatal error the producer could not act on now: it is replaced at its next produce. */
  readonly fatalNotConnected: (err: ClientError) => void;
}

export class ClientReports {
  constructor(private readonly d: ClientReportsDeps) {}

  /** Listens to `client`; `current()`: whether it is still the producer's client (not retired). */
  wire(client: ProducerClient, current: () => boolean): void {
    const { rdkafkaLog, auth } = this.d;
    client.on('delivery-report', (err, report) => this.onDeliveryReport(err, report.opaque as Pending | undefined, current()));
    client.on('event.log', (entry) => {
      rdkafkaLog.log(entry);
      if (!current()) return;
      auth.see(entry.message);
      // librdkafka's own line for a fatal error comes first, and is the one with its whole reason.
      if (entry.fac === 'FATAL') this.d.rebuild(fatalReason(entry.message));
    });
    client.on('event.error', (err) => (current() ? this.onError(err) : rdkafkaLog.error(err)));
    client.on('event.stats', (data) => {
      if (current()) this.onStats(data.message);
    });
  }

  private onDeliveryReport(err: ClientError | null | undefined, pending: Pending | undefined, current: boolean): void {
    if (!err && current) this.markUp('delivery');
    // A report after the call was answered is a late fate (settle.ts counts it, and spools a failure).
    pending?.delivery.settle(pending.index, err ? deliveryFailure(err) : PRODUCED);
  }

  private onError(err: ClientError): void {
    const { metrics, tags } = this.d;
    this.d.auth.see(err.message);
    const kind = errorKind(err);
    metrics.increment('kafka.errors', 1, { ...tags, kind });
    if (kind === 'fatal') {
      // Unrecoverable for this client instance (e.g. an idempotence sequence error).
      if (!this.d.rebuild(err.message, err)) this.d.fatalNotConnected(err);
      return;
    }
    if (kind === 'all_brokers_down') {
      this.d.health()?.allDown(err);
      return;
    }
    // The watch has logged it, once per cause.
    if (kind === 'auth') return;
    // librdkafka recovers from the others by itself (reconnects, retries).
    this.d.rdkafkaLog.error(err);
  }

  private onStats(json: string): void {
    const { metrics, tags, bound } = this.d;
    metrics.gauge('kafka.producer.pending_events', bound.pendingEvents, tags);
    metrics.gauge('kafka.producer.pending_bytes', bound.pendingBytes, tags);
    const brokers = recordStats(metrics, tags, json);
    if (!brokers) return;
    if (brokers.leaderUp) {
      this.markUp('stats');
      return;
    }
    this.d.health()?.noLeaderUp(brokers.anyUp);
  }

  /** A partition leader is reachable again (or a credential worked). */
  private markUp(via: 'delivery' | 'stats'): void {
    this.d.auth.clear();
    this.d.health()?.up(via);
  }
}
