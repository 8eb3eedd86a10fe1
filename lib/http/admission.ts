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
 *
 * Beside a master (budget.sharedBytes > 0) a worker holds only small bodies
 * on its own, in its small reserve, so that they never wait on IPC; any other
 * body asks the master's ledger for a grant of its cost before it is read
 * (lib/supervisor/lender.ts), and a body of unknown length asks once it is past
 * small_body_size, for the most it may grow to, its reading paused meanwhile.
 */
import { EventGateError } from '../errors';
import type { MemoryBudget } from '../memory/budget';
import type { Lender } from '../memory/lender';

/** One admitted body's hold on the budget. */
export interface Ticket {
  /**
   * Counts `bytes` more of a body of unknown length; an error when they do
   * not fit (the body is then refused). A promise when the master must be
   * asked first: the reader pauses until it settles.
   */
  grow(bytes: number): EventGateError | undefined | Promise<EventGateError | undefined>;
  /** The body and all made from it are gone (the answer closed). Idempotent. */
  release(): void;
  /** True while the body's size is unknown, so that the reader calls grow(). */
  readonly growing: boolean;
}

export class BodyAdmission {
  private held = 0;
  /** Bytes of the master's grants this worker holds. */
  private granted = 0;
  private readonly largeCap: number;
  /** The master's ledger, when the body memory is shared (else undefined: all is local). */
  readonly lender: Lender | undefined;
  constructor(
    readonly budget: MemoryBudget,
    lender?: Lender,
  ) {
    this.lender = budget.sharedBytes > 0 ? lender : undefined;
    // Shared: only small bodies are held here, in the small reserve.
    this.largeCap = this.lender ? 0 : budget.bodyBytes - budget.smallReserve;
  }

  /** Bytes of the budget held now (with a master: with this worker's grants). */
  get inUse(): number {
    return this.held + this.granted;
  }

  /**
   * Admits a body before a byte of it is read: `declared` is its length when
   * known (an unencoded body with Content-Length), undefined otherwise (then
   * grow() counts it as it comes). Throws the refusal; beside a master, a
   * body that is not held in the small reserve gets a promise instead,
   * settled by the master's answer (rejected with the refusal).
   */
  admit(declared: number | undefined): Ticket | Promise<Ticket> {
    if (declared === undefined) return new Held(this, 0, true);
    const cost = this.costOf(declared);
    const refusal = this.refusal(declared, cost);
    // A small body that does not fit the reserve asks too: the pool may have room.
    if (this.lender && (refusal || declared > this.budget.smallBodySize)) {
      return this.askMaster(declared, cost).then((id) => new Granted(this, id, cost));
    }
    if (refusal) throw refusal;
    this.held += cost;
    return new Held(this, cost, false);
  }

  /** A grant of `cost` for a body of `bytes`: its id, or the refusal (rejected). */
  async askMaster(bytes: number, cost: number): Promise<number> {
    const lender = this.lender as Lender;
    if (cost > this.budget.sharedBytes) throw this.overBudget(bytes);
    const { id, answer } = await lender.ask(cost);
    if (answer === 'never') throw this.overBudget(bytes);
    if (answer === 'busy') throw new EventGateError('EG_ERR_MEMORY_BUSY');
    this.granted += cost;
    return id;
  }

  /** @internal Granted gives its bytes back. */
  giveBack(id: number, cost: number): void {
    this.granted -= cost;
    this.lender?.done(id);
  }

  private overBudget(bytes: number): EventGateError {
    return new EventGateError(
      'EG_ERR_BODY_OVER_BUDGET',
      `Request body (${bytes} bytes) needs more memory than a worker has for bodies (admission: ${this.budget.largestBody} bytes at most).`,
    );
  }

  costOf(bytes: number): number {
    return Math.ceil(bytes * this.budget.expansion);
  }

  /** Why a body of `bytes` (cost `cost`, besides what it holds already) cannot be taken now, if it cannot. */
  refusal(bytes: number, cost: number, holding = 0): EventGateError | undefined {
    // With a master only small bodies are held here: larger ones are the ledger's (askMaster).
    const cap = this.lender ? this.budget.smallReserve : bytes <= this.budget.smallBodySize ? this.budget.bodyBytes : this.largeCap;
    if (cost > cap && !this.lender) return this.overBudget(bytes);
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
  /** A body of unknown length past small_body_size, beside a master: the grant asked for, then held. */
  private grant: Promise<EventGateError | undefined> | undefined;
  private granted: Granted | undefined;

  constructor(
    private readonly admission: BodyAdmission,
    private charged: number,
    readonly growing: boolean,
  ) {}

  grow(bytes: number): EventGateError | undefined | Promise<EventGateError | undefined> {
    // A body still arriving after its answer closed (a client that went away) holds nothing.
    if (this.released) return undefined;
    this.bytes += bytes;
    if (this.grant) return this.grant;
    if (this.granted) return this.granted.covers(this.bytes) ? undefined : this.overGrant();
    const { admission } = this;
    const cost = admission.costOf(this.bytes);
    if (admission.lender && this.bytes > admission.budget.smallBodySize) return (this.grant = this.askMaster());
    const refusal = admission.refusal(this.bytes, cost, this.charged);
    if (refusal) return refusal;
    admission.move(cost - this.charged);
    this.charged = cost;
    return undefined;
  }

  /** The most this body may still grow to (max_body_size), or the whole pool where that is less. */
  private async askMaster(): Promise<EventGateError | undefined> {
    const { admission } = this;
    const { budget } = admission;
    const cost = Math.min(admission.costOf(budget.maxBodySize), budget.sharedBytes);
    let id: number;
    try {
      id = await admission.askMaster(this.bytes, Math.max(cost, admission.costOf(this.bytes)));
    } catch (err) {
      this.grant = undefined;
      return err as EventGateError;
    }
    this.granted = new Granted(admission, id, Math.max(cost, admission.costOf(this.bytes)));
    this.grant = undefined;
    // The answer closed while the master was asked: the grant is nobody's.
    if (this.released) {
      this.granted.release();
      return undefined;
    }
    // The local reserve it held while small is free again.
    admission.move(-this.charged);
    this.charged = 0;
    return this.granted.covers(this.bytes) ? undefined : this.overGrant();
  }

  private overGrant(): EventGateError {
    return new EventGateError('EG_ERR_BODY_OVER_BUDGET', `Request body needs more memory than the workers share for bodies (admission: ${this.admission.budget.largestBody} bytes at most).`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.admission.move(-this.charged);
    this.charged = 0;
    this.granted?.release();
  }
}

/** A body's grant of the master's shared memory. */
class Granted implements Ticket {
  readonly growing = false;
  private released = false;

  constructor(
    private readonly admission: BodyAdmission,
    private readonly id: number,
    private readonly cost: number,
  ) {}

  covers(bytes: number): boolean {
    return this.admission.costOf(bytes) <= this.cost;
  }

  grow(): undefined {
    return undefined;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.admission.giveBack(this.id, this.cost);
  }
}
