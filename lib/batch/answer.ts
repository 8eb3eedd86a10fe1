/**
 * The answer of a pooled batch: built in the thread, as if the sink takes
 * every valid event, and finished on the main thread once it has answered.
 * When it took them all (the common case) the answer is the thread's, as
 * it is: a constant. Only when it refused some does the main thread add an
 * item for each and lay out the body again, from the pieces the thread left
 * (the item texts, already UTF-8), with max_answer_bytes applied as the
 * inline path applies it (AnswerItems).
 *
 * Why the thread's pieces are enough: an item the sink adds comes before
 * some thread items and only uses budget, so an item the thread had to trim
 * stays trimmed; one it kept whole may now be trimmed, so its trimmed text
 * is made too.
 */
import { statusOf } from '../errors';
import { AnswerItems, allAccepted, itemText, pendingItem, type Answer, type PendingItem } from '../gate/answer';
import type { SinkFailure } from '../gate/gate';
import type { EventResult, FailedResult } from '../gate/result';
import type { OutboundEvent } from '../sink/sink';

const ERROR = 1;
const UNAVAILABLE = 2;
/** Whole in the thread's body; else trimmed there. */
const WHOLE = 4;

/** Plain data for the crossing: typed arrays and one buffer (transferred). */
export interface PackedAnswer {
  readonly status: number;
  readonly reason: string;
  readonly retryable: boolean;
  readonly failed: number;
  readonly invalid: number;
  /** The body is bytes[0, bodyLength); -1: none. */
  readonly bodyLength: number;
  readonly bytes: ArrayBuffer;
  /** Per failed event, in input order: its index in the batch, flags, where its text is in `bytes`. */
  readonly index: Uint32Array;
  readonly flags: Uint8Array;
  readonly at: Uint32Array;
  readonly size: Uint32Array;
  /** A WHOLE item's length in UTF-16 units (what the budget counts). */
  readonly length: Uint32Array;
  /** A WHOLE item's trimmed text. */
  readonly trimAt: Uint32Array;
  readonly trimSize: Uint32Array;
}

/** Thread side: the answer if every valid event is written, and the pieces to redo it otherwise. */
export function packAnswer(events: readonly unknown[], results: readonly EventResult[], maxBytes: number): PackedAnswer {
  const n = results.length;
  const failed: number[] = [];
  for (let i = 0; i < n; i++) if (results[i].status !== 'accepted') failed.push(i);
  const m = failed.length;
  const flags = new Uint8Array(m);
  const length = new Uint32Array(m);
  /** Each item's text, and for a whole one its trimmed text too. */
  const texts = new Array<string>(m);
  const trimmedTexts: string[] = [];
  const trimOf = new Int32Array(m).fill(-1);
  const items = new AnswerItems<string>(maxBytes);
  for (let k = 0; k < m; k++) {
    const i = failed[k];
    const r = results[i] as FailedResult;
    const pending = pendingItem(r, events[i], i);
    const whole = items.add(pending);
    const list = r.status === 'invalid' ? items.invalid : items.error;
    texts[k] = list[list.length - 1];
    flags[k] = (r.status === 'error' ? ERROR : 0) | (pending.unavailable ? UNAVAILABLE : 0) | (whole ? WHOLE : 0);
    if (whole) {
      length[k] = texts[k].length;
      trimOf[k] = trimmedTexts.push(itemText(r, events[i], i, true)) - 1;
    }
  }
  // Status and reason only: the body is laid out below, as bodyText (lib/gate/answer.ts) joins it,
  // piece by piece to know where each item's bytes are.
  const answer = items.answer(n, () => '');
  const pieces: string[] = [];
  const pieceOf = new Int32Array(m);
  if (answer.body !== undefined) {
    const invalid: number[] = [];
    const error: number[] = [];
    for (let k = 0; k < m; k++) (flags[k] & ERROR ? error : invalid).push(k);
    const list = (ks: number[]) =>
      ks.forEach((k, x) => {
        if (x > 0) pieces.push(',');
        pieceOf[k] = pieces.push(texts[k]) - 1;
      });
    pieces.push('{"invalid":[');
    list(invalid);
    if (answer.status === 400) pieces.push(']}');
    else {
      pieces.push('],"error":[');
      list(error);
      pieces.push(']}');
    }
  }
  const bodyPieces = pieces.length;
  pieces.push(...trimmedTexts);
  const offsets = new Uint32Array(pieces.length + 1);
  for (let p = 0; p < pieces.length; p++) offsets[p + 1] = offsets[p] + Buffer.byteLength(pieces[p]);
  const bytes = new ArrayBuffer(offsets[pieces.length]);
  const view = Buffer.from(bytes);
  for (let p = 0; p < pieces.length; p++) view.write(pieces[p], offsets[p]);
  const at = new Uint32Array(m);
  const size = new Uint32Array(m);
  const trimAt = new Uint32Array(m);
  const trimSize = new Uint32Array(m);
  if (answer.body !== undefined) {
    for (let k = 0; k < m; k++) {
      at[k] = offsets[pieceOf[k]];
      size[k] = offsets[pieceOf[k] + 1] - at[k];
      if (trimOf[k] >= 0) {
        trimAt[k] = offsets[bodyPieces + trimOf[k]];
        trimSize[k] = offsets[bodyPieces + trimOf[k] + 1] - trimAt[k];
      }
    }
  }
  return {
    status: answer.status,
    reason: answer.reason,
    retryable: answer.retryable,
    failed: answer.failed,
    invalid: answer.invalid,
    bodyLength: answer.body === undefined ? -1 : offsets[bodyPieces],
    bytes,
    index: Uint32Array.from(failed),
    flags,
    at,
    size,
    length,
    trimAt,
    trimSize,
  };
}

