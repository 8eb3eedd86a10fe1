/**
 * Metrics recorded inside a pool thread (schema cache hits, schema loads)
 * would be lost with the thread, and a statsd client per thread would be one
 * socket per thread: the thread sums them per task and hands them back with
 * its reply, and the main thread replays them into the worker's metrics.
 */
import { metricKey } from '../metrics/memory';
import type { Metrics, Tags } from '../metrics/metrics';
import type { MetricSample } from './task';

type Kind = MetricSample[0];

export class ThreadMetrics implements Metrics {
  private readonly sums = new Map<string, [Kind, string, number, Tags | undefined]>();
  private readonly samples: MetricSample[] = [];

  increment(name: string, value = 1, tags?: Tags): void {
    const key = metricKey(name, tags);
    const sum = this.sums.get(key);
    if (sum) sum[2] += value;
    else this.sums.set(key, ['increment', name, value, tags]);
  }

  timing(name: string, ms: number, tags?: Tags): void {
    this.samples.push(['timing', name, ms, tags]);
  }

  gauge(name: string, value: number, tags?: Tags): void {
    this.samples.push(['gauge', name, value, tags]);
  }

  /** What was recorded since the last call. */
  take(): MetricSample[] {
    const out: MetricSample[] = [...this.sums.values(), ...this.samples];
    this.sums.clear();
    this.samples.length = 0;
    return out;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Main side: records what a thread measured. */
export function replay(samples: readonly MetricSample[], into: Metrics): void {
  for (const [kind, name, value, tags] of samples) into[kind](name, value, tags);
}
