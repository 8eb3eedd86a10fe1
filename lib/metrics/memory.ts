import type { Metrics, Tags } from './metrics';

/** Key of a metric with its tags, e.g. `events.accepted{stream=a}`. */
export function metricKey(name: string, tags?: Tags): string {
  if (!tags) return name;
  const parts = Object.keys(tags).sort().map((k) => `${k}=${tags[k]}`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

/** Keeps every metric in memory: what tests read, and `/_info`-style debugging. */
export class MemoryMetrics implements Metrics {
  readonly counters = new Map<string, number>();
  readonly gauges = new Map<string, number>();
  readonly timings = new Map<string, number[]>();

  increment(name: string, value = 1, tags?: Tags): void {
    const key = metricKey(name, tags);
    this.counters.set(key, (this.counters.get(key) ?? 0) + value);
  }

  timing(name: string, ms: number, tags?: Tags): void {
    const key = metricKey(name, tags);
    const list = this.timings.get(key);
    if (list) list.push(ms);
    else this.timings.set(key, [ms]);
  }

  gauge(name: string, value: number, tags?: Tags): void {
    this.gauges.set(metricKey(name, tags), value);
  }

  counter(name: string, tags?: Tags): number {
    return this.counters.get(metricKey(name, tags)) ?? 0;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
