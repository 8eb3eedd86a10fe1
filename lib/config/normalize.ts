/**
 * From the config as the file gives it (any shape service-runner and
 * EventGate accept) to the one shape the rest of the code reads: metrics a
 * typed list, log streams a typed list, num_workers a count or eventgate's
 * own spec, `false`s and nulls replaced by what they mean. What cannot mean
 * anything here is a problem, with its path and what to do instead.
 */
import { isAbsolute, resolve } from 'node:path';
import { SERVED_LOG_STREAMS } from './compat';
import { DEFAULT_CSP, type Config, type LogStreamEntry, type MetricsEntry, type RawConfig } from './schema';

/** The statsd prefix of eventgate's own series (EventGate's go under `name`, lib/metrics). */
const DEFAULT_PREFIX = 'eventgate';
const STATSD_PORT = 8125;
/** service-runner's (hot-shots) batching defaults. */
const DEFAULT_BATCH = { max_size: 1500, max_delay: 1000 } as const;
/** eventgate's own num_workers specs, which the supervisor reads itself (and -n takes). */
const OWN_WORKER_SPEC = /^\s*(?:\d+|ncpu(?:\s*\*\s*\d+)?)\s*$/;
/** A heartbeat timeout no worker reaches: service-runner's `false` (no heartbeat check). */
const NO_HEARTBEAT_CHECK = Number.MAX_SAFE_INTEGER;

/**
 * The factory modules whose behaviour eventgate has built in: EventGate's
 * default (`../lib/factories/default-eventgate`), the factory of its 2019
 * repository (`wikimedia-eventgate`) and eventgate-wikimedia's, by any path.
 */
const BUILT_IN_FACTORY = /(?:^|[/@])(?:default-eventgate|wikimedia-eventgate|eventgate-wikimedia)(?:\.js)?$/;
/** EventGate's default factory: it fills in nothing (no id, no time, no request headers). */
const DEFAULT_FACTORY = /(?:^|\/)default-eventgate(?:\.js)?$/;

function metricsOf(raw: RawConfig): MetricsEntry[] {
  const list = raw.metrics === null ? [] : Array.isArray(raw.metrics) ? raw.metrics : [raw.metrics];
  const out: MetricsEntry[] = [];
  for (const m of list) {
    // type log (metrics as log lines) has no effect here: notes.ts says so.
    if (m.type === 'log') continue;
    const batch = m.batch === false ? false : { ...DEFAULT_BATCH, ...(typeof m.batch === 'object' ? m.batch : {}) };
    out.push({
      type: m.type,
      // Only a name the file gives: with one, the target also gets EventGate's series (lib/metrics, docs/metrics.md).
      ...(m.name !== undefined ? { name: m.name } : {}),
      // service-runner's scrape endpoint listens on every interface.
      host: m.host ?? (m.type === 'prometheus' ? '0.0.0.0' : 'localhost'),
      port: m.port ?? STATSD_PORT,
      prefix: m.prefix ?? DEFAULT_PREFIX,
      batch,
    });
  }
  return out;
}

function streamsOf(raw: RawConfig, eventsOnStdout: boolean, dir: string | undefined, problems: string[]): LogStreamEntry[] {
  const streams = raw.logging.streams ?? [];
  if (streams.length && raw.logging.stream !== undefined) {
    problems.push('logging.stream and logging.streams: give one of the two (streams is the list form)');
  }
  const out: LogStreamEntry[] = [];
  streams.forEach((s, i) => {
    const at = `logging.streams[${i}]`;
    // bunyan takes an entry with a path and no type as a file.
    const type = s.type ?? (s.path !== undefined ? 'file' : undefined);
    const named_levels = s.named_levels ?? false;
    if (type === 'file') {
      if (s.path === undefined) problems.push(`${at}: a file stream needs path`);
      else out.push({ type, path: isAbsolute(s.path) || !dir ? s.path : resolve(dir, s.path), level: s.level, named_levels });
    } else if (type === 'stdout' || type === 'stderr' || type === 'debug') {
      // service-runner's debug stream is stdout pretty-printed: here, stdout as JSON lines (notes.ts).
      if (type !== 'stderr' && eventsOnStdout) {
        problems.push(`${at}: stdout would mix log lines into the events on stdout (output_path: stdout); use stderr, or another output_path`);
      }
      out.push({ type: type === 'stderr' ? 'stderr' : 'stdout', level: s.level, named_levels });
    } else {
      problems.push(
        `${at}.type: ${type === undefined ? 'missing' : JSON.stringify(type)}: eventgate writes logs to ${SERVED_LOG_STREAMS.join(', ')} only; ship stdout with the platform's log collector (gelf, syslog and the like are not built in)`,
      );
    }
  });
  return out;
}

/**
 * service-runner's num_workers arithmetic (`ncpu/2`, `(ncpu-1)*2`), floored
 * as service-runner does, with a parser rather than its eval.
 */
