/**
 * The master's watch over its workers: a periodic check kills a worker past
 * its heartbeat, startup or drain deadline (its exit then decides what
 * follows), and each heartbeat's heap figure may start a graceful
 * replacement of a worker over worker_heap_limit_mb (unless the limit is
 * below a fresh worker's heap: heap.ts).
 */
import type { LoadedConfig } from '../config/load';
import type { Config } from '../config/schema';
import { messageOf } from '../errors';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import { HeapGuard } from './heap';
import type { KillReason, WorkerRecord } from './record';
import type { WorkerSet } from './workers';
import type { LogEvent } from '../log-events';

/** Heartbeats (and the master's check of them) come this many times per heartbeat timeout. */
const BEATS_PER_TIMEOUT = 4;

export function beatIntervalMs(config: Config): number {
  return Math.max(50, Math.min(2000, Math.floor(config.worker_heartbeat_timeout / BEATS_PER_TIMEOUT)));
}

/** What the heap watch needs of the master to replace a worker. */
export interface HealthHost {
  readonly stopping: boolean;
  readonly active: LoadedConfig;
  /** Runs a change of the worker set after the ones queued before it. */
  enqueue(task: () => Promise<void>): void;
  /** `slot`: that of the worker the new one replaces. */
  startWithRetries(loaded: LoadedConfig, purpose: string, slot?: number): Promise<WorkerRecord>;
}

export class Health {
  private timer: NodeJS.Timeout | undefined;
  /** Workers whose heap replacement is queued or running. */
  private readonly replacing = new WeakSet<WorkerRecord>();
  /** Successors of heap replacements whose first heartbeat since listening is still to come. */
  private readonly successors = new WeakSet<WorkerRecord>();
  private readonly guard = new HeapGuard();

  constructor(
    private readonly host: HealthHost,
    private readonly workers: WorkerSet,
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  private get config(): Config {
    return this.host.active.config;
  }

  start(): void {
    this.timer = setInterval(() => this.check(), beatIntervalMs(this.config));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Heartbeat, startup and drain deadlines; a worker past one is killed (and replaced if it was serving). */
  private check(): void {
    const now = Date.now();
    const { worker_heartbeat_timeout: heartbeat, worker_startup_timeout_ms: startup, shutdown_timeout_ms: drain } = this.config;
    for (const w of this.workers) {
      let reason: KillReason | undefined;
      if (w.lastBeatAt !== undefined && now - w.lastBeatAt > heartbeat) reason = 'heartbeat';
      else if (w.state === 'starting' && now - w.forkedAt > startup) reason = 'startup_timeout';
      else if (w.state === 'draining' && now - w.drainStartedAt > drain) reason = 'drain_timeout';
      if (reason && w.kill(reason)) {
        this.log.error({ event: 'worker.killed' satisfies LogEvent, worker: w.id, worker_pid: w.pid, reason, state: w.state, silent_ms: now - (w.lastBeatAt ?? w.forkedAt) }, 'killing worker');
      }
    }
  }

  /** After a heartbeat: a serving worker over its heap limit gets a successor, then drains. */
  watchHeap(w: WorkerRecord): void {
    const limitMb = this.config.worker_heap_limit_mb;
    if (this.host.stopping || w.state !== 'listening') return;
    const heapMb = Math.round(w.heapUsedBytes / 1048576);
    if (this.successors.delete(w)) {
      const pause = this.guard.successorBeat(limitMb, w.heapUsedBytes);
      if (pause) {
        const fields = { worker: w.id, worker_pid: w.pid, heap_used_mb: heapMb, limit_mb: limitMb, retry_in_ms: pause.pauseMs };
        if (pause.first) this.log.warn({ event: 'worker.heap_limit_too_low' satisfies LogEvent, ...fields }, "worker_heap_limit_mb is below a fresh worker's heap; heap replacements back off");
        else this.log.debug({ event: 'worker.heap_backoff_longer' satisfies LogEvent, ...fields }, 'heap replacement successor over the limit again; backing off longer');
        return;
      }
    }
    if (this.replacing.has(w) || w.heapUsedBytes <= limitMb * 1024 * 1024) return;
    if (!this.guard.mayReplace(limitMb)) {
      this.log.debug({ event: 'worker.heap_backoff' satisfies LogEvent, worker: w.id, heap_used_mb: heapMb, limit_mb: limitMb }, 'worker over its heap limit; replacement backed off');
      return;
    }
    this.replacing.add(w);
    this.log.warn({ event: 'worker.heap_over_limit' satisfies LogEvent, worker: w.id, worker_pid: w.pid, heap_used_mb: heapMb, limit_mb: limitMb }, 'worker over its heap limit; replacing it gracefully');
    this.host.enqueue(async () => {
      // A replacement queued behind one whose successor showed the limit below the baseline.
      if (w.state !== 'listening' || !this.guard.mayReplace(this.config.worker_heap_limit_mb)) {
        this.replacing.delete(w);
        return;
      }
      this.metrics.increment('supervisor.worker.restarts', 1, { cause: 'heap' });
      try {
        this.successors.add(await this.host.startWithRetries(this.host.active, 'heap replacement', w.slot));
      } catch (err) {
        this.replacing.delete(w);
        if (!this.host.stopping) this.log.error({ event: 'worker.heap_no_successor' satisfies LogEvent, worker: w.id, reason: messageOf(err) }, 'no successor for the worker over its heap limit; it keeps serving');
        return;
      }
      await this.workers.retire(w);
    });
  }
}
