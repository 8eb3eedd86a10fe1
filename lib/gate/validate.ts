import { codeOf, eventOutcomeOf, EventGateError, ERRORS, type ErrorCode } from '../errors';
import type { CompiledSchema, SchemaRepository } from '../schema';
import type { OutboundEvent } from '../sink/sink';
import type { Enricher, QueryParams, RequestHeaders } from '../event/enrich';
import { checkStream, messageKey, topicFor, type StreamSettings } from '../stream';
import { errorsText } from './errors-text';
import { fieldGetter, firstStringGetter, hasNonFiniteNumber } from '../event/fields';
import { ACCEPTED, type EventResult, type FailedResult } from './result';
import { timestampOf } from './timestamp';

export interface ValidatorOptions {
  readonly schemas: SchemaRepository;
  readonly schemaUriField: string | readonly string[];
  readonly streamField: string;
  readonly topicPrefix: string;
  /** Path of the event time, used as the Kafka message timestamp inside `timestampWindow`. */
  readonly dtField?: string;
  /**
   * How far before and after the time of receipt an event time may be and still be the Kafka
   * timestamp. Outside it the timestamp is the time of receipt: a broker refuses a whole record
   * batch over one far-future timestamp (log.message.timestamp.after.max.ms), failing other
   * clients' events in it, and time-based retention may delete a far-past one at once.
   */
  readonly timestampWindow?: { readonly pastMs: number; readonly futureMs: number };
  /** Stream config; absent: any schema may go to any stream. */
  readonly streams?: StreamLookup;
  /** Fills absent, declared fields (meta.id, meta.dt, request headers). */
  readonly enrich?: Enricher;
  /** Fills an absent schema URI or stream from the query string. */
  readonly enrichFromQuery?: (event: Record<string, unknown>, query: QueryParams) => void;
}

/** What the validator needs of stream config: the registry, or a table rebuilt in a thread. */
export interface StreamLookup {
  get(stream: string): StreamSettings | undefined;
}

/** The request the events came in, for enrichment. */
export interface RequestInfo {
  readonly headers: RequestHeaders;
  readonly query?: QueryParams;
  /** Events the body scan found nested deeper than max_event_depth (lib/event/scan.ts); each is null here. */
  readonly tooDeep?: ReadonlySet<number>;
}

const NO_REQUEST: RequestInfo = { headers: {} };

/** The outcome of validating a batch, before anything is produced. */
export interface Validated {
  /** One per input event, in order; `accepted` here means valid, not yet produced. */
  readonly results: EventResult[];
  /** Serialized valid events, in input order. */
  readonly outbound: OutboundEvent[];
  /** For each outbound event, its index in `results`. */
  readonly outboundIndex: number[];
  /** Stream of each event, where it could be read (for metrics and error events). */
  readonly streams: (string | undefined)[];
  /** Schema URI of each event, where it could be read (for error events). */
  readonly uris: (string | undefined)[];
}

function failure(code: ErrorCode, message?: string): FailedResult {
  const text = message ?? ERRORS[code].message;
  return eventOutcomeOf(code) === 'invalid'
    ? { status: 'invalid', code, context: { errors: [{ message: text }], errorsText: text } }
    : { status: 'error', code, context: { message: text } };
}

/** A thrown schema failure as the result of one event. */
function failureOf(err: unknown): FailedResult {
  const code = codeOf(err);
  return failure(code, err instanceof Error ? err.message : undefined);
}

/**
 * Validates and serializes events. Pure of HTTP and of the sink: the HTTP
 * worker and the thread pool run this same code. The hot path stays
 * synchronous: only a batch that names a schema not yet cached awaits, once,
 * for all its missing schemas together.
 */
export class EventValidator {
  private readonly schemaUriOf: (event: Record<string, unknown>) => string | undefined;
  private readonly streamOf: (event: Record<string, unknown>) => unknown;
  private readonly dtOf: ((event: Record<string, unknown>) => unknown) | undefined;

  constructor(private readonly opts: ValidatorOptions) {
    const fields = typeof opts.schemaUriField === 'string' ? [opts.schemaUriField] : opts.schemaUriField;
    this.schemaUriOf = firstStringGetter(fields);
    this.streamOf = fieldGetter(opts.streamField);
    this.dtOf = opts.dtField ? fieldGetter(opts.dtField) : undefined;
  }