export function evaluateWorkers(expr: string, ncpu: number): number | undefined {
  const tokens = expr.match(/ncpu|\d+(?:\.\d+)?|\.\d+|[()*+\-/]/g) ?? [];
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const primary = (): number => {
    const t = tokens[i++];
    if (t === '(') {
      const v = sum();
      if (tokens[i++] !== ')') throw new Error('unbalanced');
      return v;
    }
    if (t === '-') return -primary();
    if (t === 'ncpu') return ncpu;
    if (t !== undefined && /^[\d.]/.test(t)) return Number(t);
    throw new Error('unexpected');
  };
  const product = (): number => {
    let v = primary();
    while (peek() === '*' || peek() === '/') v = tokens[i++] === '*' ? v * primary() : v / primary();
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === '+' || peek() === '-') v = tokens[i++] === '+' ? v + product() : v - product();
    return v;
  };
  try {
    const v = sum();
    return i === tokens.length && Number.isFinite(v) ? Math.max(0, Math.floor(v)) : undefined;
  } catch {
    return undefined;
  }
}

function workersOf(spec: number | string, ncpu: number, problems: string[]): number | string {
  if (typeof spec === 'number' || OWN_WORKER_SPEC.test(spec)) return spec;
  const n = evaluateWorkers(spec, ncpu);
  if (n === undefined) problems.push(`num_workers: ${JSON.stringify(spec)} is not an arithmetic expression of ncpu (e.g. ncpu, ncpu*2, ncpu/2)`);
  return n ?? 0;
}

/**
 * The normalized config; problems found on the way are pushed to `problems`.
 * `given`: the keys of services[0].conf the file itself sets (before defaults).
 */
export function normalizeConfig(raw: RawConfig, dir: string | undefined, ncpu: number, problems: string[], given: ReadonlySet<string> = new Set()): Config {
  const [service] = raw.services;
  let conf = service.conf;
  if (conf.eventgate_factory_module !== undefined && DEFAULT_FACTORY.test(conf.eventgate_factory_module)) {
    // Named on purpose, EventGate's default factory writes events as posted:
    // eventgate's enrichment defaults (eventgate-wikimedia's) apply only where the file sets them.
    conf = {
      ...conf,
      id_field: given.has('id_field') ? conf.id_field : '',
      dt_field: given.has('dt_field') ? conf.dt_field : '',
      http_request_headers_to_fields: given.has('http_request_headers_to_fields') ? conf.http_request_headers_to_fields : {},
    };
  }
  const kafka = conf.kafka?.conf !== undefined && Object.keys(conf.kafka.conf).length > 0;
  if (conf.output_path === null && !kafka) {
    problems.push('services[0].conf.output_path: null (no file sink) leaves no sink without kafka.conf; set kafka.conf, or a path or stdout');
  }
  const factory = conf.eventgate_factory_module;
  if (factory !== undefined && !BUILT_IN_FACTORY.test(factory)) {
    problems.push(
      `services[0].conf.eventgate_factory_module: ${JSON.stringify(factory)}: custom factories cannot be loaded here; EventGate's default factory and eventgate-wikimedia's are built in (stream config, error_stream, hasty, enrichment: docs/migrating.md). Remove the key, or name one of those`,
    );
  }
  if (conf.schema_base_uri !== undefined && !given.has('schema_base_uris')) conf = { ...conf, schema_base_uris: [conf.schema_base_uri] };
  let streamConfigOptions = conf.stream_config_uri_options;
  if (conf.user_agent !== undefined && !Object.keys(streamConfigOptions?.headers ?? {}).some((h) => h.toLowerCase() === 'user-agent')) {
    streamConfigOptions = { ...streamConfigOptions, headers: { ...streamConfigOptions?.headers, 'user-agent': conf.user_agent } };
  }
  return {
    ...raw,
    num_workers: workersOf(raw.num_workers, ncpu, problems),
    worker_heartbeat_timeout: raw.worker_heartbeat_timeout === false ? NO_HEARTBEAT_CHECK : raw.worker_heartbeat_timeout === true ? 7500 : raw.worker_heartbeat_timeout,
    logging: { ...raw.logging, streams: streamsOf(raw, !kafka && conf.output_path === 'stdout', dir, problems) },
    metrics: metricsOf(raw),
    services: [
      {
        ...service,
        conf: {
          ...conf,
          stream_field: typeof conf.stream_field === 'string' ? conf.stream_field : conf.stream_field[0],
          // null: Kafka only; the file sink is built only without kafka.conf.
          output_path: conf.output_path ?? 'stdout',
          // false (EventGate: no CSP) keeps eventgate's policy: notes.ts says so.
          csp: typeof conf.csp === 'string' ? conf.csp : DEFAULT_CSP,
          stream_config_uri_options: streamConfigOptions,
        },
      },
    ],
  };
}
