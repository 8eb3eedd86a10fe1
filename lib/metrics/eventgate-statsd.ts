import type { StatsD } from 'hot-shots';
import type { Logger } from '../log';
import { flattenStatistics, normalizeName, routerPath } from './eventgate-names';
import type { Metrics, Tags } from './metrics';
import { closeClient, statsdClient } from './statsd';

export interface EventGateStatsdTarget {
  readonly host: string;
  readonly port: number;
  /** service-runner's service name: every name starts with it (normalized) and a dot. */
  readonly name: string;
}

/** eventgate's heap gauges -> service-runner's. */
const HEAP: Readonly<Record<string, string>> = {
  'process.heap_rss_bytes': 'heap.rss',
  'process.heap_used_bytes': 'heap.used',
  'process.heap_total_bytes': 'heap.total',
};

/**
 * Sends, for the statsd targets that have a `name`, what EventGate 1.8,
 * eventgate-wikimedia and service-runner 3.x send (see eventgate-names.ts
 * and test/fixtures/eventgate-statsd/), made from the same samples as
 * eventgate's own metrics:
 *
 * - `http.request` -> `router.<path>.<METHOD>.<status>` (ms), for EventGate's routes;
 * - `events.produced`, `events.validation_errors` ->
 *   `events.produced.stream.<stream>.schema_uri.<uri>` and
 *   `events.errors.validation.stream.<stream>.schema_uri.<uri>` (one line per
 *   stream and schema per request, with the count, where EventGate sends a
 *   line per event: the counts add up the same);
 * - `process.heap_*_bytes` -> `heap.rss`, `heap.used`, `heap.total`;
 * - each producer's librdkafka statistics, flattened ->
 *   `rdkafka.producer.<guaranteed|hasty>.<key>` gauges.
 *
 * Every other sample is eventgate's own and is not sent here.
 */
export class EventGateStatsd implements Metrics {
  private readonly clients: StatsD[];
  private closing: Promise<void> | undefined;

  constructor(targets: readonly EventGateStatsdTarget[], log: Logger) {
    this.clients = targets.map((t) => statsdClient(t.host, t.port, `${normalizeName(t.name)}.`, log));
  }

  increment(name: string, value = 1, tags?: Tags): void {
    if (this.closing || !tags) return;
    let what: string;
    if (name === 'events.produced') what = 'events.produced';
    else if (name === 'events.validation_errors') what = 'events.errors.validation';
    else return;
    // The stream as it is (its dots are levels the mapping's `(.+)` takes whole), the URI normalized.
    const stat = `${what}.stream.${String(tags.stream)}.schema_uri.${normalizeName(String(tags.schema_uri))}`;
    for (const c of this.clients) c.increment(stat, value);
  }

  timing(name: string, ms: number, tags?: Tags): void {
    if (this.closing || name !== 'http.request' || !tags) return;
    const path = routerPath(String(tags.route));
    // An aborted request has no status: service-runner times only answered ones.
    if (path === undefined || typeof tags.status !== 'number') return;
    const stat = `router.${path}.${normalizeName(String(tags.method))}.${tags.status}`;
    for (const c of this.clients) c.timing(stat, ms);
  }

  gauge(name: string, value: number): void {
    const heap = HEAP[name];
    if (this.closing || heap === undefined) return;
    for (const c of this.clients) c.gauge(heap, value);
  }

  kafkaStatistics(producer: string, stats: unknown): void {
    if (this.closing) return;
    const prefix = `rdkafka.producer.${normalizeName(producer)}.`;
    flattenStatistics(stats, (key, value) => {
      for (const c of this.clients) c.gauge(prefix + key, value);
    });
  }

  close(): Promise<void> {
    this.closing ??= Promise.all(this.clients.map((c) => closeClient(c))).then(() => undefined);
    return this.closing;
  }
}