const NO_TEXT = Buffer.alloc(0);

/**
 * Main side: the answer for n events once the sink has refused `failures`
 * (in outbound order) of `outbound`, whose places in the batch are `outboundIndex`.
 */
export function finishAnswer(
  packed: PackedAnswer,
  n: number,
  failures: readonly SinkFailure[],
  outbound: readonly OutboundEvent[],
  outboundIndex: ArrayLike<number>,
  maxBytes: number,
): Answer {
  if (failures.length === 0) {
    if (packed.bodyLength < 0) return allAccepted(n);
    const { status, reason, retryable, failed, invalid } = packed;
    return { status, reason, retryable, failed, invalid, body: Buffer.from(packed.bytes, 0, packed.bodyLength) };
  }
  const items = new AnswerItems<Buffer>(maxBytes);
  const view = (at: number, size: number) => Buffer.from(packed.bytes, at, size);
  let f = 0;
  const m = packed.index.length;
  for (let k = 0; k <= m; k++) {
    const next = k < m ? packed.index[k] : n;
    // The sink's failures before this item, in input order (outbound is in input order).
    for (; f < failures.length && outboundIndex[failures[f].at] < next; f++) items.add(refusedItem(failures[f], outbound, outboundIndex));
    if (k === m) break;
    const flag = packed.flags[k];
    const at = packed.at[k];
    const size = packed.size[k];
    const whole = (flag & WHOLE) !== 0;
    items.add({
      status: flag & ERROR ? 'error' : 'invalid',
      unavailable: (flag & UNAVAILABLE) !== 0,
      whole: () => (whole ? { text: view(at, size), length: packed.length[k] } : { text: NO_TEXT, length: Infinity }),
      trimmed: () => (whole ? view(packed.trimAt[k], packed.trimSize[k]) : view(at, size)),
    });
  }
  return items.answer(n, bodyBytes);
}

/** The item of an event the sink refused: the event read back from the bytes that were to be produced (JSON in, the same JSON out). */
function refusedItem(failure: SinkFailure, outbound: readonly OutboundEvent[], outboundIndex: ArrayLike<number>): PendingItem<Buffer> {
  const o = outbound[failure.at];
  const index = outboundIndex[failure.at];
  const event: unknown = JSON.parse(typeof o.value === 'string' ? o.value : o.value.toString('utf8'));
  const r: FailedResult = { status: 'error', code: failure.code, context: { message: failure.message } };
  const text = pendingItem(r, event, index);
  return {
    status: 'error',
    unavailable: statusOf(failure.code) === 503,
    whole() {
      const w = text.whole();
      return { text: Buffer.from(w.text), length: w.length };
    },
    trimmed: () => Buffer.from(text.trimmed()),
  };
}

const OPEN = Buffer.from('{"invalid":[');
const BETWEEN = Buffer.from('],"error":[');
const CLOSE = Buffer.from(']}');
const COMMA = Buffer.from(',');

/** bodyText, in bytes. */
function bodyBytes(invalid: readonly Buffer[], error: readonly Buffer[] | undefined): Buffer {
  const parts: Buffer[] = [OPEN];
  const list = (items: readonly Buffer[]) => items.forEach((b, x) => (x > 0 ? parts.push(COMMA, b) : parts.push(b)));
  list(invalid);
  if (error !== undefined) {
    parts.push(BETWEEN);
    list(error);
  }
  parts.push(CLOSE);
  return Buffer.concat(parts);
}
