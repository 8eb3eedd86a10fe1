/**
 * The config file's one JSON Schema. It validates the file, fills defaults
 * (ajv `useDefaults`) and, through `Infer`, is the TypeScript type of the
 * validated config. The shape is service-runner's, so an EventGate config
 * keeps working: top-level runtime settings, then `services[0].conf`.
 */
import { eventGateConf, loggingSchema, metricsEntrySchema, serviceRunnerService, serviceRunnerTopLevel, type LOG_LEVELS, type LOG_STREAMS } from './compat';
import { kafkaSchema } from './kafka-schema';
import { anyOf, anyOf3, arr, bool, int, json, nul, num, obj, record, str, type Infer } from './shape';
import { admissionSchema } from './admission';

/**
 * service-runner's num_workers: a number, or arithmetic of ncpu (`ncpu`,
 * `ncpu*2`, `ncpu/2`, `(ncpu-1)`); normalize.ts works it out without eval.
 */
export const NUM_WORKERS_PATTERN = '^\\s*ncpu\\s*$|^(?:(?:ncpu[\\s)*+\\-/])|[\\s()*+\\-/.\\d])+(?:ncpu)?$';

/** Answers are JSON, never a page: nothing may load, nothing may frame them. */
export const DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'";

export { kafkaSchema, MESSAGE_HEADER_NAMES } from './kafka-schema';

export const threadPoolSchema = obj(
  {
    enabled: bool({ default: true, description: 'Offload large batches to a worker-thread pool (parse, validate, serialize).' }),
    min_bytes: int({
      minimum: 1,
      default: 65536,
      description: 'A body (after inflating) of at least this many bytes goes to the pool.',
    }),
    min_events: int({
      minimum: 1,
      default: 200,
      description: 'A smaller body goes to the pool when it holds at least this many events, counted without parsing (occurrences of the schema URI field name).',
    }),
    max_threads: int({
      minimum: 0,
      default: 0,
      description: 'Threads per HTTP worker; 0: max(1, floor(available cores / HTTP workers)).',
    }),
    min_threads: int({ minimum: 0, default: 1, description: 'Threads kept alive when idle (warm schema caches); at most max_threads.' }),
    idle_timeout_ms: int({ minimum: 0, default: 60000, description: 'A thread above min_threads idle this long exits.' }),
    max_queue: int({
      minimum: 0,
      default: 32,
      description: 'Batches waiting for a thread, first come first served; one more is answered 503 with Retry-After. Bounds the memory held by waiting bodies.',
    }),
    task_timeout_ms: int({
      minimum: 1,
      default: 10000,
      description: 'How long a batch may wait for a thread (then 503), and then run on one (then 500, and the thread is terminated and replaced).',
    }),
    nice: int({
      minimum: 0,
      maximum: 19,
      default: 10,
      description:
        'Scheduling priority of each thread below the event loop (Linux nice, per thread): a thread busy with a large batch yields the cores to the event loop answering small requests. 0: the same priority.',
    }),
    heap_limit_mb: int({
      minimum: 0,
      default: 0,
      description: "Old-generation heap limit of each thread (V8 resourceLimits); a thread over it dies, its batch gets 500, and it is replaced. 0: V8's default.",
    }),
    young_generation_mb: int({
      minimum: 0,
      default: 128,
      description:
        "Young-generation size limit of each thread (V8 resourceLimits). A large batch's parsed events live until it is done: V8's default (~16 MB) scavenges many times per batch and copies them each time. 0: V8's default.",
    }),
  },
  { defaulted: true },
);

