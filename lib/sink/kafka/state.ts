/**
 * A Kafka producer's lifecycle states as lifecycle.ts runs them, its
 * timings, why it is not ready in each state, and the callers waiting for it
 * to connect.
 */
import type { BrokerHealth } from './health';
import type { Poller } from './poller';

/** A wait that doubles from the first to the last. */
export type Doubling = readonly [first: number, last: number];

/** How long a producer waits, and between what. */
export interface ProducerTimings {
  /** Between failed connection attempts (each bounded by connect_timeout_ms). */
  readonly connectRetryMs: Doubling;
  /** Between metadata probes while all brokers are down. */
  readonly probeRetryMs: Doubling;
  /**
   * Before rebuilding a producer after a fatal error: at once for the first
   * of a streak, then doubling, so that a fatal error that comes back at
   * once (a setting, a broker) is no busy loop.
   */
  readonly rebuildRetryMs: Doubling;
  /** After a complete flush, how long delivery reports may take to reach JS. */
  readonly reportGraceMs: number;
  /** How often a producer with no delivery awaited polls (logs, errors, statistics). */
  readonly idlePollMs: number;
  /** Bound on librdkafka's own teardown at close. */
  readonly disconnectTimeoutMs: number;
}

export const PRODUCER_TIMINGS: ProducerTimings = {
  connectRetryMs: [500, 4000],
  probeRetryMs: [250, 2000],
  rebuildRetryMs: [1000, 60000],
  reportGraceMs: 1000,
  idlePollMs: 100,
  disconnectTimeoutMs: 3000,
};

/**
 * The producer's lifecycle, one value (as WorkerRecord's state): new, then
 * connecting (retrying with back-off), connected (polling), and closed from
 * any of them. Every change is an assignment to `state`.
 */
export type State =
  | { readonly kind: 'new' }
  | {
      readonly kind: 'connecting';
      readonly error?: string;
      readonly retry?: NodeJS.Timeout;
      /** Set while a client that failed fatally is being replaced: librdkafka's reason. */
      readonly rebuilding?: string;
    }
  | { readonly kind: 'connected'; readonly poll: Poller; readonly health: BrokerHealth }
  | { readonly kind: 'closed'; readonly done: Promise<void> };

/** Why a producer in `state` takes no events, or undefined when it does; `refused`: why Kafka refused its credentials, if it did. */
export function notReadyReasonOf(kind: string, state: State, refused: string | undefined): string | undefined {
  if (refused !== undefined && state.kind !== 'closed' && state.kind !== 'new') return `${kind} producer refused by Kafka (EG_ERR_KAFKA_AUTH): ${refused}`;
  switch (state.kind) {
    case 'closed':
      return `${kind} producer is closed`;
    case 'new':
      return `${kind} producer is connecting`;
    case 'connecting':
      if (state.rebuilding !== undefined) return `${kind} producer is being rebuilt after a fatal error: ${state.rebuilding}`;
      return state.error ? `${kind} producer cannot connect: ${state.error}` : `${kind} producer is connecting`;
    case 'connected':
      if (state.health.brokersDown !== undefined) return `${kind} producer: ${state.health.brokersDown}`;
      return undefined;
  }
}

/** Callers of start() waiting for the connection, each until its own deadline. */
export class ReadyWaiters {
  private readonly waiters = new Set<(err?: Error) => void>();

  /** Resolves at settle(), or rejects with `late()` after `timeoutMs`. */
  wait(timeoutMs: number, late: () => Error): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter = (err?: Error): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(() => waiter(late()), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Connected (no error), or never will (the error). */
  settle(err?: Error): void {
    for (const waiter of [...this.waiters]) waiter(err);
  }
}

/** librdkafka's FATAL log line without its thread prefix. */
export function fatalReason(line: string): string {
  return line.replace(/^\[thrd:[^\]]*\]:\s*/, '');
}
