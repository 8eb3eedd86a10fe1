/**
 * How a batch answers its request: EventGate's statuses and reason phrases,
 * and the items of the failed events under max_answer_bytes. No HTTP here,
 * only what the answer says; both executors (inline and the thread pool)
 * build their answers through this module (packAnswer, finishAnswer), so
 * their answers are the same byte for byte.
 */

export interface Answer {
  readonly status: number;
  readonly reason: string;
  /** `{"invalid":[...]}` or `{"invalid":[...],"error":[...]}` as UTF-8 (layout.ts). */
  readonly body?: Buffer;
  /** Every failure was our dependency being unavailable: the client should retry later. */
  readonly retryable: boolean;
  /** Events not accepted (invalid and errored). */
  readonly failed: number;
  /** Of those, the invalid ones (the access log's counts). */
  readonly invalid: number;
}

/** An answer without its body: whether it has one, and whether the body lists errors. */
export type Verdict = Omit<Answer, 'body'> & { readonly body: 'none' | 'invalid' | 'invalid+error' };

/** The answer for n events all accepted, kept for the batch sizes that repeat (single events above all). */
const ALL_ACCEPTED: Answer[] = [];

export function allAccepted(n: number): Answer {
  if (n < 1024) return (ALL_ACCEPTED[n] ??= Object.freeze({ status: 201, reason: `All ${n} out of ${n} events were accepted.`, retryable: false, failed: 0, invalid: 0 }));
  return { status: 201, reason: `All ${n} out of ${n} events were accepted.`, retryable: false, failed: 0, invalid: 0 };
}

/** One failed event's item, for AnswerItems: its text whole and trimmed, each made only when needed. */
export interface PendingItem<T> {
  readonly status: 'invalid' | 'error';
  /** An error for want of Kafka (503): the client may retry it. */
  readonly unavailable: boolean;
  /** The whole item, and its length in UTF-16 units (what the budget counts). */
  whole(): { readonly text: T; readonly length: number };
  trimmed(): T;
}

/**
 * The items of an answer, added in input order, each whole while the
 * budget (max_answer_bytes) lasts and trimmed from the first one that does
 * not fit. Lengths in UTF-16 units, not bytes: the budget bounds the
 * answer's size, it does not meter it. `T` is the text (a string, or an
 * item's place in a thread's packed answer) or its bytes (a Buffer).
 */
export class AnswerItems<T> {
  readonly invalid: T[] = [];
  readonly error: T[] = [];
  private unavailable = 0;
  private left: number;

  constructor(maxBytes: number) {
    this.left = maxBytes;
  }

  /** Adds an item; true when it went in whole. */
  add(item: PendingItem<T>): boolean {
    let text: T | undefined;
    if (this.left > 0) {
      const whole = item.whole();
      if (whole.length <= this.left) {
        this.left -= whole.length;
        text = whole.text;
      }
    }
    const kept = text !== undefined;
    if (text === undefined) {
      text = item.trimmed();
      this.left = 0;
    }
    if (item.status === 'invalid') this.invalid.push(text);
    else {
      this.error.push(text);
      if (item.unavailable) this.unavailable++;
    }
    return kept;
  }

  /** Status, reason and body shape for n events of which these items failed. */
  verdict(n: number): Verdict {
    const i = this.invalid.length;
    const e = this.error.length;
    const f = i + e;
    const s = n - f;
    if (f === 0) return { ...allAccepted(n), body: 'none' };
    if (s === 0 && e === 0) {
      return { status: 400, reason: `${i} out of ${n} events were invalid and not accepted.`, body: 'invalid', retryable: false, failed: f, invalid: i };
    }
    if (s > 0) {
      return {
        status: 207,
        reason: `${s} out of ${n} events were accepted, but ${f} failed (${i} invalid and ${e} errored).`,
        body: 'invalid+error',
        retryable: false,
        failed: f,
        invalid: i,
      };
    }
    // Nothing went in and every errored event failed for want of Kafka: a retry later can take them
    // (the invalid ones stay invalid, and say so by their code).
    const retryable = this.unavailable === e;
    return {
      status: retryable ? 503 : 500,
      reason: `${f} out of ${n} events had failures and were not accepted. (${i} invalid and ${e} errored).`,
      body: 'invalid+error',
      retryable,
      failed: f,
      invalid: i,
    };
  }
}