export const serviceConfSchema = obj(
  {
    port: int({ minimum: 0, maximum: 65535, default: 8192 }),
    interface: str({ default: '0.0.0.0', description: 'Address to listen on.' }),
    service_name: str({ default: 'eventgate', description: 'Name in /_info and in error events.' }),
    max_body_size: anyOf(int({ minimum: 1 }), str({ pattern: '^\\s*\\d+(\\.\\d+)?\\s*(b|kb|mb|gb)?\\s*$' }), {
      default: '10mb',
      description: 'Largest accepted body, after inflating: bytes, or a size such as 1mb.',
    }),
    request_timeout_ms: int({ minimum: 1, default: 30000, description: 'A body not fully arrived by then gets 408.' }),
    access_log: obj(
      {
        enabled: bool({ default: false, description: 'One info line per request (msg "access"): ids, route, status, duration, bytes, event counts; never bodies.' }),
        sample_rate: num({ minimum: 0, maximum: 1, default: 1, description: 'Share of requests logged, 0 to 1, drawn per request.' }),
      },
      { defaulted: true },
    ),
    max_event_depth: int({
      minimum: 1,
      default: 64,
      description: 'Deepest nesting of objects and arrays in one event (the event is 1); a deeper event is invalid (EG_ERR_EVENT_TOO_DEEP), its neighbours are answered as usual.',
    }),
    max_events_per_request: int({
      minimum: 1,
      default: 10000,
      description: 'Most events in one request; more is 413 EG_ERR_TOO_MANY_EVENTS, decided while reading the body, before any is validated.',
    }),
    max_answer_bytes: int({
      minimum: 1024,
      default: 1048576,
      description:
        "Budget of an answer's invalid/error items: items past it keep status, code and index but not the event and the ajv errors, so an answer stays near this size.",
    }),
    cors: anyOf(anyOf(str(), bool()), arr(str()), {
      default: '*',
      description:
        "Origins that may read answers: '*' or true (any), false (off), one origin, or a list of origins, each exact or a /regex/ matched against the whole Origin (reflected, with Vary: Origin).",
    }),
    cors_credentials: bool({
      default: false,
      description: 'Send Access-Control-Allow-Credentials: true (the origin is then reflected, never *), for credentialed fetch and JSON-Blob sendBeacon.',
    }),
    cors_allow_headers: arr(str(), { default: [], description: 'Request headers a CORS preflight allows besides the usual ones (e.g. traceparent).' }),
    csp: anyOf(str(), bool(), {
      default: DEFAULT_CSP,
      description: "Content-Security-Policy header on every answer. EventGate's false is accepted and has no effect: answers are JSON, never a page, and keep this policy.",
    }),
    schema_uri_field: anyOf(str(), arr(str(), { minItems: 1 }), {
      default: '$schema',
      description: 'Field holding the schema URI (dotted path), or a list tried in order.',
    }),
    schema_base_uris: arr(str(), {
      default: ['./schemas'],
      description: 'Bases tried in order: paths (relative to the config file), file:// or http(s):// URIs.',
    }),
    schema_file_extension: str({ description: 'Appended to schema URIs that have no extension, e.g. .yaml.' }),
    schema_precache_uris: arr(str(), { default: [], description: 'Schemas compiled at startup.' }),
    allow_absolute_schema_uris: bool({ default: false }),
    allow_insecure_schemas: bool({ default: false }),
    schema_negative_cache_ttl_ms: int({ minimum: 0, default: 10000, description: 'How long a failed look-up is remembered.' }),
    schema_fetch_timeout_ms: int({ minimum: 1, default: 5000, description: 'Deadline of one http(s) schema fetch, and of its wait for a turn (schema_limits.max_concurrent_fetches).' }),
    schema_limits: obj(
      {
        max_concurrent_fetches: int({
          minimum: 1,
          default: 8,
          description:
            'http(s) schema fetches in flight at once, per worker process (its pool threads fetch through its main thread); more wait their turn, in order, up to schema_fetch_timeout_ms, then the event is an error (EG_ERR_SCHEMA_FETCH_BUSY, 503).',
        }),
        max_new_per_request: int({
          minimum: 1,
          default: 50,
          description:
            'Distinct schemas, neither cached nor already loading, that one request may have looked up (the first ones it names); events naming the others are errors (EG_ERR_SCHEMA_LOOKUP_LIMIT, 503), with no fetch.',
        }),
        max_cached: int({
          minimum: 1,
          default: 1000,
          description: 'Compiled schemas held by a worker process, and by each of its pool threads (each compiles its own); past it the least recently used one is dropped (and fetched again when next named).',
        }),
        max_failures_cached: int({
          minimum: 0,
          default: 10000,
          description: 'Failed look-ups held (for schema_negative_cache_ttl_ms) per worker process and per pool thread; past it the oldest is forgotten.',
        }),
      },
      { defaulted: true, description: 'Bounds on what clients can make the schema repository do and hold.' },
    ),
    stream_field: anyOf(str(), arr(str(), { minItems: 1 }), {
      default: 'meta.stream',
      description: "Dotted path of the stream name. EventGate's list is accepted: its first field is read (a note says so when there are more).",
    }),
    topic_prefix: str({ default: '' }),
    stream_config_uri: str({
      description: 'Stream config: a YAML/JSON file (relative to the config file), file:// or http(s):// URL. Unset: any schema may go to any stream.',
    }),
    stream_config_uri_options: obj({ headers: record(str()) }, { description: 'Request headers sent when fetching an http(s) stream_config_uri.' }),
    stream_config_object_path: str({ description: "Dotted path of the stream map in the loaded document, e.g. 'streams' for EventStreamConfig." }),
    stream_config_ttl: int({ minimum: 0, default: 0, description: 'Seconds between background reloads of the stream config; 0 loads it once.' }),
    stream_config_retries: int({ minimum: 0, default: 3, description: 'Extra attempts, with back-off, to load the stream config at startup.' }),
    stream_config_timeout_ms: int({ minimum: 1, default: 10000, description: 'Deadline of one stream config load.' }),
    http_request_headers_to_fields: record(str(), {
      default: { 'user-agent': 'http.request_headers.user-agent', 'x-request-id': 'meta.request_id' },
      description: 'Request header -> dotted event field, set when absent and declared by the schema (values cut to 400 chars).',
    }),
    schema_uri_query_param: str({ description: 'Query parameter whose value fills an absent schema URI field.' }),
    stream_query_param: str({ description: 'Query parameter whose value fills an absent stream field.' }),
    id_field: str({ default: 'meta.id', description: "Set to a new UUID when absent and declared by the schema; '' turns it off." }),
    dt_field: str({ default: 'meta.dt', description: "Set to the time of receipt (ISO 8601) when absent and declared by the schema; '' turns it off." }),
    timestamp_max_past_ms: int({
      minimum: 0,
      default: 86400000,
      description:
        'An event time (dt_field) up to this long before its receipt is its Kafka message timestamp; an older one gets the time of receipt (time-based retention would delete it early).',
    }),
    timestamp_max_future_ms: int({
      minimum: 0,
      default: 600000,
      description:
        "An event time up to this long after its receipt is its Kafka message timestamp; a later one gets the time of receipt (brokers refuse a record batch past log.message.timestamp.after.max.ms, 1 h by default, failing its other events). Keep it below the brokers' limit.",
    }),
    error_stream: str({ description: 'Stream that gets an error event for each invalid event.' }),
    error_schema_uri: str({ default: '/error/1.0.0', description: 'Schema URI error events are given.' }),
    test_events: arr(json(), { description: 'Events GET /v1/_test/events processes.' }),
    output_path: anyOf(str(), nul(), {
      default: 'stdout',
      description: 'File sink (when there is no kafka.conf): stdout or a path. null (EventGate: no file sink) only with kafka.conf.',
    }),
    failed_events_path: str({
      default: './failed-events.ndjson',
      description: 'Spool (NDJSON) of valid events Kafka did not take; `eventgate replay FILE` produces them again.',
    }),
    kafka: kafkaSchema,
    batch: obj({ thread_pool: threadPoolSchema }, { defaulted: true, description: 'Large batches: see docs and README (Thread pool).' }),
    ...eventGateConf,
    admission: admissionSchema,
  },
  { defaulted: true },
);

