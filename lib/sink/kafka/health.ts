/**
 * How a connected producer's brokers are doing, as librdkafka reports it: one
 * object per connected client (producer.ts makes a new one at each connect).
 * "All brokers are down" from librdkafka sets it down; it is confirmed (calls
 * are then refused at once rather than waiting for produce_timeout_ms) once
 * the broker states show no connection up twice in a row, or a metadata
 * probe fails. Twice, so that a broker closing an idle connection while
 * librdkafka reconnects refuses nothing.
 */
import type { Logger } from '../../log';
import type { Backoff } from '../../backoff';

/** Statistics documents in a row with no broker connection up that confirm "all brokers are down". */
const DOWN_STATS_TO_CONFIRM = 2;

export interface BrokerHealthDeps {
  readonly log: Logger;
  /** With statistics, only they (or a delivery) tell that a partition leader is back, not a probe's answer. */
  readonly statsEnabled: boolean;
  /** Waits between metadata probes while all brokers are down (shared by the producer's clients). */
  readonly probeBackoff: Backoff;
  /** Asks the client for metadata, which needs a live broker. */
  readonly metadata: (done: (err: unknown) => void) => void;
  /** A probe's answer showed the brokers back (without statistics): producer.ts clears an auth failure. */
  readonly answered: () => void;
  /** The producer is closed: probes stop. */
  readonly closed: () => boolean;
}

export class BrokerHealth {
  /** Set from librdkafka's "all brokers are down" until a leader connection is up again: the reason. */
  private down: string | undefined;
  private confirmed = false;
  /** Statistics documents with no connection up since `down` was set. */
  private downStats = 0;
  /** A metadata probe in flight, or the timer of the next one. */
  private probe: 'running' | NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly deps: BrokerHealthDeps) {}

  /** Why no broker can take events now, while librdkafka says so. */
  get brokersDown(): string | undefined {
    return this.down;
  }

  /** Down and confirmed: calls are refused at once. */
  get downConfirmed(): boolean {
    return this.confirmed;
  }

  /** librdkafka's "all brokers are down": logged once per outage; a probe starts. */
  allDown(err: unknown): void {
    if (this.down === undefined) {
      this.deps.log.error({ err }, 'all kafka brokers are down');
      this.down = 'all brokers are down';
    }
    this.startProbe();
  }

  /** A statistics document with no partition leader up; `anyUp`: some other connection (bootstrap) is. */
  noLeaderUp(anyUp: boolean): void {
    if (this.down === undefined) return;
    this.downStats = anyUp ? 0 : this.downStats + 1;
    if (this.downStats >= DOWN_STATS_TO_CONFIRM) this.confirmDown();
  }

  /** A partition leader is reachable again: `via` says what showed it (logged, so that an outage's end can be traced). */
  up(via: 'delivery' | 'stats' | 'probe'): void {
    if (this.down === undefined) return;
    this.down = undefined;
    this.confirmed = false;
    this.downStats = 0;
    this.deps.log.info({ via }, 'kafka brokers reachable again');
  }

  /** The client is being closed or replaced: no more probes. */
  stop(): void {
    this.stopped = true;
    if (typeof this.probe === 'object') clearTimeout(this.probe);
    this.probe = undefined;
  }

  /** librdkafka's broker states agree that nothing is reachable: refuse calls at once from now on. */
  private confirmDown(): void {
    if (this.down === undefined || this.confirmed) return;
    this.confirmed = true;
    this.down = 'all brokers are down; no broker connection is up';
    this.deps.log.warn('no kafka broker connection is up: refusing events at once until one is');
  }

  /**
   * While brokers are down, asks for metadata: a connection attempt even with
   * no traffic. Its answer can come over the bootstrap connection while the
   * partition leaders' are still down, so only without statistics does it
   * count as the brokers being back.
   */
  private startProbe(): void {
    if (this.stopped || this.probe !== undefined) return;
    this.probe = 'running';
    this.deps.metadata((err) => {
      this.probe = undefined;
      if (this.stopped || this.deps.closed() || this.down === undefined) return;
      if (!err) {
        if (this.deps.statsEnabled) return;
        this.deps.answered();
        this.up('probe');
        return;
      }
      this.confirmDown();
      const next = setTimeout(() => {
        this.probe = undefined;
        this.startProbe();
      }, this.deps.probeBackoff.next());
      next.unref();
      this.probe = next;
    });
  }
}
