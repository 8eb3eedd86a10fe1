import { performance } from 'node:perf_hooks';

/** A pending deadline; the links keep the list in arming order. */
export interface Deadline {
  readonly at: number;
  readonly expire: () => void;
  prev: Deadline | undefined;
  next: Deadline | undefined;
  armed: boolean;
}

/**
 * Deadlines of one length (a body read's 408), kept in arming order and
 * checked by one timer. A timer per request costs more than it seems: when
 * requests do not overlap, node builds and tears down a timer list for each
 * one (~0.25 µs, bench/), and a Set of pending reads costs hashing on every
 * add and delete. Here arming and cancelling relink two neighbours. A
 * deadline fires up to `tickMs` late; the timer runs only while deadlines
 * are pending and never holds the process open.
 */
export class Deadlines {
  private head: Deadline | undefined;
  private tail: Deadline | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly tickMs: number;

  constructor(private readonly ms: number) {
    this.tickMs = Math.max(5, Math.min(1000, Math.round(ms / 10)));
  }

  /** `expire` runs once, `ms` to `ms` + a tenth of it from now, unless cancelled first. */
  arm(expire: () => void): Deadline {
    const d: Deadline = { at: performance.now() + this.ms, expire, prev: this.tail, next: undefined, armed: true };
    if (this.tail) this.tail.next = d;
    else this.head = d;
    this.tail = d;
    this.timer ??= setInterval(() => this.sweep(), this.tickMs).unref();
    return d;
  }

  cancel(d: Deadline): void {
    if (!d.armed) return;
    d.armed = false;
    if (d.prev) d.prev.next = d.next;
    else this.head = d.next;
    if (d.next) d.next.prev = d.prev;
    else this.tail = d.prev;
    d.prev = d.next = undefined;
  }

  private sweep(): void {
    const now = performance.now();
    // All deadlines have one length: the list is in expiry order.
    while (this.head && this.head.at <= now) {
      const d = this.head;
      this.cancel(d);
      d.expire();
    }
    if (!this.head) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
