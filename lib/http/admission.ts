/**
 * Admission of request bodies against the worker's memory budget
 * (lib/memory/budget.ts), before they are read: every body held (being
 * read, waiting for the pool, processed, its answer built) is counted as its
 * bytes x body_expansion from its admission to its answer's close. A body
 * whose declared length does not fit now is refused unread (503), one that
 * never could is 413; a body of unknown length (chunked, or encoded, whose
 * declared length is not what it inflates to) is counted as it arrives and
 * refused the same way when it overflows. Large bodies may not take the
 * small reserve, so that large batches never starve single events.
 */
import { EventGateError } from '../errors';
import type { MemoryBudget } from '../memory/budget';

/** One admitted body's hold on the budget. */
export interface Ticket {
  /** Counts `bytes` more of a body of unknown length; an error when they do not fit (the body is then refused). */
  grow(bytes: number): EventGateError | undefined;
  /** The body and all made from it are gone (the answer closed). Idempotent. */
  release(): void;
  /** True while the body's size is unknown, so that the reader calls grow(). */
  readonly growing: boolean;
}

export class BodyAdmission {
  private held = 0;
  private readonly largeCap: number;
  constructor(readonly budget: MemoryBudget) {
    this.largeCap = budget.bodyBytes - budget.smallReserve;
  }

  /** Bytes of the budget held now. */
  get inUse(): number {
    return this.held;
  }

  /**
   * Admits a body before a byte of it is read: `declared` is its length when
   * known (an unencoded body with Content-Length), undefined otherwise (then
   * grow() counts it as it comes). Throws the refusal.
   */
  admit(declared: number | undefined): Ticket {
    if (declared === undefined) return new Held(this, 0, true);
    const cost = this.costOf(declared);
    const refusal = this.refusal(declared, cost);
    if (refusal) throw refusal;
    this.held += cost;
    return new Held(this, cost, false);
  }

  costOf(bytes: number): number {
    return Math.ceil(bytes * this.budget.expansion);
  }

  /** Why a body of `bytes` (cost `cost`, besides what it holds already) cannot be taken now, if it cannot. */
  refusal(bytes: number, cost: number, holding = 0): EventGateError | undefined {
    const cap = bytes <= this.budget.smallBodySize ? this.budget.bodyBytes : this.largeCap;
    if (cost > cap) {
      return new EventGateError(
        'EG_ERR_BODY_OVER_BUDGET',
        `Request body (${bytes} bytes) needs more memory than a worker has for bodies (admission: ${this.budget.largestBody} bytes at most).`,
      );
    }
    if (this.held - holding + cost > cap) return new EventGateError('EG_ERR_MEMORY_BUSY');
    return undefined;
  }

  /** @internal Held moves its bytes. */
  move(delta: number): void {
    this.held += delta;
  }
}

class Held implements Ticket {
  private bytes = 0;
  private released = false;

  constructor(
    private readonly admission: BodyAdmission,
    private charged: number,
    readonly growing: boolean,
  ) {}

  grow(bytes: number): EventGateError | undefined {
    // A body still arriving after its answer closed (a client that went away) holds nothing.
    if (this.released) return undefined;
    this.bytes += bytes;
    const cost = this.admission.costOf(this.bytes);
    const refusal = this.admission.refusal(this.bytes, cost, this.charged);
    if (refusal) return refusal;
    this.admission.move(cost - this.charged);
    this.charged = cost;
    return undefined;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.admission.move(-this.charged);
    this.charged = 0;
  }
}
