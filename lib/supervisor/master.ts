/**
 * The master: forks the HTTP workers (lib/supervisor/worker.ts), reads their
 * messages and exits, replaces dead workers with back-off, and hands SIGHUP
 * to the roll (roll.ts) and SIGTERM/SIGINT to the shutdown (shutdown.ts).
 * Its signals are handled here and nowhere else. The workers themselves are
 * a WorkerSet (workers.ts), each a WorkerRecord (record.ts) that owns its
 * state; heartbeat, deadline and heap checks are in health.ts.
 *
 * Changes of the worker set (a roll, a heap replacement) run one at a time
 * through `queue`; crash replacements run beside them, and every change that
 * retires a worker starts its successor and waits for it to listen first.
 */
import type { LoadedConfig } from '../config/load';
import { codeOf, messageOf } from '../errors';
import type { Logger } from '../log';
import type { ReloadableMetrics } from '../metrics/factory';
import { Backoff } from '../backoff';
import { MemoryLedger } from '../memory/ledger';
import { budgetOf } from '../service';
import { ClusterMetrics } from './collect';
import { exitOnUncaught } from './fatal';
import { beatIntervalMs, Health, type HealthHost } from './health';
import type { WorkerMessage } from './ipc';
import { desiredWorkers, type RunOptions } from './options';
import { StartupFailure, type RestartCause, type WorkerRecord, type WorkerState } from './record';
import { Roller, type RollHost } from './roll';
import { Shutdown } from './shutdown';
import { WorkerSet } from './workers';
import type { LogEvent } from '../log-events';

export async function runMaster(loaded: LoadedConfig, log: Logger, metrics: ReloadableMetrics, options: RunOptions): Promise<void> {
  const master = new Master(loaded, log, metrics, options);
  let started = false;
  exitOnUncaught(log, 'master', () => (master.stopping ? 'stopping' : started ? 'serving' : 'starting'));
  process.on('SIGHUP', () => master.reload());
  process.on('SIGTERM', () => master.stop('SIGTERM'));
  process.on('SIGINT', () => master.stop('SIGINT'));
  await master.start();
  started = true;
}

class Master implements RollHost, HealthHost {
  active: LoadedConfig;
  desired: number;
  generation = 1;
  /** Replacements waiting out their delay: once one forks, its worker counts as live instead. */
  pendingReplacements = 0;
  private readonly workers: WorkerSet;
  private readonly health: Health;
  private readonly roller: Roller;
  private readonly shutdown: Shutdown;
  private readonly crashBackoff: Backoff;
  private readonly clusterMetrics: ClusterMetrics;
  private queue: Promise<void> = Promise.resolve();
  /** The body memory the workers share (lib/memory/ledger.ts), sized for `ledgerFor`. */
  private readonly ledger = new MemoryLedger(0);
  private ledgerFor: LoadedConfig | undefined;

  constructor(
    loaded: LoadedConfig,
    private readonly log: Logger,
    private readonly metrics: ReloadableMetrics,
    options: RunOptions,
  ) {
    this.active = loaded;
    this.desired = desiredWorkers(loaded.config, options);
    const { config } = loaded;
    this.crashBackoff = new Backoff(config.worker_restart_delay_ms, config.worker_restart_delay_max_ms);
    this.workers = new WorkerSet(log, metrics, options, {
      message: (w, msg) => this.onMessage(w, msg),
      exit: (w, was, code, signal) => this.onExit(w, was, code, signal),
    });
    this.health = new Health(this, this.workers, log, metrics);
    this.roller = new Roller(this, this.workers, log, metrics, options);
    this.shutdown = new Shutdown(this.workers, log, metrics, (clean) => {
      this.health.stop();
      if (clean) this.workers.removeOwnDebugFiles();
    });
    this.clusterMetrics = new ClusterMetrics(this.workers);
    metrics.gatherWith((own) => this.clusterMetrics.gather(own));
  }

  private get config() {
    return this.active.config;
  }

  get stopping(): boolean {
    return this.shutdown.stopping;
  }

  async start(): Promise<void> {
    this.health.start();
    const starting = this.startFirst();
    this.queue = starting;
    await starting;
  }

  reload(): void {
    this.roller.reload();
  }

