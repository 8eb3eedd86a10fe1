import { statusOf } from '../errors';
import type { EventResult, ResultItem } from '../gate/result';

/** How a batch's results answer the request: EventGate's statuses and reason phrases. */
export interface Answer {
  readonly status: number;
  readonly reason: string;
  readonly body?: { invalid: ResultItem[]; error?: ResultItem[] };
  /** Every failure was our dependency being unavailable: the client should retry later. */
  readonly retryable: boolean;
}

/** The answer for n events all accepted, kept for the batch sizes that repeat (single events above all). */
const ALL_ACCEPTED: Answer[] = [];

export function answerFor(events: readonly unknown[], results: readonly EventResult[]): Answer {
  const n = results.length;
  if (results.every((r) => r.status === 'accepted')) {
    if (n < 1024) return (ALL_ACCEPTED[n] ??= Object.freeze({ status: 201, reason: `All ${n} out of ${n} events were accepted.`, retryable: false }));
    return { status: 201, reason: `All ${n} out of ${n} events were accepted.`, retryable: false };
  }
  const invalid: ResultItem[] = [];
  const error: ResultItem[] = [];
  let unavailable = 0;
  for (let i = 0; i < n; i++) {
    const r = results[i];
    if (r.status === 'accepted') continue;
    // The code goes into the context (EventGate's item shape, one field added): a client tells a
    // retriable failure from a permanent one without reading text.
    const item: ResultItem = { status: r.status, event: events[i], context: { ...r.context, code: r.code } };
    if (r.status === 'invalid') invalid.push(item);
    else {
      error.push(item);
      if (statusOf(r.code) === 503) unavailable++;
    }
  }
  const i = invalid.length;
  const e = error.length;
  const f = i + e;
  const s = n - f;
  if (f === 0) return { status: 201, reason: `All ${s} out of ${n} events were accepted.`, retryable: false };
  if (s === 0 && e === 0) {
    return { status: 400, reason: `${i} out of ${n} events were invalid and not accepted.`, body: { invalid }, retryable: false };
  }
  if (s > 0) {
    return {
      status: 207,
      reason: `${s} out of ${n} events were accepted, but ${f} failed (${i} invalid and ${e} errored).`,
      body: { invalid, error },
      retryable: false,
    };
  }
  // Nothing went in and every errored event failed for want of Kafka: a retry later can take them
  // (the invalid ones stay invalid, and say so by their code).
  const retryable = unavailable === e;
  return {
    status: retryable ? 503 : 500,
    reason: `${f} out of ${n} events had failures and were not accepted. (${i} invalid and ${e} errored).`,
    body: { invalid, error },
    retryable,
  };
}
