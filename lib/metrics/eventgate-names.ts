/**
 * The statsd names EventGate 1.8 sends, with service-runner 3.x and
 * eventgate-wikimedia, as recorded in test/fixtures/eventgate-statsd/: what
 * a statsd_exporter mapping written for EventGate (Wikimedia's chart) reads.
 * Pure functions; eventgate-statsd.ts sends them.
 */

/** Names normalized (schema URIs, per request): remembered up to this many, then the cache starts over. */
const NORMALIZED_CACHE_SIZE = 10000;
const normalized = new Map<string, string>();

/**
 * service-runner's name normalization: anything but letters, digits, `.`,
 * `-` and `/` becomes `-`, then `/` becomes `_` (`/test/0.0.1` ->
 * `_test_0.0.1`, `_info` -> `-info`). Dots stay: they are levels.
 */
export function normalizeName(name: string): string {
  let out = normalized.get(name);
  if (out !== undefined) return out;
  out = name.replace(/[^/a-zA-Z0-9.-]/g, '-').replace(/\//g, '_');
  if (normalized.size >= NORMALIZED_CACHE_SIZE) normalized.clear();
  normalized.set(name, out);
  return out;
}

/**
 * The path part of service-runner's request timer for each of eventgate's
 * routes that EventGate has too (its express route path without the leading
 * `/`, normalized; `root` for `/`). Routes EventGate does not have (health,
 * readiness, stream configs) are not timed under its names.
 */
const ROUTER_PATHS: Readonly<Record<string, string>> = Object.fromEntries(
  ['/v1/events', '/v1/_test/events', '/_info', '/_info/name', '/_info/version', '/_info/home', '/robots.txt', '/'].map((route) => [
    route,
    normalizeName(route.slice(1)) || 'root',
  ]),
);

export function routerPath(route: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(ROUTER_PATHS, route) ? ROUTER_PATHS[route] : undefined;
}

/** The librdkafka statistics that node-rdkafka-statsd sends by default: a key is sent when any of its levels is one of these. */
const STATISTICS_KEPT: ReadonlySet<string> = new Set([
  // brokers
  'outbuf_cnt',
  'outbuf_msg_cnt',
  'waitresp_cnt',
  'waitresp_msg_cnt',
  'tx',
  'txbytes',
  'txerrs',
  'txretries',
  'req_timeouts',
  'rx',
  'rxbytes',
  'rxerrs',
  'rxcorriderrs',
  'rxpartial',
  'connects',
  'disconnects',
  'int_latency',
  'outbuf_latency',
  'rtt',
  'throttle',
  'req',
  // topics
  'batchsize',
  'batchcnt',
  // partitions
  'msgq_cnt',
  'msgq_bytes',
  'xmit_msgq_cnt',
  'xmit_msgq_bytes',
  'fetchq_cnt',
  'fetchq_size',
  'query_offset',
  'next_offset',
  'app_offset',
  'stored_offset',
  'committed_offset',
  'eof_offset',
  'lo_offset',
  'hi_offset',
  'consumer_lag',
  'txmsgs',
  'rxmsgs',
  'msgs',
  'rx_ver_drops',
  'msgs_inflight',
  // the top level
  'replyq',
  'msg_cnt',
  'msg_size',
  'msg_max',
  'msg_size_max',
  'tx_bytes',
  'rx_bytes',
  'txmsg_bytes',
  'rxmsg_bytes',
]);

/** Levels whose keys are never sent: the brokers' copy of the partitions, and librdkafka's internal partition -1. */
const STATISTICS_DROPPED: ReadonlySet<string> = new Set(['toppars', '-1']);

/** A key as one level: `:`, `.`, `;` and `/` become `_` (`127.0.0.1:9092/1` -> `127_0_0_1_9092_1`). */
function level(key: string): string {
  return key.replace(/[:.;/]/g, '_');
}

/**
 * A librdkafka statistics document flattened into dotted keys with their
 * numeric values, kept and dropped as node-rdkafka-statsd does:
 * `brokers.127_0_0_1_9092_1.rtt.p99`, `topics.t.partitions.0.msgq_cnt`,
 * `msg_cnt`. `out` receives each (key, value).
 */
export function flattenStatistics(stats: unknown, out: (key: string, value: number) => void): void {
  const walk = (node: unknown, prefix: string, kept: boolean): void => {
    if (node === null || typeof node !== 'object') {
      if (kept && typeof node === 'number' && Number.isFinite(node)) out(prefix, node);
      return;
    }
    for (const [k, v] of Object.entries(node)) {
      const name = level(k);
      if (STATISTICS_DROPPED.has(name)) continue;
      walk(v, prefix ? `${prefix}.${name}` : name, kept || STATISTICS_KEPT.has(name));
    }
  };
  walk(stats, '', false);
}
