/**
 * The one prepare step of a batch, whichever executor runs it (the HTTP
 * worker inline, or a pool thread): parse -> validate (and enrich) ->
 * serialize -> error events of the invalid events -> counts -> the packed
 * answer, all as if the sink takes every valid event. What is left after it
 * is the sink's work and a constant (lib/pipeline/produce.ts).
 */
import { codeOf, EventGateError, messageOf, type ErrorCode } from '../errors';
import { isEvent, parseEvents } from '../event/parse';
import type { EventLimits } from '../event/scan';
import { packAnswer, type PackedAnswer } from '../answer/packed';
import { errorEventsOf, type ErrorEventOptions } from '../gate/error-events';
import type { EventResult, FailedResult } from '../gate/result';
import { countBySchema, type SchemaCounts } from '../gate/schema-counts';
import { countByStream, type StreamCounts } from '../gate/stream-counts';
import type { EventValidator, RequestInfo, Validated } from '../gate/validate';
import type { Logger } from '../log';
import type { OutboundEvent } from '../sink/sink';
import type { LogEvent } from '../log-events';

export interface PrepareDeps {
  /** The worker's own validator, or a pool thread's (both built by buildValidator). */
  readonly validator: EventValidator;
  readonly log: Logger;
  /** Events per body and nesting depth, for parsing. */
  readonly limits: EventLimits;
  /** Error events about invalid events; absent (no error_stream): none are made. */
  readonly errorEvents?: ErrorEventOptions;
  /** max_answer_bytes. */
  readonly maxAnswerBytes: number;
}

export interface PrepareOptions {
  /**
   * Each event's Kafka timestamp (null: the time of producing) instead of one
   * from its event time: eventgate replay gives each the one it got at receipt,
   * since the window of timestamp_max_past_ms is around the receipt.
   */
  readonly timestamps?: readonly (number | null)[];
}

export interface PreparedErrorEvents {
  /** Error events made (one per invalid event). */
  readonly made: number;
  /** The valid ones, serialized. */
  readonly outbound: readonly OutboundEvent[];
  /** The first that failed validation itself, for the log. */
  readonly firstInvalid?: FailedResult;
}

/** A batch prepared by either executor: what the produce step takes. */
export interface PreparedBatch {
  /** Events in the body. */
  readonly count: number;
  /** An item is no event (not a non-empty object, or too deep): a hasty request is answered as without hasty. */
  readonly holdsNonEvent: boolean;
  /** Serialized valid events, in input order. */
  readonly outbound: readonly OutboundEvent[];
  /** Each outbound event's place in the batch. */
  readonly outboundIndex: ArrayLike<number>;
  /** Events per stream, counted as if the sink takes every outbound event. */
  readonly counts: readonly (readonly [string, StreamCounts])[];
  /** Events per stream and schema URI, counted the same way. */
  readonly schemaCounts: SchemaCounts;
  /** The error events of its invalid events, validated and serialized; absent: none. */
  readonly errorEvents?: PreparedErrorEvents;
  /** The answer if the sink takes every outbound event, and the pieces to redo it if not. */
  readonly answer: PackedAnswer;
  /**
   * Inline only (a pool thread does not send them across): each event's
   * validation result, `accepted` meaning valid. A replay respools by them.
   */
  readonly results?: readonly EventResult[];
}

/**
 * Validation threw: a fault (a bug in a schema repository or in ajv, a
 * stack overflow), not a verdict on the body. Not an EventGateError, so that
 * no one answers it as the body's refusal: whichever executor met it, it is
 * an internal error (lib/http/fail.ts).
 */
export class ValidationFault extends Error {
  readonly code: ErrorCode;

  constructor(message: string, code: ErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ValidationFault';
    this.code = code;
  }

  static of(err: unknown): ValidationFault {
    return new ValidationFault(`Validation failed: ${messageOf(err)}`, codeOf(err), { cause: err });
  }
}

