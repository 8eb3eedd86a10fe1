import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { normalizeName } from './eventgate-names';
import { EventGatePrometheus } from './eventgate-prometheus';
import type { Metrics, Tags } from './metrics';
import { prometheusName, type MetricKind } from './promnames';

/** One registry's metrics as plain data: what a worker hands the master over IPC. */
export type Snapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * Histogram buckets (seconds) for every timing: an intake request answered
 * from cache takes well under a millisecond, a cold schema load or a Kafka
 * round trip tens of milliseconds, a slow broker or a timeout seconds.
 */
export const DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

type Labels = Record<string, string>;
type Metric = Counter | Histogram | Gauge;

interface Entry {
  readonly kind: MetricKind;
  readonly metric: Metric;
  readonly labelNames: readonly string[];
  readonly fixed: Labels;
  readonly scale: number;
  /** EventGate's counter: its schema_uri label normalized as service-runner names it in statsd (`/a/1.0.0` -> `_a_1.0.0`). */
  readonly eventgateUri: boolean;
}

export interface PrometheusOptions {
  /**
   * Labels every gauge carries: a worker's `{worker: slot}`. Counters and
   * histograms go without, so that the master's sum over workers is the
   * service's total; a gauge (queue depth, threads) means something per worker.
   */
  readonly gaugeLabels?: Readonly<Labels>;
  /**
   * service-runner's service name (a prometheus target's `name`): EventGate's
   * series are made too (eventgate-prometheus.ts), and its two event
   * counters carry `service`.
   */
  readonly service?: string;
}

/** eventgate's metrics that are EventGate's too: with a service name they carry its `service` label. */
const SERVICE_LABELLED: ReadonlySet<string> = new Set(['counter:events.produced', 'counter:events.validation_errors']);

/**
 * Metrics kept in a prom-client registry of their own, named by
 * promnames.ts. Serving them is someone else's job: the master (or the one
 * process) renders a scrape from snapshots (render below).
 */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  /** By kind and dotted name: the name mapping and label set are worked out once per metric. */
  private readonly entries = new Map<string, Entry>();
  /** Prometheus name -> its metric: family members share one. */
  private readonly byPromName = new Map<string, Metric>();

  private readonly eventgate: EventGatePrometheus | undefined;

  constructor(private readonly options: PrometheusOptions = {}) {
    this.eventgate = options.service === undefined ? undefined : new EventGatePrometheus(this.registry, options.service, options.gaugeLabels ?? {});
  }

  increment(name: string, value = 1, tags?: Tags): void {
    // A counter only goes up: prom-client throws on a negative increment.
    if (value < 0) return;
    const e = this.entry('counter', name, tags);
    (e.metric as Counter).inc(this.labels(e, tags), value);
  }

  timing(name: string, ms: number, tags?: Tags): void {
    const e = this.entry('timing', name, tags);
    (e.metric as Histogram).observe(this.labels(e, tags), ms * e.scale);
    this.eventgate?.timing(name, ms, tags);
  }

  gauge(name: string, value: number, tags?: Tags): void {
    const e = this.entry('gauge', name, tags);
    (e.metric as Gauge).set(this.labels(e, tags), value * e.scale);
    this.eventgate?.gauge(name, value);
  }

  kafkaStatistics(producer: string, stats: unknown): void {
    this.eventgate?.kafkaStatistics(producer, stats);
  }

  snapshot(): Promise<Snapshot> {
    return this.registry.getMetricsAsJSON();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * A metric's label names are fixed at its first sample (prom-client wants
   * them up front); a later sample with other tag keys is fitted to them
   * (labels() below) rather than throwing on the request path.
   */
  private entry(kind: MetricKind, name: string, tags: Tags | undefined): Entry {
    const key = `${kind}:${name}`;
    const found = this.entries.get(key);
    if (found) return found;
    const prom = prometheusName(kind, name);
    const fixed: Labels = {};
    if (prom.label) fixed[prom.label.name] = prom.label.value;
    if (kind === 'gauge') Object.assign(fixed, this.options.gaugeLabels);
    const eventgateUri = this.options.service !== undefined && SERVICE_LABELLED.has(key);
    if (eventgateUri) fixed.service = this.options.service!;
    const labelNames = [...new Set([...Object.keys(tags ?? {}), ...Object.keys(fixed)])];
    let metric = this.byPromName.get(prom.name);
    if (!metric) {
      const help = prom.label ? `eventgate ${name.slice(0, name.lastIndexOf('.'))}.* by ${prom.label.name}` : `eventgate ${name}`;
      const common = { name: prom.name, help, labelNames, registers: [this.registry] };
      // A gauge is per worker (gaugeLabels): the newest process of a slot is the one to show (see render).
      metric =
        kind === 'counter'
          ? new Counter(common)
          : kind === 'timing'
            ? new Histogram({ ...common, buckets: [...DURATION_BUCKETS] })
            : new Gauge({ ...common, aggregator: 'first' });
      this.byPromName.set(prom.name, metric);
    }
    const made: Entry = { kind, metric, labelNames: labelNamesOf(metric) ?? labelNames, fixed, scale: prom.scale, eventgateUri };
    this.entries.set(key, made);
    return made;
  }

  private labels(e: Entry, tags: Tags | undefined): Labels {
    const out: Labels = {};
    for (const n of e.labelNames) {
      const v = e.fixed[n] ?? tags?.[n];
      out[n] = v === undefined ? '' : e.eventgateUri && n === 'schema_uri' ? normalizeName(String(v)) : String(v);
    }
    return out;
  }
}

/** The label names a prom-client metric was made with (not in its public types). */
function labelNamesOf(metric: Metric): readonly string[] | undefined {
  return (metric as unknown as { labelNames?: string[] }).labelNames;
}

/**
 * One scrape from several registries' snapshots: counters and histograms
 * summed, gauges as their `aggregator` says (`first`: with the newest
 * process's snapshot first, a slot shows its newest worker).
 */
export function render(snapshots: readonly Snapshot[]): Promise<string> {
  return AggregatorRegistry.aggregate([...snapshots]).metrics();
}

/** What of a snapshot outlives its process: the counters and histograms (a gauge is a reading of now). */
export function cumulative(snapshot: Snapshot): Snapshot {
  // prom-client's types say an enum; at run time (and after IPC) the type is its name.
  return snapshot.filter((m) => {
    const type = m.type as unknown as string;
    return type === 'counter' || type === 'histogram';
  });
}

/** Several snapshots folded into one (summed), e.g. the counts of workers that are gone. */
export async function fold(snapshots: readonly Snapshot[]): Promise<Snapshot> {
  return AggregatorRegistry.aggregate([...snapshots]).getMetricsAsJSON();
}
