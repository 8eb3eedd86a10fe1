/**
 * How a connected producer's brokers are doing, as librdkafka reports it: one
 * object per connected client (lifecycle.ts makes a new one at each connect).
 * "All brokers are down" from librdkafka sets it down; it is confirmed (calls
 * are then refused at once rather than waiting for produce_timeout_ms) once
 * the broker states show no connection up twice in a row, or a metadata
 * probe fails. Twice, so that a broker closing an idle connection while
 * librdkafka reconnects refuses nothing.
 */
import type { LogEvent } from '../../log-events';
import type { Logger } from '../../log';
import type { Backoff } from '../../backoff';

/** Statistics documents in a row with no broker connection up that confirm "all brokers are down". */
const DOWN_STATS_TO_CONFIRM = 2;

/**
 * The metadata probe: none, one in flight, or the timer of the next. It
 * outlives an outage: a probe asked during one may answer after the brokers
 * are back, or during the next outage, whose probe it then is.
 */
export type Probe = { readonly kind: 'none' } | { readonly kind: 'running' } | { readonly kind: 'waiting'; readonly timer: NodeJS.Timeout };

/** The brokers' state, one value; every change is an assignment to `state` in this class. */
export type BrokerState =
  | { readonly kind: 'up'; readonly probe: Probe }
  | {
      readonly kind: 'down';
      /** Why no broker can take events now. */
      readonly reason: string;
      /** When librdkafka said so (Date.now()). */
      readonly since: number;
      /** Statistics documents with no connection up since then, in a row. */
      readonly downStats: number;
      /** Calls are refused at once. */
      readonly confirmed: boolean;
      readonly probe: Probe;
    }
  | { readonly kind: 'stopped' };

const NO_PROBE: Probe = Object.freeze({ kind: 'none' });
const RUNNING: Probe = Object.freeze({ kind: 'running' });

export interface BrokerHealthDeps {
  readonly log: Logger;
  /** With statistics, only they (or a delivery) tell that a partition leader is back, not a probe's answer. */
  readonly statsEnabled: boolean;
  /** Waits between metadata probes while all brokers are down (shared by the producer's clients). */
  readonly probeBackoff: Backoff;
  /** Asks the client for metadata, which needs a live broker. */
  readonly metadata: (done: (err: unknown) => void) => void;
  /** A probe's answer showed the brokers back (without statistics): the producer clears an auth failure. */
  readonly answered: () => void;
  /** The producer is closed: probes stop. */
  readonly closed: () => boolean;
}

export class BrokerHealth {
  private state: BrokerState = { kind: 'up', probe: NO_PROBE };

  constructor(private readonly deps: BrokerHealthDeps) {}

  get current(): BrokerState {
    return this.state;
  }

  /** Why no broker can take events now, while librdkafka says so. */
  get brokersDown(): string | undefined {
    return this.state.kind === 'down' ? this.state.reason : undefined;
  }

  /** Down and confirmed: calls are refused at once. */
  get downConfirmed(): boolean {
    return this.state.kind === 'down' && this.state.confirmed;
  }

  /** librdkafka's "all brokers are down": logged once per outage; a probe starts. */
  allDown(err: unknown): void {
    if (this.state.kind === 'up') {
      this.deps.log.error({ event: 'kafka.brokers_down' satisfies LogEvent, err }, 'all kafka brokers are down');
      this.state = { kind: 'down', reason: 'all brokers are down', since: Date.now(), downStats: 0, confirmed: false, probe: this.state.probe };
    }
    this.startProbe();
  }

  /** A statistics document with no partition leader up; `anyUp`: some other connection (bootstrap) is. */
  noLeaderUp(anyUp: boolean): void {
    if (this.state.kind !== 'down') return;
    this.state = { ...this.state, downStats: anyUp ? 0 : this.state.downStats + 1 };
    if (this.state.downStats >= DOWN_STATS_TO_CONFIRM) this.confirmDown();
  }

  /** A partition leader is reachable again: `via` says what showed it (logged, so that an outage's end can be traced). */
  up(via: 'delivery' | 'stats' | 'probe'): void {
    if (this.state.kind !== 'down') return;
    const downMs = Date.now() - this.state.since;
    this.state = { kind: 'up', probe: this.state.probe };
    this.deps.log.info({ event: 'kafka.brokers_up' satisfies LogEvent, via, down_ms: downMs }, 'kafka brokers reachable again');
  }

  /** The client is being closed or replaced: no more probes. */
  stop(): void {
    if (this.state.kind !== 'stopped' && this.state.probe.kind === 'waiting') clearTimeout(this.state.probe.timer);
    this.state = { kind: 'stopped' };
  }

  /** librdkafka's broker states agree that nothing is reachable: refuse calls at once from now on. */
  private confirmDown(): void {
    if (this.state.kind !== 'down' || this.state.confirmed) return;
    this.state = { ...this.state, confirmed: true, reason: 'all brokers are down; no broker connection is up' };
    this.deps.log.warn({ event: 'kafka.brokers_down_confirmed' satisfies LogEvent }, 'no kafka broker connection is up: refusing events at once until one is');
  }

  private setProbe(probe: Probe): void {
    if (this.state.kind !== 'stopped') this.state = { ...this.state, probe };
  }

  /**
   * Asks for metadata: a connection attempt even with no traffic. Its answer
   * can come over the bootstrap connection while the partition leaders' are
   * still down, so only without statistics does it count as the brokers
   * being back. A failed probe confirms the outage and is asked again after
   * a back-off.
   */
  private startProbe(): void {
    if (this.state.kind === 'stopped' || this.state.probe.kind !== 'none') return;
    this.setProbe(RUNNING);
    this.deps.metadata((err) => {
      this.setProbe(NO_PROBE);
      if (this.state.kind !== 'down' || this.deps.closed()) return;
      if (!err) {
        if (this.deps.statsEnabled) return;
        this.deps.answered();
        this.up('probe');
        return;
      }
      this.confirmDown();
      const timer = setTimeout(() => {
        this.setProbe(NO_PROBE);
        this.startProbe();
      }, this.deps.probeBackoff.next());
      timer.unref();
      this.setProbe({ kind: 'waiting', timer });
    });
  }
}
