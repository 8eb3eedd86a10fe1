/**
 * How a batch's results answer the request: EventGate's statuses and reason
 * phrases, and the body with an item per failed event. In the gate (no HTTP
 * here, only what the answer says) so that a pool thread can build it too:
 * both paths build their items and apply max_answer_bytes through the same
 * AnswerItems, so their answers are the same byte for byte.
 */
import { statusOf } from '../errors';
import type { EventResult, FailedResult, ResultItem } from './result';

export interface Answer {
  readonly status: number;
  readonly reason: string;
  /**
   * `{"invalid":[...]}` or `{"invalid":[...],"error":[...]}`, as JSON text, or
   * as its UTF-8 bytes when a pool thread built it (see itemText for its size).
   */
  readonly body?: string | Buffer;
  /** Every failure was our dependency being unavailable: the client should retry later. */
  readonly retryable: boolean;
  /** Events not accepted (invalid and errored). */
  readonly failed: number;
  /** Of those, the invalid ones (the access log's counts). */
  readonly invalid: number;
}

/** The answer for n events all accepted, kept for the batch sizes that repeat (single events above all). */
const ALL_ACCEPTED: Answer[] = [];

/** What a failed item keeps once the answer is past its budget: enough to tell which event failed and why. */
const TRIMMED_TEXT = 200;

/**
 * One item as JSON. Within the budget it is the whole item; past it (a huge
 * batch of invalid events would otherwise answer many times its own size,
 * each item carrying its event and ajv's errors) it keeps status, code, the
 * event's index in the request and the start of the error text.
 */
export function itemText(r: FailedResult, event: unknown, index: number, trimmed: boolean): string {
  if (!trimmed) {
    // The code goes into the context (EventGate's item shape, one field added): a client tells a
    // retriable failure from a permanent one without reading text.
    const item: ResultItem = { status: r.status, event, context: { ...r.context, code: r.code } };
    return JSON.stringify(item);
  }
  const text = r.status === 'invalid' ? r.context.errorsText : r.context.message;
  const key = r.status === 'invalid' ? 'errorsText' : 'message';
  return JSON.stringify({ status: r.status, event: null, context: { code: r.code, index, [key]: text.slice(0, TRIMMED_TEXT), trimmed: true } });
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
 * answer's size, it does not meter it. `T` is the text (string) or its
 * bytes (Buffer, on the main thread after a pooled batch).
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

  /** The answer for n events of which these items failed; `body` joins the items into the body's shape. */
  answer(n: number, body: (invalid: readonly T[], error: readonly T[] | undefined) => string | Buffer): Answer {
    const i = this.invalid.length;
    const e = this.error.length;
    const f = i + e;
    const s = n - f;
    if (f === 0) return allAccepted(n);
    if (s === 0 && e === 0) {
      return { status: 400, reason: `${i} out of ${n} events were invalid and not accepted.`, body: body(this.invalid, undefined), retryable: false, failed: f, invalid: i };
    }
    if (s > 0) {
      return {
        status: 207,
        reason: `${s} out of ${n} events were accepted, but ${f} failed (${i} invalid and ${e} errored).`,
        body: body(this.invalid, this.error),
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
      body: body(this.invalid, this.error),
      retryable,
      failed: f,
      invalid: i,
    };
  }
}

export function allAccepted(n: number): Answer {
  if (n < 1024) return (ALL_ACCEPTED[n] ??= Object.freeze({ status: 201, reason: `All ${n} out of ${n} events were accepted.`, retryable: false, failed: 0, invalid: 0 }));
  return { status: 201, reason: `All ${n} out of ${n} events were accepted.`, retryable: false, failed: 0, invalid: 0 };
}

/** The pending item of a failed result, as text. */
export function pendingItem(r: FailedResult, event: unknown, index: number): PendingItem<string> {
  return {
    status: r.status,
    unavailable: r.status === 'error' && statusOf(r.code) === 503,
    whole() {
      const text = itemText(r, event, index, false);
      return { text, length: text.length };
    },
    trimmed: () => itemText(r, event, index, true),
  };
}

/** The body's text: `{"invalid":[...]}`, or with `error` `{"invalid":[...],"error":[...]}`. */
export function bodyText(invalid: readonly string[], error: readonly string[] | undefined): string {
  return error === undefined ? `{"invalid":[${invalid.join(',')}]}` : `{"invalid":[${invalid.join(',')}],"error":[${error.join(',')}]}`;
}

export function answerFor(events: readonly unknown[], results: readonly EventResult[], maxBytes = Infinity): Answer {
  const n = results.length;
  if (results.every((r) => r.status === 'accepted')) return allAccepted(n);
  const items = new AnswerItems<string>(maxBytes);
  for (let i = 0; i < n; i++) {
    const r = results[i];
    if (r.status !== 'accepted') items.add(pendingItem(r, events[i], i));
  }
  return items.answer(n, bodyText);
}
