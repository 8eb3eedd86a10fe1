/**
 * SIGHUP in the master: re-read the config, then roll the workers onto it
 * one at a time, each old worker draining only once its successor listens.
 */
import type { LoadedConfig } from '../config/load';
import { messageOf } from '../errors';
import type { Logger } from '../log';
import type { ReloadableMetrics } from '../metrics/factory';
import { desiredWorkers, type RunOptions } from './options';
import type { WorkerRecord } from './record';
import { rereadConfig } from './reread';
import type { WorkerSet } from './workers';
import type { LogEvent } from '../log-events';

/** The master's state a roll reads and moves on. */
export interface RollHost {
  readonly stopping: boolean;
  /** The config new workers start on, and how many workers there should be. */
  active: LoadedConfig;
  desired: number;
  /** Bumped by each roll: workers forked from then on belong to it. */
  generation: number;
  /** Replacements waiting out their delay: they will fork a worker each. */
  readonly pendingReplacements: number;
  /** Runs a change of the worker set after the ones queued before it. */
  enqueue(task: () => Promise<void>): void;
  /** `slot`: that of the worker the new one replaces. */
  startWithRetries(loaded: LoadedConfig, purpose: string, slot?: number): Promise<WorkerRecord>;
  /** One more worker; one that fails to start is retried in the background. */
  addWorker(): Promise<void>;
}

export class Roller {
  private reloadQueued = false;

  constructor(
    private readonly host: RollHost,
    private readonly workers: WorkerSet,
    private readonly log: Logger,
    private readonly metrics: ReloadableMetrics,
    private readonly options: RunOptions,
  ) {}

  reload(): void {
    if (this.host.stopping) return;
    this.log.info({ event: 'reload.started' satisfies LogEvent }, 'SIGHUP: reloading the config');
    // Several SIGHUPs while a roll runs make one more roll, on the file as it is then.
    if (this.reloadQueued) return;
    this.reloadQueued = true;
    this.host.enqueue(async () => {
      this.reloadQueued = false;
      const next = await rereadConfig(this.host.active, this.log, this.metrics);
      if (!next || this.host.stopping) return;
      // The master's own level follows the file at once: a roll takes as long as its workers' drains.
      this.log.level(next.config.logging.level);
      await this.roll(next);
    });
  }

  /**
   * One old worker at a time: its successor (new config) listens, then it
   * drains. A successor that fails startup_attempts times abandons the roll:
   * the workers not yet rolled keep serving and the old config stays in force.
   */
  private async roll(next: LoadedConfig): Promise<void> {
    const host = this.host;
    let desired = desiredWorkers(next.config, this.options);
    if (desired === 0) {
      this.log.warn({ event: 'reload.num_workers_kept' satisfies LogEvent, workers: host.desired }, 'num_workers 0 (one process) takes a restart; keeping the worker count');
      desired = host.desired;
    }
    const previous = { loaded: host.active, desired: host.desired };
    const old = this.workers.live();
    host.generation++;
    const generation = host.generation;
    host.active = next;
    host.desired = desired;
    this.log.info({ event: 'roll.started' satisfies LogEvent, generation, workers: old.length, desired }, 'rolling the workers onto the new config');
    let rolled = 0;
    for (const w of old) {
      if (host.stopping) return;
      if (!w.live) continue;
      const fresh = this.workers.live().filter((x) => x.generation === generation).length;
      if (fresh < desired) {
        try {
          await host.startWithRetries(next, 'roll', w.slot);
        } catch (err) {
          if (host.stopping) return;
          host.active = previous.loaded;
          host.desired = previous.desired;
          this.log.level(previous.loaded.config.logging.level);
          this.metrics.increment('supervisor.rolls', 1, { outcome: 'abandoned' });
          this.log.error(
            { event: 'roll.abandoned' satisfies LogEvent, generation, rolled, kept: old.length - rolled, reason: messageOf(err) },
            'roll abandoned: the new workers failed to start; the old workers keep serving on the old config',
          );
          return;
        }
      }
      await this.workers.retire(w);
      rolled++;
    }
    await this.fitCount();
    this.log.info({ event: 'roll.done' satisfies LogEvent, generation, workers: this.workers.liveCount(), log_level: next.config.logging.level }, 'roll complete');
    await this.metrics.reconfigure(next.config.metrics);
    this.metrics.increment('supervisor.rolls', 1, { outcome: 'completed' });
  }

  /** After a roll: start or retire workers until there are `desired` (counting replacements under way). */
  private async fitCount(): Promise<void> {
    const { desired } = this.host;
    const missing = desired - this.workers.liveCount() - this.host.pendingReplacements;
    await Promise.all(Array.from({ length: Math.max(0, missing) }, () => this.host.addWorker()));
    const surplus = this.workers.inState('listening');
    const extra = this.workers.liveCount() + this.host.pendingReplacements - desired;
    for (const w of surplus.slice(0, Math.max(0, extra))) await this.workers.retire(w);
  }
}
