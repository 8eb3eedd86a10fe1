import HotShots, { type StatsD } from 'hot-shots';
import type { Logger } from '../log';
import type { Metrics, Tags } from './metrics';
import type { LogEvent } from '../log-events';

export interface StatsdTarget {
  readonly host: string;
  readonly port: number;
  /** Prepended to every name with a dot: `eventgate` -> `eventgate.events.accepted...`; empty for none. */
  readonly prefix: string;
}

/** Metric lines are batched into datagrams of at most this many bytes (fits an Ethernet MTU). */
export const DATAGRAM_BYTES = 1400;
/** A batch that does not fill up is sent after this long. */
export const FLUSH_INTERVAL_MS = 1000;
/** How long close() may spend flushing before it gives up on a target. */
const CLOSE_TIMEOUT_MS = 2000;
/** At most one log line per target this often about failed sends (an unreachable statsd fails every send). */
const ERROR_LOG_INTERVAL_MS = 60000;
/** Sanitized tag values remembered; past this the cache starts over (tag values from clients are unbounded). */
const SANITIZE_CACHE_SIZE = 10000;

const sanitized = new Map<string, string>();

/**
 * A tag value as one statsd name segment: runs of anything but letters,
 * digits, `_` and `-` become one `_` (so `.` in a stream name does not add a
 * level and `:`, `|`, `@` cannot break the line protocol), with `_` trimmed
 * at both ends; an empty result is `_`. `/v1/events` -> `v1_events`.
 */
export function sanitizeSegment(value: string): string {
  let out = sanitized.get(value);
  if (out !== undefined) return out;
  out = value.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '') || '_';
  if (sanitized.size >= SANITIZE_CACHE_SIZE) sanitized.clear();
  sanitized.set(value, out);
  return out;
}

/**
 * The statsd name of a metric: the static name, then each tag value in the
 * order the caller gave them, e.g. `http.request` with
 * `{route: '/v1/events', method: 'POST', status: 201}` ->
 * `http.request.v1_events.POST.201`. Tag keys are not part of the name.
 */
export function statsdName(name: string, tags?: Tags): string {
  if (!tags) return name;
  let out = name;
  for (const key in tags) out += '.' + sanitizeSegment(String(tags[key]));
  return out;
}

/**
 * Metrics to one or more statsd servers over UDP, through hot-shots. Sends
 * never block nor throw: a lost datagram is a lost sample, and socket errors
 * are logged, not raised.
 */
export class StatsdMetrics implements Metrics {
  private readonly clients: StatsD[];
  private closing: Promise<void> | undefined;

  constructor(targets: readonly StatsdTarget[], log: Logger) {
    this.clients = targets.map((t) => statsdClient(t.host, t.port, t.prefix ? `${t.prefix}.` : '', log));
  }

  increment(name: string, value = 1, tags?: Tags): void {
    // After close() the sockets are gone; late samples (a request finishing) are dropped.
    if (this.closing) return;
    const stat = statsdName(name, tags);
    for (const c of this.clients) c.increment(stat, value);
  }

  timing(name: string, ms: number, tags?: Tags): void {
    if (this.closing) return;
    const stat = statsdName(name, tags);
    for (const c of this.clients) c.timing(stat, ms);
  }

  gauge(name: string, value: number, tags?: Tags): void {
    if (this.closing) return;
    const stat = statsdName(name, tags);
    for (const c of this.clients) c.gauge(stat, value);
  }

  close(): Promise<void> {
    this.closing ??= Promise.all(this.clients.map((c) => closeClient(c))).then(() => undefined);
    return this.closing;
  }
}

/** Calls `report` at most once per ERROR_LOG_INTERVAL_MS, with how many errors it left out since. */
/** One UDP statsd client: batched into datagrams, never blocking nor throwing; send errors logged, throttled. */
export function statsdClient(host: string, port: number, prefix: string, log: Logger): StatsD {
  return new HotShots({
    host,
    port,
    prefix,
    protocol: 'udp',
    cacheDns: true,
    maxBufferSize: DATAGRAM_BYTES,
    bufferFlushInterval: FLUSH_INTERVAL_MS,
    errorHandler: throttled((err: Error, suppressed: number) => log.warn({ event: 'metrics.statsd_send_failed' satisfies LogEvent, err, host, port, suppressed }, 'statsd send failed')),
  });
}

export function throttled(report: (err: Error, suppressed: number) => void): (err: Error) => void {
  let last = -Infinity;
  let suppressed = 0;
  return (err) => {
    const now = Date.now();
    if (now - last < ERROR_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    last = now;
    report(err, suppressed);
    suppressed = 0;
  };
}

/** Flushes and closes one client; bounded, never rejects. */
export function closeClient(client: StatsD): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    timer.unref();
    client.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
