/** One failed event's item in an answer body, whole or trimmed past max_answer_bytes. */
import { statusOf } from '../errors';
import type { FailedResult, ResultItem } from '../gate/result';
import type { PendingItem } from './answer';

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