  stop(signal: NodeJS.Signals): void {
    this.shutdown.begin(signal, this.config.shutdown_timeout_ms, this.config.shutdown_signal_merge_ms);
  }

  /** The first worker alone (a broken config fails once, not N times), then the others together. */
  private async startFirst(): Promise<void> {
    this.log.info({ event: 'master.starting' satisfies LogEvent, workers: this.desired }, 'master starting');
    try {
      await this.startWithRetries(this.active, 'startup');
    } catch (err) {
      if (this.stopping) return;
      this.log.fatal(
        { event: 'master.gave_up' satisfies LogEvent, attempts: this.config.startup_attempts, code: codeOf(err), reason: messageOf(err) },
        'eventgate could not start: the first worker failed to start startup_attempts times in a row; giving up',
      );
      await this.shutdown.giveUp();
    }
    await Promise.all(Array.from({ length: this.desired - 1 }, () => this.addWorker()));
    if (!this.stopping) this.log.info({ event: 'master.started' satisfies LogEvent, workers: this.workers.liveCount(), port: this.config.services[0].conf.port }, 'eventgate started');
  }

  /**
   * One more worker. If it fails to start, a replacement is retried in the
   * background with the crash back-off: the caller (startup, a roll) goes on
   * rather than wait for a worker that may never start.
   */
  async addWorker(): Promise<void> {
    try {
      await this.startWorker(this.active);
    } catch {
      if (!this.stopping) void this.replace(this.crashBackoff.next());
    }
  }

  enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((err: unknown) => this.log.error({ event: 'master.task_failed' satisfies LogEvent, err }, 'supervisor task failed'));
  }

  // ---- per-worker events ----

  private onMessage(w: WorkerRecord, msg: WorkerMessage): void {
    switch (msg.type) {
      case 'ready':
        w.markAlive();
        if (w.state === 'draining') return w.send({ type: 'drain' });
        return w.send({
          type: 'start',
          workerId: w.id,
          slot: w.slot,
          config: w.loaded.config,
          path: w.loaded.path,
          dir: w.loaded.dir,
          heartbeatIntervalMs: beatIntervalMs(this.config),
          workers: this.desired,
          // In a roll or beside other workers, it takes traffic only once ready.
          listenBeforeReady: this.workers.inState('listening').length === 0,
        });
      case 'listening':
        if (w.state !== 'starting') return;
        w.markListening();
        this.metrics.increment('supervisor.worker.started');
        this.log.info({ event: 'worker.listening' satisfies LogEvent, worker: w.id, worker_pid: w.pid, port: msg.port, generation: w.generation }, 'worker listening');
        return this.workers.reportStates();
      case 'heartbeat':
        w.markAlive(msg.heapUsedBytes);
        // By slot, so names (statsd) and series (Prometheus) stay bounded; a draining worker leaves its slot's reading to its successor.
        if (w.state !== 'draining') this.metrics.gauge('supervisor.worker.heap_used_bytes', msg.heapUsedBytes, { worker: w.slot });
        return this.health.watchHeap(w);
      case 'metrics':
        return this.clusterMetrics.receive(w, msg);
      case 'memory_ask':
        return w.send({ type: 'memory_answer', id: msg.id, answer: this.sharedMemory().ask(w.id, msg.id, msg.bytes) });
      case 'memory_done':
        return this.sharedMemory().done(w.id, msg.id);
      case 'startup_failed':
        w.markStartupFailed(codeOf(msg), msg.message);
        return;
      case 'draining':
        // The worker got SIGTERM on its own: not a crash, but it needs a successor.
        if (w.state !== 'listening') return;
        w.markDraining();
        this.log.warn({ event: 'worker.draining_unasked' satisfies LogEvent, worker: w.id, worker_pid: w.pid, reason: msg.reason }, 'worker drains on its own; replacing it');
        this.workers.reportStates();
        // After the usual restart delay: a SIGTERM sent to the whole process group
        // reaches the master too, and its stop then cancels this replacement.
        if (!this.stopping) this.restart('signal', this.config.worker_restart_delay_ms);
        return;
    }
  }

  /** `w` is dead and out of the set already; `was` tells a planned exit from a failed start and a crash. */
  private onExit(w: WorkerRecord, was: WorkerState, code: number | null, signal: string | null): void {
    // Its bodies are gone with it.
    this.ledger.workerGone(w.id);
    this.clusterMetrics.exited(w);
    const cause = w.killReason ?? (was === 'draining' ? 'drained' : was === 'starting' ? 'startup' : 'crash');
    this.metrics.increment('supervisor.worker.exited', 1, { cause });
    // exit_code, not code: `code` in a log line is always an error code of lib/errors.ts.
    const fields = { worker: w.id, worker_pid: w.pid, exit_code: code, signal, cause, state: was };
    if (was === 'draining') {
      const clean = code === 0 && w.killReason === undefined;
      if (!clean && this.stopping) this.shutdown.markUnclean();
      if (clean) this.log.info({ event: 'worker.drained' satisfies LogEvent, ...fields }, 'worker drained and exited');
      else this.log.warn({ event: 'worker.drain_unclean' satisfies LogEvent, ...fields }, 'worker did not drain cleanly');
    } else if (was === 'starting') {
      this.metrics.increment('supervisor.worker.startup_failed');
      this.log.warn({ event: 'worker.start_failed' satisfies LogEvent, ...fields, reason: w.startupError?.message }, 'worker failed to start');
    } else if (this.stopping) {
      this.shutdown.markUnclean();
      this.log.warn({ event: 'worker.exited_in_shutdown' satisfies LogEvent, ...fields }, 'worker exited during shutdown');
    } else {
      const restartCause: RestartCause = w.killReason === 'heartbeat' ? 'heartbeat' : 'crash';
      const delay = this.crashBackoff.next();
      this.log.error({ event: 'worker.died' satisfies LogEvent, ...fields, restart_delay_ms: delay }, 'worker died; replacing it');
      this.restart(restartCause, delay);
    }
  }

  /** The ledger, sized for the active config (a reload may change the memory model's keys). */
  private sharedMemory(): MemoryLedger {
    if (this.ledgerFor !== this.active) {
      this.ledgerFor = this.active;
      this.ledger.resize(budgetOf(this.active, this.desired).sharedBytes);
    }
    return this.ledger;
  }

  // ---- starting and replacing ----

  /** Forks a worker and waits until it listens; rejects with a StartupFailure. */
  private async startWorker(loaded: LoadedConfig, slot?: number): Promise<WorkerRecord> {
    if (this.stopping) throw new StartupFailure('EG_ERR_MASTER_STOPPING', 'the master is stopping');
    const w = this.workers.fork(loaded, this.generation, slot);
    await w.listening;
    return w;
  }

  /** startup_attempts tries, with back-off between them; `slot`: that of the worker this one is to replace. */
  async startWithRetries(loaded: LoadedConfig, purpose: string, slot?: number): Promise<WorkerRecord> {
    const attempts = loaded.config.startup_attempts;
    const backoff = new Backoff(loaded.config.worker_restart_delay_ms, loaded.config.worker_restart_delay_max_ms);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startWorker(loaded, slot);
      } catch (err) {
        if (this.stopping || attempt >= attempts) throw err;
        const delay = backoff.next();
        this.log.warn({ event: 'worker.start_retry' satisfies LogEvent, purpose, attempt, attempts, code: codeOf(err), reason: messageOf(err), retry_in_ms: delay }, 'worker failed to start; retrying');
        if (!(await this.shutdown.sleep(delay))) throw err;
      }
    }
  }

  /** A successor for a worker that is gone (or going): after `delayMs`, then with back-off until one listens. */
  private restart(cause: RestartCause, delayMs: number): void {
    this.metrics.increment('supervisor.worker.restarts', 1, { cause });
    void this.replace(delayMs);
  }

  private async replace(delayMs: number): Promise<void> {
    let delay = delayMs;
    for (;;) {
      this.pendingReplacements++;
      const waited = await this.shutdown.sleep(delay);
      this.pendingReplacements--;
      if (!waited) return;
      try {
        await this.startWorker(this.active);
        return;
      } catch (err) {
        if (this.stopping) return;
        delay = this.crashBackoff.next();
        this.log.warn({ event: 'worker.replacement_retry' satisfies LogEvent, reason: messageOf(err), retry_in_ms: delay }, 'replacement worker failed to start; retrying');
      }
    }
  }
}