export const configSchema = obj({
  num_workers: anyOf(int({ minimum: 0 }), str({ pattern: NUM_WORKERS_PATTERN }), {
    default: 0,
    description: "HTTP worker processes: a number, ncpu, ncpu*K, or an arithmetic expression of ncpu as service-runner takes (ncpu/2, ncpu-1), floored; 0 runs one process.",
  }),
  worker_heap_limit_mb: int({ minimum: 1, default: 300 }),
  worker_heartbeat_timeout: anyOf(int({ minimum: 1 }), bool(), {
    default: 7500,
    description: 'A worker silent this long (ms) is killed and replaced; false: never (as service-runner).',
  }),
  startup_attempts: int({ minimum: 1, default: 3 }),
  shutdown_timeout_ms: int({ minimum: 1, default: 10000 }),
  shutdown_signal_merge_ms: int({
    minimum: 0,
    default: 500,
    description:
      'A second SIGTERM/SIGINT this soon after the first is the same request to stop (Ctrl-C on npm start: the terminal signals the whole group and npm forwards its own); a later one exits at once, non-zero. 0: every second signal exits at once.',
  }),
  drain_idle_grace_ms: int({
    minimum: 0,
    default: 1000,
    description:
      'While a worker (or the single process) drains, a keep-alive connection with no request is closed once it has been idle this long; a request sent on it before then is answered (with Connection: close). 0 closes idle connections at once. Keep it below shutdown_timeout_ms.',
  }),
  worker_startup_timeout_ms: int({
    minimum: 1,
    default: 60000,
    description: 'A worker not listening this long after its fork is killed and counts as a failed start.',
  }),
  ready_timeout_ms: int({
    minimum: 0,
    default: 10000,
    description:
      'How long a new worker (or, with num_workers 0, a reloaded config) waits for its producers to connect before it takes requests; past it, it takes them anyway.',
  }),
  worker_restart_delay_ms: int({
    minimum: 0,
    default: 500,
    description: 'Delay before replacing a crashed worker; doubles with each crash in a row.',
  }),
  worker_restart_delay_max_ms: int({
    minimum: 0,
    default: 30000,
    description: 'Ceiling of the restart delay; a crash this long after the previous one starts over.',
  }),
  debug_mode: bool({ default: false }),
  debug_inspect_port_base: int({
    minimum: 1,
    maximum: 65535,
    default: 9229,
    description: 'Debug mode: worker N listens for the inspector on 127.0.0.1:(base + N).',
  }),
  debug_dir: str({
    description:
      'Debug mode: folder of the V8 logs, kept after a stop (relative to the config file). Unset: a folder of this master in the OS temp folder, removed on a normal stop.',
  }),
  debug_node_flags: arr(str(), {
    default: ['--prof', '--perf-basic-prof'],
    description:
      'Debug mode: node flags of the workers, besides --inspect and --logfile. --interpreted-frames-native-stack is refused beside --prof (a V8 deadlock: docs/profiling.md).',
  }),
  logging: loggingSchema,
  metrics: anyOf3(metricsEntrySchema, arr(metricsEntrySchema), nul(), {
    default: [],
    description: 'Metrics targets: one entry or a list (service-runner), each statsd, prometheus or log; null (a key left with its entries commented out) is none.',
  }),
  ...serviceRunnerTopLevel,
  services: arr(
    obj(
      {
        name: str({ default: 'eventgate' }),
        ...serviceRunnerService,
        conf: serviceConfSchema,
      },
      { defaulted: true },
    ),
    { minItems: 1, maxItems: 1, default: [{} as never] },
  ),
});

