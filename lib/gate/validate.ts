import { codeOf, eventOutcomeOf, EventGateError, ERRORS, type ErrorCode } from '../errors';
import type { CompiledSchema, SchemaRepository } from '../schema';
import type { OutboundEvent } from '../sink/sink';
import { errorsText } from './errors-text';
import { fieldGetter, firstStringGetter, hasNonFiniteNumber } from './fields';
import { ACCEPTED, type EventResult, type FailedResult } from './result';

export interface ValidatorOptions {
  readonly schemas: SchemaRepository;
  readonly schemaUriField: string | readonly string[];
  readonly streamField: string;
  readonly topicPrefix: string;
  /** Path of the event time, used as the Kafka message timestamp. */
  readonly dtField?: string;
}

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

  async validate(events: readonly unknown[], checkNumbers: boolean): Promise<Validated> {
    const { schemas } = this.opts;
    const uris: (string | undefined)[] = new Array<string | undefined>(events.length);
    let missing: Set<string> | undefined;
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      if (event === null || typeof event !== 'object' || Array.isArray(event)) continue;
      const uri = this.schemaUriOf(event as Record<string, unknown>);
      uris[i] = uri;
      if (uri !== undefined && schemas.peek(uri) === undefined) (missing ??= new Set()).add(uri);
    }
    const loaded = missing ? await this.load(missing) : undefined;

    const results: EventResult[] = new Array<EventResult>(events.length);
    const outbound: OutboundEvent[] = [];
    const outboundIndex: number[] = [];
    const streams: (string | undefined)[] = new Array<string | undefined>(events.length);
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      if (event === null || typeof event !== 'object' || Array.isArray(event)) {
        results[i] = failure('EG_ERR_EVENT_NOT_OBJECT');
        continue;
      }
      const record = event as Record<string, unknown>;
      const stream = this.streamOf(record);
      streams[i] = typeof stream === 'string' ? stream : undefined;
      const uri = uris[i];
      if (uri === undefined) {
        results[i] = failure('EG_ERR_SCHEMA_URI_MISSING', `Event has no schema URI in ${this.describeUriField()}.`);
        continue;
      }
      const schema = schemas.peek(uri) ?? loaded?.get(uri);
      if (schema === undefined || schema instanceof EventGateError || schema instanceof Error) {
        results[i] = failureOf(schema ?? new EventGateError('EG_ERR_INTERNAL', `Schema ${uri} was not loaded.`));
        continue;
      }
      if (checkNumbers && hasNonFiniteNumber(record)) {
        results[i] = failure('EG_ERR_EVENT_NUMBER_RANGE');
        continue;
      }
      if (!schema.validate(record)) {
        const errors = schema.validate.errors ?? [];
        results[i] = { status: 'invalid', code: 'EG_ERR_EVENT_INVALID', context: { errors, errorsText: errorsText(errors) } };
        continue;
      }
      if (typeof stream !== 'string' || stream.length === 0) {
        results[i] = failure('EG_ERR_STREAM_MISSING', `Event has no stream in ${this.opts.streamField}.`);
        continue;
      }
      results[i] = ACCEPTED;
      outboundIndex.push(i);
      outbound.push({
        stream,
        topic: this.opts.topicPrefix + stream,
        value: Buffer.from(JSON.stringify(record)),
        timestamp: this.timestampOf(record),
      });
    }
    return { results, outbound, outboundIndex, streams, uris };
  }

  private describeUriField(): string {
    const f = this.opts.schemaUriField;
    return typeof f === 'string' ? f : f.join(' or ');
  }

  private timestampOf(event: Record<string, unknown>): number | undefined {
    const dt = this.dtOf?.(event);
    if (typeof dt !== 'string') return undefined;
    const ms = Date.parse(dt);
    return Number.isNaN(ms) ? undefined : ms;
  }

  /** Loads every missing schema of a batch at once; failures are kept per URI. */
  private async load(uris: Set<string>): Promise<Map<string, CompiledSchema | Error>> {
    const list = [...uris];
    const settled = await Promise.allSettled(list.map((u) => this.opts.schemas.get(u)));
    const out = new Map<string, CompiledSchema | Error>();
    settled.forEach((s, i) => {
      out.set(list[i], s.status === 'fulfilled' ? s.value : s.reason instanceof Error ? s.reason : new Error(String(s.reason)));
    });
    return out;
  }
}
