import type { Config } from '../config/schema';
import type { Logger } from '../log';
import { nullMetrics, type Metrics, type Tags } from './metrics';
import { StatsdMetrics } from './statsd';

export type MetricsTargets = Config['metrics'];

/**
 * The metrics a process reports to, from the config's `metrics` list: statsd
 * for the `statsd` entries, nothing at all when the list is empty (keeping
 * samples in memory would grow without bound in a long-running process).
 */
export function createMetrics(targets: MetricsTargets, log: Logger): Metrics {
  const statsd = targets.filter((t) => t.type === 'statsd');
  return statsd.length ? new StatsdMetrics(statsd, log) : nullMetrics;
}

/**
 * Metrics whose targets follow config reloads. The service and the master
 * keep one object; `reconfigure` puts new clients behind it and closes the
 * old ones, only when the `metrics` list changed.
 */
export class ReloadableMetrics implements Metrics {
  private current: Metrics;
  private targetsKey: string;

  constructor(
    targets: MetricsTargets,
    private readonly log: Logger,
  ) {
    this.current = createMetrics(targets, log);
    this.targetsKey = JSON.stringify(targets);
  }

  async reconfigure(targets: MetricsTargets): Promise<void> {
    const key = JSON.stringify(targets);
    if (key === this.targetsKey) return;
    const old = this.current;
    this.current = createMetrics(targets, this.log);
    this.targetsKey = key;
    await old.close();
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

  close(): Promise<void> {
    return this.current.close();
  }
}
