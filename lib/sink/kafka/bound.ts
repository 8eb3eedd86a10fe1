/**
 * The bound on what a producer holds awaiting Kafka's delivery reports
 * (kafka.max_pending_events, kafka.max_pending_bytes). node-rdkafka hands JS
 * at most 100 reports per event-loop turn: hasty clients, told 202 at once,
 * can send events faster than their reports come back, and each event
 * awaiting one is held in memory.
 *
 * Two ways in. A produce call takes room or is refused (`take`). A hasty
 * request asks before its 202 (`admit`): it gets room now, or waits for it
 * in turn (first come, first served) as reports free it, so that sustained
 * hasty load is held to the rate reports come back rather than refused; the
 * room it was given is reserved until its produce call takes it.
 */
import type { Admission } from '../sink';

interface Waiter {
  readonly events: number;
  readonly grant: (admission: Admission | undefined) => void;
  readonly timer: NodeJS.Timeout;
}

class Reservation implements Admission {
  private held = true;

  constructor(
    readonly bound: PendingBound,
    readonly events: number,
  ) {}

  /** Gives the room back (its call did not come, or is done); once. */
  release(): void {
    if (this.end()) this.bound.unreserve(this.events, true);
  }

  /** Its call takes the room: it stays held, as the call's. */
  consume(): boolean {
    if (!this.end()) return false;
    this.bound.unreserve(this.events, false);
    return true;
  }

  private end(): boolean {
    const was = this.held;
    this.held = false;
    return was;
  }
}

export class PendingBound {
  /** What calls not yet ended hold. */
  private events = 0;
  private bytes = 0;
  /** Room given to hasty requests whose produce call has not come yet. */
  private reserved = 0;
  private readonly waiters: Waiter[] = [];
  /** Events of the requests in `waiters`: each holds its events in memory while it waits. */
  private waiting = 0;
  private closed = false;

  constructor(
    readonly maxEvents: number,
    readonly maxBytes: number,
  ) {}

  get pendingEvents(): number {
    return this.events;
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  /**
   * A produce call of `events` events and `bytes` bytes: undefined when it
   * takes the room (given back by `done`), else why it is refused. A call
   * admitted before takes its reservation without a check.
   */
  take(events: number, bytes: number, admission: Admission | undefined): string | undefined {
    const admitted = admission instanceof Reservation && admission.bound === this && admission.consume();
    // Not ahead of those waiting: a call that fits goes (error events, guaranteed requests), one that does not is refused.
    if (!admitted && !this.fits(events, bytes)) return this.reason();
    this.events += events;
    this.bytes += bytes;
    return undefined;
  }

  /** A call that took room ended (every event has its fate): its room goes to those waiting. */
  done(events: number, bytes: number): void {
    this.events -= events;
    this.bytes -= bytes;
    this.grant();
  }

  /**
   * Room for a call of `events` events to come: an Admission now when there
   * is room and nobody waits, else a promise of one once reports free enough
   * (first come, first served), or of undefined after `waitMs` or at close.
   * The line is bounded too, by as many events as the bound: a request that
   * would pass it gets undefined at once.
   */
  admit(events: number, waitMs: number): Admission | Promise<Admission | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    if (this.waiters.length === 0 && this.fits(events, 0)) return this.reserve(events);
    if (this.waiters.length > 0 && this.waiting + events > this.maxEvents) return Promise.resolve(undefined);
    this.waiting += events;
    return new Promise((resolve) => {
      const waiter: Waiter = {
        events,
        grant: resolve,
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          this.waiting -= events;
          resolve(undefined);
          // The head may have been what held the others back.
          this.grant();
        }, waitMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Why there is no room now (for a log line and the events' error message). */
  reason(): string {
    return (
      `holds ${this.events} events (${this.bytes} bytes) awaiting Kafka's delivery reports` +
      `${this.reserved ? ` and ${this.reserved} more admitted` : ''}; its limit is ${this.maxEvents} events, ${this.maxBytes} bytes`
    );
  }

  /** Nobody waits any more: each waiter gets undefined. */
  close(): void {
    this.closed = true;
    this.waiting = 0;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.grant(undefined);
    }
  }

  /** By Reservation: `events` are no longer reserved; `free`: nor held, so those waiting may have them. */
  unreserve(events: number, free: boolean): void {
    this.reserved -= events;
    if (free) this.grant();
  }

  /** With nothing held, any one call fits, however large: it could never go otherwise. */
  private fits(events: number, bytes: number): boolean {
    const held = this.events + this.reserved;
    if (held === 0) return true;
    return held + events <= this.maxEvents && this.bytes + bytes <= this.maxBytes && this.bytes < this.maxBytes;
  }

  private reserve(events: number): Reservation {
    this.reserved += events;
    return new Reservation(this, events);
  }

  private grant(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0].events, 0)) {
      const w = this.waiters.shift() as Waiter;
      this.waiting -= w.events;
      clearTimeout(w.timer);
      w.grant(this.reserve(w.events));
    }
  }
}
