import { Gauge, Histogram, type Registry } from 'prom-client';
import { flattenStatistics, normalizeName, routerPath } from './eventgate-names';
import type { Tags } from './metrics';

type Labels = Record<string, string>;

/** The buckets (seconds) of the chart's service_runner_request_duration_seconds. */
const REQUEST_BUCKETS = [0.01, 0.05, 0.1, 0.3, 1];

/** eventgate's heap gauges -> the names the chart's mapping gives service-runner's (`heap.rss` -> `service_runner_rss_heap_kilobytes`, in bytes all the same). */
const HEAP: Readonly<Record<string, string>> = {
  'process.heap_rss_bytes': 'service_runner_rss_heap_kilobytes',
  'process.heap_used_bytes': 'service_runner_used_heap_kilobytes',
  'process.heap_total_bytes': 'service_runner_total_heap_kilobytes',
};

const BROKER = /^([a-zA-Z0-9_-]+)_(\d+)_([a-zA-Z0-9_-]+)$/;

/** A name part as Prometheus allows it (what statsd_exporter does to a captured level). */
function part(s: string): string {
  return s.replace(/[^a-zA-Z0-9_]/g, '_');
}

/**
 * One flattened statistics key (see flattenStatistics) as the series the
 * chart's mapping makes of `<service>.rdkafka.producer.<type>.<key>` in
 * statsd_exporter (glob rules first, then the regex ones, as the exporter
 * tries them); undefined for a key no rule takes.
 */
export function rdkafkaSeries(key: string): { name: string; labels: Labels } | undefined {
  const p = key.split('.');
  const base = 'eventgate_rdkafka_producer_';
  if (p.length === 1) return { name: base + part(p[0]), labels: {} };
  if (p[0] === 'topics' && p.length === 5 && p[2] === 'partitions') return { name: `${base}topic_partition_${part(p[4])}`, labels: { topic: p[1], partition: p[3] } };
  if (p[0] === 'topics' && p.length === 4) return { name: `${base}topic_${part(p[2])}_${part(p[3])}`, labels: { topic: p[1] } };
  if (p[0] !== 'brokers' || p.length < 3 || p.length > 4) return undefined;
  const b = BROKER.exec(p[1]);
  if (!b) return undefined;
  const labels: Labels = { broker_hostname: b[1], broker_port: b[2], broker_id: b[3] };
  const name = `${base}broker_${part(p[2])}`;
  if (p.length === 3) return { name, labels };
  const q = /^p(\d\d)(?:_(\d\d+))?$/.exec(p[3]);
  if (q) return { name, labels: { ...labels, quantile: `0.${q[1]}${q[2] ?? ''}` } };
  return p[3].startsWith('p') ? undefined : { name: `${name}_${part(p[3])}`, labels };
}

/**
 * EventGate's Prometheus series, made in-process from eventgate's samples
 * for a prometheus target with service-runner's `name`: the names and
 * labels the chart's statsd_exporter mapping gives what EventGate sends
 * over statsd (test/fixtures/eventgate-statsd/), where that mapping names
 * them, and `service_runner_request_duration_seconds{service,uri,method,status}`,
 * the request timer the chart maps (EventGate 1.8's own statsd timer reaches
 * it under another name). The two event counters are eventgate's own
 * (promnames.ts gives them EventGate's names; PrometheusMetrics adds the
 * `service` label). Lives in the registry of a PrometheusMetrics.
 */
export class EventGatePrometheus {
  private readonly gauges = new Map<string, Gauge>();
  private readonly requests: Histogram;

  constructor(
    private readonly registry: Registry,
    private readonly service: string,
    /** The worker's own labels, which every gauge carries. */
    private readonly gaugeLabels: Readonly<Labels>,
  ) {
    this.requests = new Histogram({
      name: 'service_runner_request_duration_seconds',
      help: 'EventGate (service-runner) request duration by route',
      labelNames: ['service', 'uri', 'method', 'status'],
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    });
  }

  timing(name: string, ms: number, tags: Tags | undefined): void {
    if (name !== 'http.request' || !tags || typeof tags.status !== 'number') return;
    const uri = routerPath(String(tags.route));
    if (uri === undefined) return;
    this.requests.observe({ service: this.service, uri, method: normalizeName(String(tags.method)), status: String(tags.status) }, ms / 1000);
  }

  gauge(name: string, value: number): void {
    const heap = HEAP[name];
    if (heap !== undefined) this.set(heap, {}, value);
  }

  kafkaStatistics(producer: string, stats: unknown): void {
    const producerType = normalizeName(producer);
    flattenStatistics(stats, (key, value) => {
      const series = rdkafkaSeries(key);
      if (series) this.set(series.name, { producer_type: producerType, ...series.labels }, value);
    });
  }

  private set(name: string, labels: Labels, value: number): void {
    const all = { service: this.service, ...labels, ...this.gaugeLabels };
    let gauge = this.gauges.get(name);
    if (!gauge) {
      gauge = new Gauge({ name, help: `EventGate ${name}`, labelNames: Object.keys(all), registers: [this.registry], aggregator: 'first' });
      this.gauges.set(name, gauge);
    }
    try {
      gauge.set(all, value);
    } catch {
      // Another label set under a name already made: no rule of the mapping does that; dropped rather than thrown.
    }
  }
}
