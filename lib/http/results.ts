import { statusOf } from '../errors';
import type { EventResult, FailedResult, ResultItem } from '../gate/result';

/** How a batch's results answer the request: EventGate's statuses and reason phrases. */
export interface Answer {
  readonly status: number;
  readonly reason: string;
  /** `{"invalid":[...]}` or `{"invalid":[...],"error":[...]}`, as JSON text (see itemText for its size). */
  readonly body?: string;
  /** Every failure was our dependency being unavailable: the client should retry later. */
  readonly retryable: boolean;
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
function itemText(r: FailedResult, event: unknown, index: number, trimmed: boolean): string {
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

export function answerFor(events: readonly unknown[], results: readonly EventResult[], maxBytes = Infinity): Answer {
  const n = results.length;
  if (results.every((r) => r.status === 'accepted')) {
    if (n < 1024) return (ALL_ACCEPTED[n] ??= Object.freeze({ status: 201, reason: `All ${n} out of ${n} events were accepted.`, retryable: false }));
    return { status: 201, reason: `All ${n} out of ${n} events were accepted.`, retryable: false };
  }
  const invalid: string[] = [];
  const error: string[] = [];
  let unavailable = 0;
  let left = maxBytes;
  for (let i = 0; i < n; i++) {
    const r = results[i];
    if (r.status === 'accepted') continue;
    let text = left > 0 ? itemText(r, events[i], i, false) : '';
    // Lengths in UTF-16 units, not bytes: the budget bounds the answer's size, it does not meter it.
    if (left <= 0 || text.length > left) {
      text = itemText(r, events[i], i, true);
      left = 0;
    } else left -= text.length;
    if (r.status === 'invalid') invalid.push(text);
    else {
      error.push(text);
      if (statusOf(r.code) === 503) unavailable++;
    }
  }
  const i = invalid.length;
  const e = error.length;
  const f = i + e;
  const s = n - f;
  if (f === 0) return { status: 201, reason: `All ${s} out of ${n} events were accepted.`, retryable: false };
  if (s === 0 && e === 0) {
    return { status: 400, reason: `${i} out of ${n} events were invalid and not accepted.`, body: `{"invalid":[${invalid.join(',')}]}`, retryable: false };
  }
  if (s > 0) {
    return {
      status: 207,
      reason: `${s} out of ${n} events were accepted, but ${f} failed (${i} invalid and ${e} errored).`,
      body: bodyOf(invalid, error),
      retryable: false,
    };
  }
  // Nothing went in and every errored event failed for want of Kafka: a retry later can take them
  // (the invalid ones stay invalid, and say so by their code).
  const retryable = unavailable === e;
  return {
    status: retryable ? 503 : 500,
    reason: `${f} out of ${n} events had failures and were not accepted. (${i} invalid and ${e} errored).`,
    body: bodyOf(invalid, error),
    retryable,
  };
}

function bodyOf(invalid: readonly string[], error: readonly string[]): string {
  return `{"invalid":[${invalid.join(',')}],"error":[${error.join(',')}]}`;
}
