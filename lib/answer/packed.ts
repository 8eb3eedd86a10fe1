/**
 * The answer of a prepared batch: packed when the batch is prepared, as if
 * the sink takes every valid event, and finished once it has answered. When
 * it took them all (the common case) the answer is the packed one, as it
 * is: a constant. Only when it refused some is an item added for each and
 * the body laid out again, from the pieces packed (the item texts, already
 * UTF-8), with max_answer_bytes applied as AnswerItems applies it.
 *
 * The packed answer is plain data (typed arrays and one buffer), so that a
 * pool thread can hand it over as is; an inline batch packs the same way.
 *
 * Why the packed pieces are enough: an item the sink adds comes before
 * some packed items and only uses budget, so an item packed trimmed stays
 * trimmed; one packed whole may now be trimmed, so its trimmed text is
 * packed too.
 */
import { statusOf, type ErrorCode } from '../errors';
import type { EventResult, FailedResult } from '../gate/result';
import type { OutboundEvent } from '../sink/sink';
import { AnswerItems, allAccepted, type Answer, type PendingItem } from './answer';
import { pendingItem } from './item';
import { BYTES, layOut, TEXT } from './layout';

const ERROR = 1;
const UNAVAILABLE = 2;
/** Whole in the packed body; else trimmed there. */
const WHOLE = 4;

/** An outbound event the sink did not take: `at` is its place in `outbound`. */
export interface SinkFailure {
  readonly at: number;
  readonly code: ErrorCode;
  readonly message: string;
}

/** Plain data: typed arrays and one buffer (a thread transfers it). */
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

const NO_BYTES = new ArrayBuffer(0);
const NO_U32 = new Uint32Array(0);
const NO_U8 = new Uint8Array(0);
const ALL_ACCEPTED: PackedAnswer[] = [];

/** The packed answer of n events all accepted: no array per batch, and for the sizes that repeat one object. */
function packedAllAccepted(n: number): PackedAnswer {
  const cached = ALL_ACCEPTED[n];
  if (cached) return cached;
  const { status, reason, retryable, failed, invalid } = allAccepted(n);
  const packed: PackedAnswer = Object.freeze({ status, reason, retryable, failed, invalid, bodyLength: -1, bytes: NO_BYTES, index: NO_U32, flags: NO_U8, at: NO_U32, size: NO_U32, length: NO_U32, trimAt: NO_U32, trimSize: NO_U32 });
  if (n < 1024) ALL_ACCEPTED[n] = packed;
  return packed;
}

/** The answer if every valid event is taken, and the pieces to redo it otherwise. */
export function packAnswer(events: readonly unknown[], results: readonly EventResult[], maxBytes: number): PackedAnswer {
  const n = results.length;
  let first = 0;
  while (first < n && results[first].status === 'accepted') first++;
  if (first === n) return packedAllAccepted(n);
  const failed: number[] = [];
  for (let i = first; i < n; i++) if (results[i].status !== 'accepted') failed.push(i);
  const m = failed.length;
  const flags = new Uint8Array(m);
  const length = new Uint32Array(m);
  /** Each item's text as laid out, and for a whole one its trimmed text too. */
  const texts = new Array<string>(m);
  const trimmedTexts: string[] = [];
  const trimOf = new Int32Array(m).fill(-1);
  // The items are their places k here: the layout below puts each text where it lands.
  const items = new AnswerItems<number>(maxBytes);
  for (let k = 0; k < m; k++) {
    const i = failed[k];
    const r = results[i] as FailedResult;
    const pending = pendingItem(r, events[i], i);
    let wholeText = '';
    const whole = items.add({
      status: pending.status,
      unavailable: pending.unavailable,
      whole() {
        const w = pending.whole();
        wholeText = w.text;
        return { text: k, length: w.length };
      },
      trimmed: () => k,
    });
    texts[k] = whole ? wholeText : pending.trimmed();
    flags[k] = (r.status === 'error' ? ERROR : 0) | (pending.unavailable ? UNAVAILABLE : 0) | (whole ? WHOLE : 0);
    if (whole) {
      length[k] = wholeText.length;
      trimOf[k] = trimmedTexts.push(pending.trimmed()) - 1;
    }
  }
  const verdict = items.verdict(n);
  const pieces: string[] = [];
  const pieceOf = new Int32Array(m);
  if (verdict.body !== 'none') {
    for (const piece of layOut(items.invalid, verdict.body === 'invalid+error' ? items.error : undefined, TEXT)) {
      if (typeof piece === 'number') pieceOf[piece] = pieces.push(texts[piece]) - 1;
      else pieces.push(piece);
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
  if (verdict.body !== 'none') {
    for (let k = 0; k < m; k++) {
      at[k] = offsets[pieceOf[k]];
      size[k] = offsets[pieceOf[k] + 1] - at[k];
      if (trimOf[k] >= 0) {
        trimAt[k] = offsets[bodyPieces + trimOf[k]];
        trimSize[k] = offsets[bodyPieces + trimOf[k] + 1] - trimAt[k];
      }
    }
  }
  const { status, reason, retryable, invalid } = verdict;
  return {
    status,
    reason,
    retryable,
    failed: verdict.failed,
    invalid,
    bodyLength: verdict.body === 'none' ? -1 : offsets[bodyPieces],
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
 * The answer for n events once the sink has refused `failures` (in outbound
 * order) of `outbound`, whose places in the batch are `outboundIndex`.
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
  const { body, ...verdict } = items.verdict(n);
  if (body === 'none') return allAccepted(n);
  return { ...verdict, body: Buffer.concat(layOut(items.invalid, body === 'invalid+error' ? items.error : undefined, BYTES)) };
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
