/**
 * The calls of one Kafka producer whose events do not all have their fate
 * yet: each one's bookkeeping from produce() until its last delivery report,
 * the room it holds in the pending bound, and waits for them to end (a
 * flush at close, a retired client's events).
 */
import type { LogEvent } from '../../log-events';
import type { Logger } from '../../log';
import type { Metrics, Tags } from '../../metrics/metrics';
import type { OutboundEvent, ProduceContext, ProduceOutcome } from '../sink';
import type { PendingBound } from './bound';
import { Delivery, type Failure } from './delivery';
import type { Settler } from './settle';

export interface CallsDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly tags: Tags;
  readonly settler: Settler;
  readonly bound: PendingBound;
  readonly maxPendingEvents: number;
  readonly maxPendingBytes: number;
  /** A call began: the producer polls for its reports. */
  readonly wake: () => unknown;
}

export class Calls {
  private readonly inflight = new Set<Delivery>();
  /** Called each time a call's events all have their fate. */
  private readonly endWaiters = new Set<() => void>();
  /** Whether the last call was refused for the bound: logged once per stretch. */
  private refusingFull = false;

  constructor(private readonly o: CallsDeps) {}

  get size(): number {
    return this.inflight.size;
  }

  list(): Delivery[] {
    return [...this.inflight];
  }

  /** Logs the start and the end of a stretch of calls refused for the bound, not each call. */
  noteFull(full: boolean): void {
    if (full === this.refusingFull) return;
    this.refusingFull = full;
    const held = { pending_events: this.o.bound.pendingEvents, pending_bytes: this.o.bound.pendingBytes };
    if (full) {
      this.o.metrics.increment('kafka.producer.full', 1, this.o.tags);
      this.o.log.warn(
        { event: 'kafka.full' satisfies LogEvent, ...held, max_pending_events: this.o.maxPendingEvents, max_pending_bytes: this.o.maxPendingBytes },
        'kafka producer holds its most events awaiting delivery reports: refusing events until reports come',
      );
    } else this.o.log.info({ event: 'kafka.full_ended' satisfies LogEvent, ...held }, 'kafka producer takes events again');
  }

  /** Every event gets `outcome` at once (and is spooled). */
  refuse(events: readonly OutboundEvent[], ctx: ProduceContext, outcome: Failure): Promise<ProduceOutcome[]> {
    return new Promise((resolve) => this.track(events, ctx, resolve).fill(outcome));
  }

  /** A new call's bookkeeping, in `inflight` until every event has its fate; `bytes`: the room it took in the bound (none for a refusal). */
  track(events: readonly OutboundEvent[], ctx: ProduceContext, resolve: (outcomes: Promise<ProduceOutcome[]>) => void, bytes?: number): Delivery {
    const delivery = new Delivery(events.length, {
      answer: (d, outcomes, fated) => resolve(this.o.settler.answer(d, outcomes, fated, events, ctx)),
      late: (_d, index, outcome) => this.o.settler.settleLate(events[index], outcome),
      end: (d) => {
        if (!this.inflight.delete(d)) return;
        if (bytes !== undefined) this.o.bound.done(events.length, bytes);
        for (const waiter of [...this.endWaiters]) waiter();
      },
    });
    this.inflight.add(delivery);
    this.o.wake();
    return delivery;
  }

  /** Resolves when no call waits for delivery reports, or after `ms`. */
  drained(ms: number): Promise<void> {
    return this.until(() => this.inflight.size === 0, ms);
  }

  /** Resolves once `done()` holds (checked as calls end), or after `ms`. */
  until(done: () => boolean, ms: number): Promise<void> {
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
  }}

/** Bytes of the events' values (a string counts a byte per character: a bound on memory, not an encoding). */
export function bytesHeld(events: readonly OutboundEvent[]): number {
  let n = 0;
  for (let i = 0; i < events.length; i++) n += events[i].value.length;
  return n;
}

