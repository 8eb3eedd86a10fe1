/**
 * Keys of service-runner, EventGate and eventgate-wikimedia that a config may
 * hold and that do nothing here, each with the reason: logged once at start
 * and listed by --check-config, so that an operator moving a config over
 * knows what it no longer does. docs/migrating.md has the same reasons.
 */
import type { RawConfig } from './schema';

export interface ConfigNote {
  /** Config path, as problems give it: `services[0].conf.proxy`. */
  readonly path: string;
  readonly reason: string;
}

const TOP_LEVEL: Readonly<Record<string, string>> = {
  service_name: 'services[0].conf.service_name names the service here',
  startup_concurrency: 'the first worker starts alone, then the others all together',
  ratelimiter: 'eventgate has no rate limiter; bound requests in front of it',
  ratelimit: 'eventgate has no rate limiter; bound requests in front of it',
  dns_cache: "host names are resolved by the OS resolver (librdkafka caches brokers' addresses itself)",
  app_base_path: 'paths are relative to the config file; there is no module to load',
  info: "/_info reports eventgate's own name and description",
  version: "/_info reports eventgate's own version",
};

const SERVICE: Readonly<Record<string, string>> = {
  module: 'eventgate is the service; there is no module to load',
  entrypoint: 'eventgate is the service; there is no module to load',
  app_base_path: 'paths are relative to the config file; there is no module to load',
  version: 'eventgate is the service; there is no npm package to load',
};

const CONF: Readonly<Record<string, string>> = {
  compression_level: 'answers are a status line and at most a small JSON body: they are not compressed',
  log_header_whitelist: 'access_log (services[0].conf.access_log) logs a fixed set of request fields, never other headers',
  proxy: 'outgoing requests (schemas, stream config) go direct; set HTTP_PROXY in the environment of a proxy-aware setup instead',
  no_proxy_list: 'outgoing requests go direct (see proxy)',
  spec: "GET /?spec serves eventgate's own OpenAPI document",
  test_kitchen: "eventgate-wikimedia's testKitchen transform is not built in",
};

/** eventgate-wikimedia's transform whose work (id, dt, request headers into the event) eventgate does itself. */
const BUILT_IN_TRANSFORM = 'eventgateWikimediaDefaults';

function has(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key) && (o as Record<string, unknown>)[key] !== undefined;
}

/** Every accepted key of `raw` that has no effect here. */
export function configNotes(raw: RawConfig): ConfigNote[] {
  const notes: ConfigNote[] = [];
  for (const [key, reason] of Object.entries(TOP_LEVEL)) if (has(raw, key)) notes.push({ path: key, reason });
  (raw.logging.streams ?? []).forEach((s, i) => {
    if (s.type === 'debug') notes.push({ path: `logging.streams[${i}].type`, reason: 'debug is stdout here, as JSON lines (no pretty-printing)' });
  });
  if (raw.logging.sampled_levels !== undefined) {
    notes.push({ path: 'logging.sampled_levels', reason: 'lines below logging.level are not sampled; set the level per stream in logging.streams' });
  }
  const metrics = raw.metrics === null ? [] : Array.isArray(raw.metrics) ? raw.metrics : [raw.metrics];
  metrics.forEach((m, i) => {
    const at = Array.isArray(raw.metrics) ? `metrics[${i}]` : 'metrics';
    if (m.type === 'log') notes.push({ path: `${at}.type`, reason: 'metrics as log lines are not built in; use statsd or prometheus' });
    else if (m.type === 'statsd' && m.batch !== undefined) {
      notes.push({ path: `${at}.batch`, reason: 'statsd samples are always batched here, in datagrams of up to 1400 bytes sent at least every second' });
    }
  });
  const [service] = raw.services;
  for (const [key, reason] of Object.entries(SERVICE)) if (has(service, key)) notes.push({ path: `services[0].${key}`, reason });
  const conf = service.conf;
  for (const [key, reason] of Object.entries(CONF)) if (has(conf, key)) notes.push({ path: `services[0].conf.${key}`, reason });
  if (conf.schema_base_uri !== undefined && !conf.schema_base_uris.includes(conf.schema_base_uri)) {
    notes.push({ path: 'services[0].conf.schema_base_uri', reason: 'schema_base_uris is set and wins' });
  }
  if (conf.csp === false) {
    notes.push({ path: 'services[0].conf.csp', reason: "answers are JSON, never a page: they keep eventgate's default policy (default-src 'none')" });
  }
  (conf.transforms ?? []).forEach((t, i) => {
    if (t !== BUILT_IN_TRANSFORM) notes.push({ path: `services[0].conf.transforms[${i}]`, reason: `${t} is not built in (${BUILT_IN_TRANSFORM}'s enrichment is)` });
  });
  if (Array.isArray(conf.stream_field) && conf.stream_field.length > 1) {
    notes.push({
      path: 'services[0].conf.stream_field',
      reason: `only the first field (${conf.stream_field[0]}) is read: an event with only ${conf.stream_field.slice(1).join(' or ')} is invalid (EG_ERR_STREAM_MISSING)`,
    });
  }
  return notes;
}
