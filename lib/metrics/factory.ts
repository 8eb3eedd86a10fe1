import type { Config } from '../config/schema';
import type { Logger } from '../log';
import { nullMetrics, type Metrics, type Tags } from './metrics';
import { PrometheusMetrics, render, type Snapshot } from './prometheus';
import { ScrapeServer } from './scrape';
import { EventGateStatsd } from './eventgate-statsd';
import { StatsdMetrics } from './statsd';

export type MetricsTargets = Config['metrics'];

/**
 * What the process is, as far as its Prometheus targets go:
 * - `serve`: the master or the one process: it listens on each prometheus
 *   target's port and answers scrapes (with `gather`, when given: the
 *   master's sum over its workers);
 * - `worker`: a cluster worker: it keeps its samples for the master to
 *   collect, with `slot` as the `worker` label of its gauges;
 * - `tool`: a command such as `replay`: no endpoint (statsd still works).
 */
export type MetricsRole = { readonly kind: 'serve' } | { readonly kind: 'worker'; readonly slot: number } | { readonly kind: 'tool' };

/** Renders a scrape from the process's own snapshot. */
export type Gather = (own: Snapshot) => Promise<string>;

/** Metrics a process reports to, with what a scrape needs of it. */
export interface ProcessMetrics extends Metrics {
  /** The Prometheus samples of this process; undefined when no prometheus target is configured. */
  snapshot(): Promise<Snapshot | undefined>;
  /** Resolves with the ports the scrape endpoints listen on (for logs and tests). */
  readonly scrapePorts: Promise<(number | undefined)[]>;
}

/** Every sample to each of several backends. */
class Targets implements ProcessMetrics {
  readonly scrapePorts: Promise<(number | undefined)[]>;

  constructor(
    private readonly backends: readonly Metrics[],
    private readonly prometheus: PrometheusMetrics | undefined,
    private readonly servers: readonly ScrapeServer[],
  ) {
    this.scrapePorts = Promise.all(servers.map((s) => s.listening));
  }

  increment(name: string, value?: number, tags?: Tags): void {
    for (const b of this.backends) b.increment(name, value, tags);
  }

  timing(name: string, ms: number, tags?: Tags): void {
    for (const b of this.backends) b.timing(name, ms, tags);
  }

  gauge(name: string, value: number, tags?: Tags): void {
    for (const b of this.backends) b.gauge(name, value, tags);
  }

  kafkaStatistics(producer: string, stats: unknown): void {
    for (const b of this.backends) b.kafkaStatistics?.(producer, stats);
  }

  snapshot(): Promise<Snapshot | undefined> {
    return this.prometheus ? this.prometheus.snapshot() : Promise.resolve(undefined);
  }

  async close(): Promise<void> {
    await Promise.all([...this.servers.map((s) => s.close()), ...this.backends.map((b) => b.close())]);
  }
}

const NONE: ProcessMetrics = { ...nullMetrics, snapshot: () => Promise.resolve(undefined), scrapePorts: Promise.resolve([]) };

/**
 * The metrics a process reports to, from the config's `metrics` list: statsd
 * for the `statsd` entries, one prom-client registry for the `prometheus`
 * ones (served as `role` says), nothing at all when the list is empty
 * (keeping samples would grow without bound in a long-running process).
 */
export function createMetrics(targets: MetricsTargets, log: Logger, role: MetricsRole = { kind: 'serve' }, gather?: Gather): ProcessMetrics {
  const statsd = targets.filter((t) => t.type === 'statsd');
  const scrapes = targets.filter((t) => t.type === 'prometheus');
  const backends: Metrics[] = [];
  if (statsd.length) backends.push(new StatsdMetrics(statsd, log));
  const eventgateStatsd = statsd.flatMap((t) => (t.name === undefined ? [] : [{ host: t.host, port: t.port, name: t.name }]));
  if (eventgateStatsd.length) backends.push(new EventGateStatsd(eventgateStatsd, log));
  let prometheus: PrometheusMetrics | undefined;
  const servers: ScrapeServer[] = [];
  if (scrapes.length && role.kind !== 'tool') {
    const service = scrapes.find((t) => t.name !== undefined)?.name;
    prometheus = new PrometheusMetrics({ ...(role.kind === 'worker' ? { gaugeLabels: { worker: String(role.slot) } } : {}), service });
    backends.push(prometheus);
    if (role.kind === 'serve') {
      const own = prometheus;
      const scrape = async () => {
        const snap = await own.snapshot();
        return gather ? gather(snap) : render([snap]);
      };
      for (const t of scrapes) servers.push(new ScrapeServer(t, scrape, log));
    }
  }
  return backends.length ? new Targets(backends, prometheus, servers) : NONE;
}

/**
 * Metrics whose targets follow config reloads. The service and the master
 * keep one object; `reconfigure` puts new clients behind it and closes the
 * old ones, only when the `metrics` list changed.
 */
export class ReloadableMetrics implements ProcessMetrics {
  private current: ProcessMetrics;
  private targetsKey: string;
  private gather: Gather | undefined;

  constructor(
    targets: MetricsTargets,
    private readonly log: Logger,
    private readonly role: MetricsRole = { kind: 'serve' },
  ) {
    this.current = this.create(targets);
    this.targetsKey = JSON.stringify(targets);
  }

  private create(targets: MetricsTargets): ProcessMetrics {
    // Late-bound: the master sets its gather after the endpoint started listening.
    return createMetrics(targets, this.log, this.role, (own) => (this.gather ? this.gather(own) : render([own])));
  }

  /** From now on a scrape is rendered by `gather` (the master's sum over its workers). */
  gatherWith(gather: Gather): void {
    this.gather = gather;
  }

  get scrapePorts(): Promise<(number | undefined)[]> {
    return this.current.scrapePorts;
  }

  /**
   * The old targets close first: a scrape endpoint kept on the same port
   * must free it before the new one listens. The master's own Prometheus
   * counters start over (as at a restart; Prometheus' rate() expects resets).
   */
  async reconfigure(targets: MetricsTargets): Promise<void> {
    const key = JSON.stringify(targets);
    if (key === this.targetsKey) return;
    const old = this.current;
    this.targetsKey = key;
    await old.close();
    this.current = this.create(targets);
  }

  increment(name: string, value?: number, tags?: Tags): void {
    this.current.increment(name, value, tags);
  }

  timing(name: string, ms: number, tags?: Tags): void {
    this.current.timing(name, ms, tags);
  }

  gauge(name: string, value: number, tags?: Tags): void {
    this.current.gauge(name, value, tags);
  }

  kafkaStatistics(producer: string, stats: unknown): void {
    this.current.kafkaStatistics?.(producer, stats);
  }

  snapshot(): Promise<Snapshot | undefined> {
    return this.current.snapshot();
  }

  close(): Promise<void> {
    return this.current.close();
  }
}