  /** Synchronous when every schema is cached (the hot path); a promise only on a miss. */
  validate(events: readonly unknown[], request: RequestInfo = NO_REQUEST): Validated | Promise<Validated> {
    const { schemas, enrichFromQuery } = this.opts;
    const n = events.length;
    const uris: (string | undefined)[] = new Array<string | undefined>(n);
    const found: (CompiledSchema | Error | undefined)[] = new Array<CompiledSchema | Error | undefined>(n);
    let missing: Set<string> | undefined;
    for (let i = 0; i < n; i++) {
      const event = events[i];
      if (event === null || typeof event !== 'object' || Array.isArray(event)) continue;
      const record = event as Record<string, unknown>;
      if (enrichFromQuery && request.query) enrichFromQuery(record, request.query);
      const uri = this.schemaUriOf(record);
      uris[i] = uri;
      if (uri === undefined) continue;
      const schema = schemas.peek(uri);
      found[i] = schema;
      if (schema === undefined) (missing ??= new Set()).add(uri);
    }
    if (!missing) return this.check(events, uris, found, request);
    return this.load(missing).then((loaded) => {
      for (let i = 0; i < n; i++) if (found[i] === undefined && uris[i] !== undefined) found[i] = loaded.get(uris[i] as string);
      return this.check(events, uris, found, request);
    });
  }

  /** Validates, checks stream rules and serializes, once every event's schema is known. */
  private check(
    events: readonly unknown[],
    uris: (string | undefined)[],
    found: readonly (CompiledSchema | Error | undefined)[],
    request: RequestInfo,
  ): Validated {
    const { enrich, streams } = this.opts;
    const n = events.length;
    const results: EventResult[] = new Array<EventResult>(n);
    const outbound: OutboundEvent[] = [];
    const outboundIndex: number[] = [];
    const streamNames: (string | undefined)[] = new Array<string | undefined>(n);
    const received = Date.now();
    const { tooDeep } = request;
    for (let i = 0; i < n; i++) {
      const event = events[i];
      if (tooDeep?.has(i)) {
        results[i] = failure('EG_ERR_EVENT_TOO_DEEP');
        continue;
      }
      if (event === null || typeof event !== 'object' || Array.isArray(event)) {
        results[i] = failure('EG_ERR_EVENT_NOT_OBJECT');
        continue;
      }
      const record = event as Record<string, unknown>;
      const stream = this.streamOf(record);
      streamNames[i] = typeof stream === 'string' ? stream : undefined;
      if (uris[i] === undefined) {
        results[i] = failure('EG_ERR_SCHEMA_URI_MISSING', `Event has no schema URI in ${this.describeUriField()}.`);
        continue;
      }
      const schema = found[i];
      if (schema === undefined || schema instanceof Error) {
        results[i] = failureOf(schema ?? new EventGateError('EG_ERR_INTERNAL', `Schema ${uris[i]} was not loaded.`));
        continue;
      }
      // Before validation, as EventGate does: a schema may require meta.dt.
      if (enrich) enrich(record, schema.schema, request.headers, undefined, schema.lookup);
      if (!schema.validate(record)) {
        const errors = schema.validate.errors ?? [];
        results[i] = { status: 'invalid', code: 'EG_ERR_EVENT_INVALID', context: { errors, errorsText: errorsText(errors) } };
        continue;
      }
      if (typeof stream !== 'string' || stream.length === 0) {
        results[i] = failure('EG_ERR_STREAM_MISSING', `Event has no stream in ${this.opts.streamField}.`);
        continue;
      }
      const settings = streams?.get(stream);
      if (streams) {
        const refusal = checkStream(stream, schema.title, settings);
        if (refusal) {
          results[i] = failure(refusal.code, refusal.message);
          continue;
        }
      }
      const value = JSON.stringify(record);
      // JSON.parse reads 1e400 as Infinity, which JSON.stringify writes as null: refuse it rather than
      // change data. Only text with a null in it can hide one, so most events skip the walk.
      if (value.includes('null') && hasNonFiniteNumber(record)) {
        results[i] = failure('EG_ERR_EVENT_NUMBER_RANGE');
        continue;
      }
      results[i] = ACCEPTED;
      outboundIndex.push(i);
      outbound.push({
        stream,
        topic: settings ? topicFor(stream, settings, this.opts.topicPrefix) : this.opts.topicPrefix + stream,
        value,
        key: settings ? messageKey(record, settings) : null,
        timestamp: this.timestampOf(record, received),
      });
    }
    return { results, outbound, outboundIndex, streams: streamNames, uris };
  }

  private describeUriField(): string {
    const f = this.opts.schemaUriField;
    return typeof f === 'string' ? f : f.join(' or ');
  }

  private timestampOf(event: Record<string, unknown>, received: number): number | undefined {
    const dt = this.dtOf?.(event);
    const ms = typeof dt === 'string' ? timestampOf(dt) : undefined;
    const window = this.opts.timestampWindow;
    if (ms === undefined || !window) return ms;
    return ms >= received - window.pastMs && ms <= received + window.futureMs ? ms : received;
  }

  /** Loads every missing schema of a batch at once (bounded per request: SchemaRepository.getMany); failures are kept per URI. */
  private load(uris: Set<string>): Promise<Map<string, CompiledSchema | Error>> {
    return this.opts.schemas.getMany(uris);
  }
}