/** The config as the file gives it (after defaults); normalize.ts makes a Config of it. */
export type RawConfig = Infer<typeof configSchema>;
type RawServiceConf = Infer<typeof serviceConfSchema>;
export type KafkaConf = Infer<typeof kafkaSchema>;
export type ThreadPoolConf = Infer<typeof threadPoolSchema>;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogStream = (typeof LOG_STREAMS)[number];

/** One metrics target, whatever shape the file gave (normalize.ts). */
export interface MetricsEntry {
  readonly type: 'statsd' | 'prometheus';
  /** service-runner's service name: when set, the target also gets EventGate's series (docs/metrics.md). */
  readonly name?: string;
  readonly host: string;
  readonly port: number;
  /** statsd: prepended to every name with a dot. */
  readonly prefix: string;
  /** statsd: service-runner's batching; false sends a packet per sample. Always set by normalize.ts. */
  readonly batch?: false | { readonly max_size: number; readonly max_delay: number };
}

/** One log stream eventgate writes (logging.streams, or logging.stream). */
export type LogStreamEntry =
  | { readonly type: LogStream; readonly level?: LogLevel; readonly named_levels: boolean }
  | { readonly type: 'file'; readonly path: string; readonly level?: LogLevel; readonly named_levels: boolean };

export type ServiceConf = Omit<RawServiceConf, 'stream_field' | 'output_path' | 'csp'> & {
  stream_field: string;
  output_path: string;
  csp: string;
};

export type Config = Omit<RawConfig, 'metrics' | 'logging' | 'worker_heartbeat_timeout' | 'services'> & {
  metrics: MetricsEntry[];
  /** `streams` empty: one stream, `stream` or its default (outputs.ts logStreamOf). */
  logging: Omit<RawConfig['logging'], 'streams'> & { streams: LogStreamEntry[] };
  worker_heartbeat_timeout: number;
  services: (Omit<RawConfig['services'][number], 'conf'> & { conf: ServiceConf })[];
};
