import { randomUUID } from 'node:crypto';
import type { ServiceConf } from '../config/schema';
import type { ErrorCode } from '../errors';
import type { InvalidContext } from './result';
import type { Validated } from './validate';
import { setField } from '../event/fields';

export interface ErrorEventOptions {
  /** Stream the error events go to (`error_stream`). */
  readonly stream: string;
  /** Schema of error events (`error_schema_uri`). */
  readonly schemaUri: string;
  /** Who emits them: this service's `service_name`. */
  readonly emitterId: string;
  readonly schemaUriField: string;
  readonly streamField: string;
}

/** The options a service config gives error events; undefined without `error_stream`. */
export function errorEventOptionsOf(conf: ServiceConf): ErrorEventOptions | undefined {
  if (!conf.error_stream) return undefined;
  return {
    stream: conf.error_stream,
    schemaUri: conf.error_schema_uri,
    emitterId: conf.service_name,
    schemaUriField: typeof conf.schema_uri_field === 'string' ? conf.schema_uri_field : conf.schema_uri_field[0],
    streamField: conf.stream_field,
  };
}

export interface InvalidEvent {
  readonly event: unknown;
  readonly code: ErrorCode;
  readonly context: InvalidContext;
  readonly schemaUri?: string;
  readonly stream?: string;
}

/**
 * The error event that reports one invalid event, in the shape of the bundled
 * error schema: the raw event as a string (it may not even be an object), the
 * validation message, and the schema and stream it named.
 */
export function errorEventFor(invalid: InvalidEvent, opts: ErrorEventOptions, now: Date = new Date()): Record<string, unknown> {
  const dt = now.toISOString();
  const out: Record<string, unknown> = {};
  setField(out, opts.schemaUriField, opts.schemaUri);
  setField(out, 'meta.id', randomUUID());
  setField(out, 'meta.dt', dt);
  setField(out, opts.streamField, opts.stream);
  // Required by the bundled error schema: without it every error event is itself invalid.
  out.dt = dt;
  out.emitter_id = opts.emitterId;
  out.error_code = invalid.code;
  out.raw_event = JSON.stringify(invalid.event) ?? String(invalid.event);
  out.message = invalid.context.errorsText;
  out.errored_schema_uri = invalid.schemaUri ?? '';
  out.errored_stream_name = invalid.stream ?? '';
  return out;
}

/** An error event for each invalid event of a validated batch, in input order. */
export function errorEventsOf(events: readonly unknown[], validated: Validated, opts: ErrorEventOptions): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const { results } = validated;
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if (r.status !== 'invalid') continue;
    out.push(errorEventFor({ event: events[i], code: r.code, context: r.context, schemaUri: validated.uris[i], stream: validated.streams[i] }, opts));
  }
  return out;
}