/** Whether a throw of prepareBody refuses the body (the client's fault: empty, malformed, too many events) rather than being a fault. */
export function refusesBody(err: unknown): err is EventGateError {
  return err instanceof EventGateError;
}

/** A raw body: parsed (throws the body's refusal, an EventGateError), then prepareEvents. */
export function prepareBody(body: Buffer, request: RequestInfo, deps: PrepareDeps): PreparedBatch | Promise<PreparedBatch> {
  const { events, tooDeep } = parseEvents(body, deps.limits);
  return prepareEvents(events, tooDeep ? { ...request, tooDeep } : request, deps);
}

/**
 * Synchronous when the validator is (every schema cached: the hot path, where
 * one promise more per event would show). A validation fault throws or
 * rejects with a ValidationFault.
 */
export function prepareEvents(events: readonly unknown[], request: RequestInfo, deps: PrepareDeps, opts?: PrepareOptions): PreparedBatch | Promise<PreparedBatch> {
  // Before validation: query enrichment may fill an empty object, which is still no event the client sent.
  const holdsNonEvent = !events.every(isEvent);
  let validated: Validated | Promise<Validated>;
  try {
    validated = deps.validator.validate(events, request);
  } catch (err) {
    throw ValidationFault.of(err);
  }
  if (!(validated instanceof Promise)) return afterValidation(events, holdsNonEvent, validated, deps, opts);
  return validated.then(
    (v) => afterValidation(events, holdsNonEvent, v, deps, opts),
    (err: unknown) => {
      throw ValidationFault.of(err);
    },
  );
}

function afterValidation(
  events: readonly unknown[],
  holdsNonEvent: boolean,
  v: Validated,
  deps: PrepareDeps,
  opts: PrepareOptions | undefined,
): PreparedBatch | Promise<PreparedBatch> {
  const timestamps = opts?.timestamps;
  const outbound = timestamps ? v.outbound.map((o, j) => ({ ...o, timestamp: timestamps[v.outboundIndex[j]] ?? undefined })) : v.outbound;
  const made = deps.errorEvents ? errorEventsOf(events, v, deps.errorEvents) : [];
  const batch = (errorEvents?: PreparedErrorEvents): PreparedBatch => ({
    count: events.length,
    holdsNonEvent,
    outbound,
    outboundIndex: v.outboundIndex,
    counts: countByStream(v.streams, v.results),
    schemaCounts: countBySchema(v.streams, v.uris, v.results, v.outboundIndex),
    errorEvents,
    answer: packAnswer(events, v.results, deps.maxAnswerBytes),
    results: v.results,
  });
  if (made.length === 0) return batch();
  const checked = validateErrorEvents(made, deps);
  return checked instanceof Promise ? checked.then((c) => batch(preparedErrorEvents(made.length, c))) : batch(preparedErrorEvents(made.length, checked));
}

function preparedErrorEvents(made: number, v: Validated): PreparedErrorEvents {
  const firstInvalid = v.results.find((r): r is FailedResult => r.status !== 'accepted');
  return { made, outbound: v.outbound, firstInvalid };
}

/**
 * Error events go through the same validation as events. They are a side
 * channel: a fault validating them must not fail the batch they report on.
 * It fails them all instead, and the produce step counts and logs them.
 */
function validateErrorEvents(made: Record<string, unknown>[], deps: PrepareDeps): Validated | Promise<Validated> {
  const failAll = (err: unknown): Validated => {
    deps.log.error({ err, event: 'error_events.validation_failed' satisfies LogEvent }, 'error events could not be validated');
    const fault: FailedResult = { status: 'error', code: codeOf(err), context: { message: messageOf(err) } };
    return { results: made.map(() => fault), outbound: [], outboundIndex: [], streams: [], uris: [] };
  };
  try {
    const v = deps.validator.validate(made);
    return v instanceof Promise ? v.catch(failAll) : v;
  } catch (err) {
    return failAll(err);
  }
}
