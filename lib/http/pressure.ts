/**
 * Event-loop lag, sampled by a timer's drift (as fastify's under-pressure
 * does): while the loop lags past admission.max_event_loop_delay_ms, new
 * requests are shed (lib/http/server.ts). The same timer reports the
 * admission gauges, so that no request pays for them.
 */
import { performance } from 'node:perf_hooks';
import type { Metrics } from '../metrics/metrics';
import type { BodyAdmission } from './admission';

const SAMPLE_MS = 50;
/** Gauges every this many samples. */
const REPORT_EVERY = 20;

export class LoopPressure {
  /** How late the last sample fired, ms. */
  private lag = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly maxDelayMs: number,
    admission: BodyAdmission,
    metrics: Metrics,
  ) {
    let last = performance.now();
    let n = 0;
    this.timer = setInterval(() => {
      const now = performance.now();
      this.lag = Math.max(0, now - last - SAMPLE_MS);
      last = now;
      if (++n % REPORT_EVERY !== 0) return;
      metrics.gauge('admission.body_memory_bytes', admission.inUse);
      metrics.gauge('admission.event_loop_delay_ms', this.lag);
    }, SAMPLE_MS);
    // Nothing to wait for: a process with nothing else to do may exit.
    this.timer.unref();
    metrics.gauge('admission.body_memory_budget_bytes', admission.budget.bodyBytes);
  }

  /** The loop lags past the threshold now (0: never). */
  get lagging(): boolean {
    return this.maxDelayMs > 0 && this.lag > this.maxDelayMs;
  }

  /** The lag of the last sample, ms. */
  get lagMs(): number {
    return this.lag;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
