/**
 * The parts of the config schema that exist so that a service-runner /
 * EventGate 1.8 / eventgate-wikimedia config loads unchanged: the shapes
 * those programs accept (metrics as one object or a list, logging.streams,
 * service-runner's runtime keys, EventGate's conf keys). What each one does
 * here is decided in normalize.ts (the same meaning) or notes.ts (accepted,
 * no effect); docs/migrating.md lists them all.
 */
import { anyOf, arr, bool, int, json, literalUnion, num, obj, record, requiredWhen, str } from './shape';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
/** The one-stream form, logging.stream. */
export const LOG_STREAMS = ['stdout', 'stderr'] as const;

/** Stream types eventgate writes itself; service-runner's others are refused by name (normalize.ts). */
export const SERVED_LOG_STREAMS = ['stdout', 'stderr', 'file'] as const;

/**
 * One entry of `logging.streams`, as service-runner (and bunyan under it)
 * takes them. The gelf/syslog fields are accepted so that such an entry is
 * refused once, for its type, not once per field.
 */
const logStreamSchema = obj({
  type: str({ description: 'stdout, stderr or file (with path); a path alone is a file; debug is stdout. gelf, syslog and the rest are refused.' }),
  path: str({ description: 'file: the log file (relative to the config file), appended to.' }),
  level: literalUnion(LOG_LEVELS, { description: 'Lowest level on this stream; default logging.level.' }),
  named_levels: bool({ description: 'Write the level as its upper-case name (INFO), not its number, as service-runner does.' }),
  host: str(),
  port: int(),
  uris: str(),
  options: json(),
  facility: str(),
  prefix: str(),
  name: str(),
});

export const loggingSchema = obj(
  {
    name: str({ default: 'eventgate' }),
    level: literalUnion(LOG_LEVELS, { default: 'info' }),
    stream: literalUnion(LOG_STREAMS, {
      description: 'Where log lines go. Default: stderr when events go to stdout (output_path: stdout, no kafka), else stdout. Use streams for more than one.',
    }),
    streams: arr(logStreamSchema, {
      description: "service-runner's list of log streams: stdout and stderr (named_levels), file (path). Replaces stream.",
    }),
    sampled_levels: record(num(), { description: 'service-runner: accepted, no effect (docs/migrating.md).' }),
  },
  { defaulted: true },
);

/**
 * One entry of `metrics` as the file gives it. A prometheus entry must name
 * its port: the statsd default (8125) is no port to serve scrapes on.
 */
export const metricsEntrySchema = requiredWhen(
  obj({
    type: literalUnion(['statsd', 'prometheus', 'log'] as const, {
      default: 'statsd',
      description: 'statsd, prometheus, or log (service-runner: metrics as log lines; accepted, no effect here).',
    }),
    name: str({
      minLength: 1,
      description:
        "service-runner's service name. When set, this target also gets EventGate's series, as EventGate, eventgate-wikimedia and service-runner send them (statsd: under `<name>.`; prometheus: their names with `service=<name>`): see docs/metrics.md.",
    }),
    host: str({
      description: 'statsd: where to send (default localhost). prometheus: the address the scrape endpoint listens on (default all interfaces, as service-runner).',
    }),
    port: int({ minimum: 0, maximum: 65535, description: 'statsd: where to send (default 8125). prometheus (required): the scrape port; 0 picks a free one.' }),
    prefix: str({ description: "statsd only: prepended to every name of eventgate's own series with a dot. Default eventgate." }),
    batch: anyOf(bool(), obj({ max_size: int({ minimum: 1 }), max_delay: int({ minimum: 0 }) }), {
      description: "statsd: service-runner's batching (false: one packet per sample; max_size bytes, max_delay ms). Default max_size 1500, max_delay 1000.",
    }),
  }),
  { type: 'prometheus' },
  ['port'],
);

/** service-runner's runtime keys that are not eventgate's own (normalize.ts / notes.ts say what each does). */
export const serviceRunnerTopLevel = {
  service_name: str({ description: 'service-runner 6 / service-utils: accepted, no effect (services[0].conf.service_name names the service).' }),
  startup_concurrency: int({ minimum: 1, description: 'service-runner: accepted, no effect (the first worker starts alone, then the others together).' }),
  ratelimiter: json({ description: 'service-runner: accepted, no effect (no rate limiter here).' }),
  ratelimit: json({ description: 'service-runner README spelling of ratelimiter: accepted, no effect.' }),
  dns_cache: anyOf(bool(), obj({ ttl: int(), size: int() }), { description: 'service-runner: accepted, no effect (the OS resolver answers).' }),
  app_base_path: str({ description: 'service-runner: accepted, no effect (paths are relative to the config file).' }),
  info: json({ description: "service-runner: /_info's name and description; accepted, no effect (/_info says eventgate)." }),
  version: json({ description: 'service-runner: the version /_info reports; accepted, no effect.' }),
};

/** service-runner's keys of a `services[]` entry besides name and conf. */
export const serviceRunnerService = {
  module: str({ description: 'service-runner: the module to load; accepted, no effect (eventgate is the service).' }),
  entrypoint: str({ description: 'service-runner: the export of module to run; accepted, no effect.' }),
  app_base_path: str({ description: 'service-runner: accepted, no effect.' }),
  version: str({ description: "service-runner: the npm version constraint of module; accepted, no effect." }),
};

/** EventGate 1.8 and eventgate-wikimedia keys of `conf` that eventgate has no setting of its own for. */
export const eventGateConf = {
  user_agent: str({
    description: 'User-Agent of http(s) schema and stream config fetches, and the start of the default Kafka client.id (<user_agent>-producer-<guaranteed|hasty>, as eventgate-wikimedia). Default eventgate.',
  }),
  eventgate_factory_module: str({
    description: "EventGate's factory module: its default factory and eventgate-wikimedia's are the built-in behaviour; any other is refused.",
  }),
  schema_base_uri: str({
    description: "EventGate's one schema base before schema_base_uris (its 2019 configs): taken as schema_base_uris: [it] when schema_base_uris is not set.",
  }),
  compression_level: int({ minimum: -1, maximum: 9, description: 'EventGate: gzip level of answers; accepted, no effect (answers are a few bytes).' }),
  log_header_whitelist: arr(str(), { description: 'EventGate: request headers in its request logs; accepted, no effect (access_log has its own fields).' }),
  proxy: str({ description: 'EventGate: HTTP_PROXY of outgoing requests; accepted, no effect (set HTTP_PROXY yourself if needed).' }),
  no_proxy_list: anyOf(str(), arr(str()), { description: 'EventGate: NO_PROXY with proxy; accepted, no effect.' }),
  spec: json({ description: 'EventGate: the OpenAPI spec file or object; accepted, no effect (GET /?spec serves eventgate\'s own).' }),
  transforms: arr(str(), { description: 'eventgate-wikimedia: event transforms; accepted, eventgateWikimediaDefaults is the built-in enrichment, others have no effect.' }),
  test_kitchen: json({ description: 'eventgate-wikimedia testKitchen transform settings; accepted, no effect.' }),
};
