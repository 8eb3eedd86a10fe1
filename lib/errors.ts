/**
 * The error catalogue: every error eventgate reports has a stable code here.
 *
 * `status` is the HTTP status when the error answers a whole request.
 * `event` says how the error classifies a single event in a batch: an
 * `invalid` event is the client's fault and will not succeed if retried; an
 * `error` event failed on our side (or a dependency's) and may succeed later.
 * Match on `code`, never on message text or `instanceof` across a thread or
 * process boundary: structured clone and IPC lose classes.
 *
 * docs/errors.md lists the same codes; test/errors.test.ts keeps them in step.
 */

export type EventOutcome = 'invalid' | 'error';

export interface ErrorSpec {
  /** HTTP status when this error answers a request. */
  readonly status?: number;
  /** How an event failing with this error is reported, when it is per event. */
  readonly event?: EventOutcome;
  readonly message: string;
}

export const ERRORS = {
  // Request level.
  EG_ERR_BODY_EMPTY: { status: 400, message: 'Request body was empty. Must provide JSON encoded events.' },
  EG_ERR_BODY_MALFORMED: { status: 400, message: 'Request body is not valid JSON.' },
  EG_ERR_BODY_NOT_EVENTS: { status: 400, message: 'Request body must be a JSON object or an array of JSON objects.' },
  EG_ERR_BODY_TOO_LARGE: { status: 413, message: 'Request body is larger than the configured max_body_size.' },
  EG_ERR_TOO_MANY_EVENTS: { status: 413, message: 'Request holds more events than the configured max_events_per_request.' },
  EG_ERR_BODY_ABORTED: { status: 400, message: 'Request body was not received completely.' },
  EG_ERR_CONTENT_TYPE: { status: 415, message: 'Unsupported content type: use application/json.' },
  EG_ERR_CONTENT_ENCODING: { status: 415, message: 'Unsupported content encoding: use identity, gzip or deflate.' },
  EG_ERR_BODY_ENCODING: { status: 400, message: 'Request body could not be decoded with its Content-Encoding.' },
  EG_ERR_REQUEST_TIMEOUT: { status: 408, message: 'Request body did not arrive within request_timeout_ms.' },
  EG_ERR_NOT_FOUND: { status: 404, message: 'No such route.' },
  EG_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed on this route.' },
  EG_ERR_TEST_EVENTS_DISABLED: { status: 404, message: 'test_events is not configured.' },
  EG_ERR_NOT_READY: { status: 503, message: 'The service is not ready.' },
  EG_ERR_INTERNAL: { status: 500, message: 'Internal error.' },
  EG_ERR_POOL_FULL: {
    status: 503,
    message: 'The thread pool is busy (batch.thread_pool.max_queue batches wait already, or none of its threads was free within task_timeout_ms): retry later.',
  },
  EG_ERR_MEMORY_BUSY: {
    status: 503,
    message: "The worker's memory for request bodies is taken by other requests now (admission): retry later.",
  },
  EG_ERR_BODY_OVER_BUDGET: {
    status: 413,
    message: 'Request body needs more memory than a worker has for bodies (admission: body_memory, body_expansion), even when idle.',
  },
  EG_ERR_EVENT_LOOP_BUSY: { status: 503, message: 'The worker is overloaded (its event loop lags past admission.max_event_loop_delay_ms): retry later.' },
  EG_ERR_TOO_MANY_CONNECTIONS: { status: 503, message: 'The worker has admission.max_connections connections open, none of them idle: retry later.' },
  EG_ERR_POOL_TASK: { status: 500, message: 'The thread processing this batch failed; the batch was not accepted.' },
  EG_ERR_POOL_TIMEOUT: {
    status: 500,
    message: 'The thread processing this batch did not finish within batch.thread_pool.task_timeout_ms; the batch was not accepted.',
  },

  // Per event: the client's fault.
  EG_ERR_EVENT_NOT_OBJECT: { event: 'invalid', message: 'Event must be a JSON object.' },
  EG_ERR_EVENT_INVALID: { event: 'invalid', message: 'Event failed schema validation.' },
  EG_ERR_EVENT_TOO_DEEP: { event: 'invalid', message: 'Event is nested deeper than the configured max_event_depth.' },
  EG_ERR_EVENT_NUMBER_RANGE: { event: 'invalid', message: 'Event holds a number that does not fit a double.' },
  EG_ERR_SCHEMA_URI_MISSING: { event: 'invalid', message: 'Event has no schema URI field.' },
  EG_ERR_SCHEMA_URI_INVALID: { event: 'invalid', message: 'Schema URI is not a valid URI.' },
  EG_ERR_SCHEMA_URI_ABSOLUTE: { event: 'invalid', message: 'Absolute schema URIs are not allowed (allow_absolute_schema_uris).' },
  EG_ERR_SCHEMA_URI_ESCAPE: { event: 'invalid', message: 'Schema URI leaves its base URI.' },
  EG_ERR_SCHEMA_NOT_FOUND: { event: 'invalid', message: 'Schema not found at any schema base URI.' },
  EG_ERR_SCHEMA_INSECURE: { event: 'invalid', message: 'Schema is insecure (allow_insecure_schemas is off).' },
  EG_ERR_STREAM_MISSING: { event: 'invalid', message: 'Event has no stream field.' },
  EG_ERR_STREAM_NOT_CONFIGURED: { event: 'invalid', message: 'Stream is not in the stream config this service serves.' },
  EG_ERR_STREAM_SCHEMA_TITLE: { event: 'invalid', message: "Event's schema title is not the schema_title its stream requires." },

  // Per event: our side, retryable or an operator's problem.
  EG_ERR_SCHEMA_FETCH: { event: 'error', message: 'Schema could not be fetched.' },
  EG_ERR_SCHEMA_PARSE: { event: 'error', message: 'Schema is not valid YAML or JSON.' },
  EG_ERR_SCHEMA_COMPILE: { event: 'error', message: 'Schema could not be compiled.' },
  EG_ERR_SCHEMA_FETCH_BUSY: {
    status: 503,
    event: 'error',
    message: 'Schema was not fetched: schema_limits.max_concurrent_fetches fetches were in flight for schema_fetch_timeout_ms; retry later.',
  },
  EG_ERR_SCHEMA_LOOKUP_LIMIT: {
    status: 503,
    event: 'error',
    message: 'Schema was not looked up: the request names more schemas not yet loaded than schema_limits.max_new_per_request; send the event again.',
  },
  EG_ERR_SINK_WRITE: { event: 'error', message: 'Event could not be written to the sink.' },
  EG_ERR_KAFKA_DELIVERY: { event: 'error', message: 'Kafka refused the event.' },
  EG_ERR_KAFKA_TIMEOUT: { status: 503, event: 'error', message: 'Kafka did not acknowledge the event within kafka.produce_timeout_ms.' },
  EG_ERR_KAFKA_UNAVAILABLE: { status: 503, event: 'error', message: 'Kafka is not reachable.' },
  EG_ERR_KAFKA_QUEUE_FULL: {
    status: 503,
    event: 'error',
    message: 'The Kafka producer is full: librdkafka\'s queue, or the events awaiting delivery reports (kafka.max_pending_events, kafka.max_pending_bytes).',
  },
  EG_ERR_KAFKA_CLOSED: { status: 503, event: 'error', message: 'The Kafka producer closed before the event was acknowledged.' },
  EG_ERR_KAFKA_FATAL: { status: 503, event: 'error', message: 'The Kafka producer failed (a fatal librdkafka error) before the event was acknowledged; it is being replaced.' },
  EG_ERR_KAFKA_AUTH: {
    status: 503,
    event: 'error',
    message: 'Kafka refused the producer: SASL authentication or the TLS handshake failed (credentials, sasl.mechanisms, ssl.ca.location).',
  },

  // Startup and operations: never reach a client.
  EG_ERR_CONFIG_READ: { message: 'Config file could not be read.' },
  EG_ERR_CONFIG_INVALID: { message: 'Config file is invalid.' },
  EG_ERR_SERVICE_CLOSING: { message: 'The service is closing: a reload was refused.' },
  EG_ERR_SCHEMA_PRECACHE: { message: 'A schema in schema_precache_uris could not be loaded.' },
  EG_ERR_KAFKA_CONNECT: { message: 'A Kafka producer could not connect within its timeout.' },
  EG_ERR_PORT_IN_USE: { message: 'The port eventgate should listen on (services[0].conf.port, interface) is in use by another process.' },
  EG_ERR_LISTEN: { message: 'eventgate could not listen on services[0].conf.port and interface (not permitted, or no such address).' },
  EG_ERR_SPOOL_WRITE: { message: 'Failed events could not be appended to failed_events_path.' },
  EG_ERR_SPOOL_READ: { message: 'A failed-events spool file could not be read.' },
  EG_ERR_STREAM_CONFIG_FETCH: { message: 'Stream config could not be read from stream_config_uri.' },
  EG_ERR_STREAM_CONFIG_INVALID: { message: 'Stream config was read but is not usable (syntax, an error in the body, or its shape).' },
  EG_ERR_WORKER_COUNT: { message: 'Not a worker count: use a number, ncpu or ncpu*K.' },
  EG_ERR_WORKER_ENTRY: { message: 'The worker entry runs only in a cluster worker the master forks; run eventgate instead.' },
  EG_ERR_WORKER_EXITED: { message: 'A worker exited before it listened.' },
  EG_ERR_WORKER_STARTUP_TIMEOUT: { message: 'A worker did not listen within worker_startup_timeout_ms.' },
  EG_ERR_MASTER_STOPPING: { message: 'The master is stopping: it starts no more workers.' },
  EG_ERR_METRICS_LISTEN: { message: 'The Prometheus metrics endpoint could not listen on its port.' },
  EG_ERR_UNCAUGHT: { message: 'An uncaught exception or unhandled rejection ended the process.' },
  EG_ERR_SCHEMA_BASE_MISSING: { message: 'A schema base folder of schema_base_uris does not exist.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The one error class eventgate throws for faults it knows. */
export class EventGateError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: unknown }) {
    super(message ?? ERRORS[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EventGateError';
    this.code = code;
    this.details = options?.details;
  }

  get status(): number | undefined {
    return statusOf(this.code);
  }
}

export function statusOf(code: ErrorCode): number | undefined {
  const spec: ErrorSpec = ERRORS[code];
  return spec.status;
}

export function eventOutcomeOf(code: ErrorCode): EventOutcome {
  const spec: ErrorSpec = ERRORS[code];
  return spec.event ?? 'error';
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERRORS, code);
}

/** The code of any thrown value: ours when it carries one, EG_ERR_INTERNAL otherwise. */
export function codeOf(err: unknown): ErrorCode {
  const code = (err as { code?: unknown } | null)?.code;
  return isErrorCode(code) ? code : 'EG_ERR_INTERNAL';
}

/** The message of any thrown value: an Error's message, else its string form (a throw can carry anything). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
