/**
 * The master: forks the HTTP workers (lib/supervisor/worker.ts), keeps each
 * one's state, watches heartbeats and heap, replaces dead workers with
 * back-off, rolls them onto a new config on SIGHUP and drains them on
 * SIGTERM/SIGINT. Its signals are handled here and nowhere else.
 *
 * Changes of the worker set (a roll, a heap replacement) run one at a time
 * through `queue`; crash replacements run beside them, and every change that
 * retires a worker starts its successor and waits for it to listen first.
 */
import cluster from 'node:cluster';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LoadedConfig } from '../config/load';
import type { Logger } from '../log';
import type { ReloadableMetrics } from '../metrics/factory';
import { codeOf, messageOf } from '../errors';
import { Backoff } from './backoff';
import { isWorkerMessage, type WorkerMessage } from './ipc';
import { debugEnabled, debugFlags, desiredWorkers, inspectPort, type RunOptions } from './options';
import { StartupFailure, WorkerRecord, type KillReason, type RestartCause } from './record';
import { rereadConfig } from './reread';

const WORKER_ENTRY = join(__dirname, 'worker.js');

/** Heartbeats (and the master's check of them) come this many times per heartbeat timeout. */
const BEATS_PER_TIMEOUT = 4;

export async function runMaster(loaded: LoadedConfig, log: Logger, metrics: ReloadableMetrics, options: RunOptions): Promise<void> {
  const master = new Master(loaded, log, metrics, options);
  process.on('SIGHUP', () => master.reload());
  process.on('SIGTERM', () => master.stop('SIGTERM'));
  process.on('SIGINT', () => master.stop('SIGINT'));
  await master.start();
}

class Master {
  private active: LoadedConfig;
  private desired: number;
  private generation = 1;
  private lastWorkerId = 0;
  private readonly workers = new Map<number, WorkerRecord>();
  private readonly crashBackoff: Backoff;
  private pendingReplacements = 0;
  private queue: Promise<void> = Promise.resolve();
  private reloadQueued = false;
  private stopping = false;
  /** Some worker did not drain cleanly during the stop: the exit code says so. */
  private unclean = false;
  private readonly stopped = new AbortController();
  private checkTimer: NodeJS.Timeout | undefined;

  constructor(
    loaded: LoadedConfig,
    private readonly log: Logger,
    private readonly metrics: ReloadableMetrics,
    private readonly options: RunOptions,
  ) {
    this.active = loaded;
    this.desired = desiredWorkers(loaded.config, options);
    // Workers accept from the shared listening socket themselves. With node's
    // default round robin the master accepts and hands each connection over
    // IPC; a connection handed to a worker that exits or is killed before it
    // replies is neither served nor closed (node:cluster keeps it forever), so
    // every crash, heartbeat kill or drain could strand clients. Here a worker
    // that stops accepting leaves waiting connections in the kernel queue for
    // the others, and the master is out of the data path.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const { config } = loaded;
    this.crashBackoff = new Backoff(config.worker_restart_delay_ms, config.worker_restart_delay_max_ms);
  }

  private get config() {
    return this.active.config;
  }

  private beatIntervalMs(): number {
    return Math.max(50, Math.min(2000, Math.floor(this.config.worker_heartbeat_timeout / BEATS_PER_TIMEOUT)));
  }

  async start(): Promise<void> {
    this.checkTimer = setInterval(() => this.check(), this.beatIntervalMs());
    const starting = this.startFirst();
    this.queue = starting;
    await starting;
  }

  /** The first worker alone (a broken config fails once, not N times), then the others together. */
  private async startFirst(): Promise<void> {
    this.log.info({ workers: this.desired }, 'master starting');
    try {
      await this.startWithRetries(this.active, 'startup');
    } catch (err) {
      if (this.stopping) return;
      this.log.fatal(
        { attempts: this.config.startup_attempts, code: codeOf(err), reason: messageOf(err) },
        'eventgate could not start: the first worker failed to start startup_attempts times in a row; giving up',
      );
      this.killAll('shutdown');
      await this.metrics.close();
      process.exit(1);
    }
    await Promise.all(Array.from({ length: this.desired - 1 }, () => this.addWorker()));
    if (!this.stopping) this.log.info({ workers: this.liveCount(), port: this.config.services[0].conf.port }, 'eventgate started');
  }

  /**
   * One more worker. If it fails to start, a replacement is retried in the
   * background with the crash back-off: the caller (startup, a roll) goes on
   * rather than wait for a worker that may never start.
   */
  private async addWorker(): Promise<void> {
    try {
      await this.startWorker(this.active);
    } catch {
      if (!this.stopping) void this.replace(this.crashBackoff.next());
    }
  }

  // ---- forking and per-worker events ----

  private spawn(loaded: LoadedConfig): WorkerRecord {
    const id = ++this.lastWorkerId;
    const debug = debugEnabled(loaded.config, this.options);
    const execArgv = [...process.execArgv];
    if (debug) {
      const flags = debugFlags(loaded, id);
      const logfile = flags.find((f) => f.startsWith('--logfile='));
      if (logfile) mkdirSync(dirname(logfile.slice('--logfile='.length)), { recursive: true });
      execArgv.push(...flags);
    }
    // cluster appends its own --inspect-port to a worker with inspector flags: give it ours.
    // No args: the worker takes its config over IPC, not from the master's command line.
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], execArgv, ...(debug ? { inspectPort: inspectPort(loaded.config, id) } : {}) });
    const record = new WorkerRecord(id, cluster.fork(), loaded, this.generation);
    this.workers.set(id, record);
    record.worker.on('message', (msg: unknown) => {
      if (isWorkerMessage(msg)) this.onMessage(record, msg);
    });
    record.worker.on('exit', (code: number | null, signal: string | null) => this.onExit(record, code, signal));
    // IPC errors (a send racing an exit) are followed by the exit itself.
    record.worker.on('error', (err: Error) => this.log.debug({ err, worker: id }, 'worker IPC error'));
    this.log.info({ worker: id, worker_pid: record.pid, generation: record.generation, debug }, 'worker forked');
    this.reportStates();
    return record;
  }

  private onMessage(w: WorkerRecord, msg: WorkerMessage): void {
    switch (msg.type) {
      case 'ready':
        w.markAlive();
        if (w.state === 'draining') return w.send({ type: 'drain' });
        return w.send({
          type: 'start',
          workerId: w.id,
          config: w.loaded.config,
          path: w.loaded.path,
          dir: w.loaded.dir,
          heartbeatIntervalMs: this.beatIntervalMs(),
          workers: this.desired,
        });
      case 'listening':
        if (w.state !== 'starting') return;
        w.markListening();
        this.metrics.increment('supervisor.worker.started');
        this.log.info({ worker: w.id, worker_pid: w.pid, port: msg.port, generation: w.generation }, 'worker listening');
        return this.reportStates();
      case 'heartbeat':
        w.markAlive(msg.heapUsedBytes);
        this.metrics.gauge('supervisor.worker.heap_used_bytes', msg.heapUsedBytes, { worker: w.id });
        return this.watchHeap(w);
      case 'startup_failed':
        w.markStartupFailed(codeOf(msg), msg.message);
        return;
      case 'draining':
        // The worker got SIGTERM on its own: not a crash, but it needs a successor.
        if (w.state !== 'listening') return;
        w.markDraining();
        this.log.warn({ worker: w.id, worker_pid: w.pid, reason: msg.reason }, 'worker drains on its own; replacing it');
        this.reportStates();
        // After the usual restart delay: a SIGTERM sent to the whole process group
        // reaches the master too, and its stop then cancels this replacement.
        if (!this.stopping) this.restart('signal', this.config.worker_restart_delay_ms);
        return;
    }
  }

  private onExit(w: WorkerRecord, code: number | null, signal: string | null): void {
    const was = w.state;
    w.markDead(code, signal);
    this.workers.delete(w.id);
    const cause = w.killReason ?? (was === 'draining' ? 'drained' : was === 'starting' ? 'startup' : 'crash');
    this.metrics.increment('supervisor.worker.exited', 1, { cause });
    const fields = { worker: w.id, worker_pid: w.pid, code, signal, cause, state: was };
    if (was === 'draining') {
      const clean = code === 0 && w.killReason === undefined;
      if (!clean && this.stopping) this.unclean = true;
      this.log[clean ? 'info' : 'warn'](fields, clean ? 'worker drained and exited' : 'worker did not drain cleanly');
    } else if (was === 'starting') {
      this.metrics.increment('supervisor.worker.startup_failed');
      this.log.warn({ ...fields, reason: w.startupError?.message }, 'worker failed to start');
    } else if (this.stopping) {
      this.unclean = true;
      this.log.warn(fields, 'worker exited during shutdown');
    } else {
      const restartCause: RestartCause = w.killReason === 'heartbeat' ? 'heartbeat' : 'crash';
      const delay = this.crashBackoff.next();
      this.log.error({ ...fields, restart_delay_ms: delay }, 'worker died; replacing it');
      this.restart(restartCause, delay);
    }
    this.reportStates();
  }

  /** Heartbeat, startup and drain deadlines; a worker past one is killed (and replaced if it was serving). */
  private check(): void {
    const now = Date.now();
    const { worker_heartbeat_timeout: heartbeat, worker_startup_timeout_ms: startup, shutdown_timeout_ms: drain } = this.config;
    for (const w of this.workers.values()) {
      let reason: KillReason | undefined;
      if (w.lastBeatAt !== undefined && now - w.lastBeatAt > heartbeat) reason = 'heartbeat';
      else if (w.state === 'starting' && now - w.forkedAt > startup) reason = 'startup_timeout';
      else if (w.state === 'draining' && now - w.drainStartedAt > drain) reason = 'drain_timeout';
      if (reason && w.kill(reason)) {
        this.log.error({ worker: w.id, worker_pid: w.pid, reason, state: w.state, silent_ms: now - (w.lastBeatAt ?? w.forkedAt) }, 'killing worker');
      }
    }
  }

  private watchHeap(w: WorkerRecord): void {
    const limitBytes = this.config.worker_heap_limit_mb * 1024 * 1024;
    if (this.stopping || w.state !== 'listening' || w.heapReplacement || w.heapUsedBytes <= limitBytes) return;
    w.heapReplacement = true;
    this.log.warn(
      { worker: w.id, worker_pid: w.pid, heap_used_mb: Math.round(w.heapUsedBytes / 1048576), limit_mb: this.config.worker_heap_limit_mb },
      'worker over its heap limit; replacing it gracefully',
    );
    this.metrics.increment('supervisor.worker.restarts', 1, { cause: 'heap' });
    this.enqueue(async () => {
      if (w.state !== 'listening') return;
      try {
        await this.startWithRetries(this.active, 'heap replacement');
      } catch (err) {
        w.heapReplacement = false;
        if (!this.stopping) this.log.error({ worker: w.id, reason: messageOf(err) }, 'no successor for the worker over its heap limit; it keeps serving');
        return;
      }
      await this.retire(w);
    });
  }

  // ---- starting, replacing, retiring ----

  /** Forks a worker and waits until it listens; rejects with a StartupFailure. */
  private async startWorker(loaded: LoadedConfig): Promise<WorkerRecord> {
    if (this.stopping) throw new StartupFailure('EG_ERR_MASTER_STOPPING', 'the master is stopping');
    const w = this.spawn(loaded);
    await w.listening;
    return w;
  }

  /** startup_attempts tries, with back-off between them. */
  private async startWithRetries(loaded: LoadedConfig, purpose: string): Promise<WorkerRecord> {
    const attempts = loaded.config.startup_attempts;
    const backoff = new Backoff(loaded.config.worker_restart_delay_ms, loaded.config.worker_restart_delay_max_ms);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startWorker(loaded);
      } catch (err) {
        if (this.stopping || attempt >= attempts) throw err;
        const delay = backoff.next();
        this.log.warn({ purpose, attempt, attempts, code: codeOf(err), reason: messageOf(err), retry_in_ms: delay }, 'worker failed to start; retrying');
        if (!(await this.sleep(delay))) throw err;
      }
    }
  }

  /** A successor for a worker that is gone (or going): after `delayMs`, then with back-off until one listens. */
  private restart(cause: RestartCause, delayMs: number): void {
    this.metrics.increment('supervisor.worker.restarts', 1, { cause });
    void this.replace(delayMs);
  }

  /**
   * `pendingReplacements` counts replacements waiting out their delay: once
   * one forks, its worker counts as live instead (fitCount adds up both).
   */
  private async replace(delayMs: number): Promise<void> {
    let delay = delayMs;
    for (;;) {
      this.pendingReplacements++;
      const waited = await this.sleep(delay);
      this.pendingReplacements--;
      if (!waited) return;
      try {
        await this.startWorker(this.active);
        return;
      } catch (err) {
        if (this.stopping) return;
        delay = this.crashBackoff.next();
        this.log.warn({ reason: messageOf(err), retry_in_ms: delay }, 'replacement worker failed to start; retrying');
      }
    }
  }

  /** Drains a worker and waits for its exit (the check kills it past shutdown_timeout_ms). */
  private async retire(w: WorkerRecord): Promise<void> {
    w.drain();
    this.reportStates();
    await w.exited;
  }

  // ---- SIGHUP ----

  reload(): void {
    if (this.stopping) return;
    this.log.info('SIGHUP: reloading the config');
    // Several SIGHUPs while a roll runs make one more roll, on the file as it is then.
    if (this.reloadQueued) return;
    this.reloadQueued = true;
    this.enqueue(async () => {
      this.reloadQueued = false;
      const next = await rereadConfig(this.active, this.log, this.metrics);
      if (next && !this.stopping) await this.roll(next);
    });
  }

  /**
   * One old worker at a time: its successor (new config) listens, then it
   * drains. A successor that fails startup_attempts times abandons the roll:
   * the workers not yet rolled keep serving and the old config stays in force.
   */
  private async roll(next: LoadedConfig): Promise<void> {
    let desired = desiredWorkers(next.config, this.options);
    if (desired === 0) {
      this.log.warn({ workers: this.desired }, 'num_workers 0 (one process) takes a restart; keeping the worker count');
      desired = this.desired;
    }
    const previous = { loaded: this.active, desired: this.desired };
    const old = [...this.workers.values()].filter((w) => w.live).sort((a, b) => a.id - b.id);
    this.generation++;
    const generation = this.generation;
    this.active = next;
    this.desired = desired;
    this.log.info({ generation, workers: old.length, desired }, 'rolling the workers onto the new config');
    let rolled = 0;
    for (const w of old) {
      if (this.stopping) return;
      if (!w.live) continue;
      const fresh = [...this.workers.values()].filter((x) => x.live && x.generation === generation).length;
      if (fresh < desired) {
        try {
          await this.startWithRetries(next, 'roll');
        } catch (err) {
          if (this.stopping) return;
          this.active = previous.loaded;
          this.desired = previous.desired;
          this.metrics.increment('supervisor.rolls', 1, { outcome: 'abandoned' });
          this.log.error(
            { generation, rolled, kept: old.length - rolled, reason: messageOf(err) },
            'roll abandoned: the new workers failed to start; the old workers keep serving on the old config',
          );
          return;
        }
      }
      await this.retire(w);
      rolled++;
    }
    await this.fitCount();
    this.log.info({ generation, workers: this.liveCount(), log_level: next.config.logging.level }, 'roll complete');
    this.log.level(next.config.logging.level);
    await this.metrics.reconfigure(next.config.metrics);
    this.metrics.increment('supervisor.rolls', 1, { outcome: 'completed' });
  }

  /** After a roll: start or retire workers until there are `desired` (counting replacements under way). */
  private async fitCount(): Promise<void> {
    const missing = this.desired - this.liveCount() - this.pendingReplacements;
    await Promise.all(Array.from({ length: Math.max(0, missing) }, () => this.addWorker()));
    const surplus = [...this.workers.values()].filter((w) => w.state === 'listening').sort((a, b) => a.id - b.id);
    const extra = this.liveCount() + this.pendingReplacements - this.desired;
    for (const w of surplus.slice(0, Math.max(0, extra))) await this.retire(w);
  }

  // ---- SIGTERM / SIGINT ----

  stop(signal: NodeJS.Signals): void {
    if (this.stopping) {
      this.log.warn({ signal }, 'second signal: killing the workers and exiting now');
      this.killAll('shutdown');
      process.exit(1);
    }
    this.stopping = true;
    this.stopped.abort();
    const timeoutMs = this.config.shutdown_timeout_ms;
    this.log.info({ signal, workers: this.workers.size }, 'shutting down: draining the workers');
    setTimeout(() => {
      this.log.error({ timeout_ms: timeoutMs }, 'shutdown timed out: killing the workers and exiting now');
      this.killAll('shutdown');
      process.exit(1);
    }, timeoutMs).unref();
    void (async () => {
      await Promise.all([...this.workers.values()].map((w) => this.retire(w)));
      clearInterval(this.checkTimer);
      await this.metrics.close();
      this.log.info({ clean: !this.unclean }, 'stopped');
      // stdout is synchronous for files and pipes on Linux: the lines above are out.
      process.exit(this.unclean ? 1 : 0);
    })();
  }

  private killAll(reason: KillReason): void {
    for (const w of this.workers.values()) w.kill(reason);
  }

  // ---- helpers ----

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((err: unknown) => this.log.error({ err }, 'supervisor task failed'));
  }

  /** Resolves true after `ms`, or false at once when the master stops. */
  private sleep(ms: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    const signal = this.stopped.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', done);
        resolve(true);
      }, ms);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private liveCount(): number {
    let n = 0;
    for (const w of this.workers.values()) if (w.live) n++;
    return n;
  }

  private reportStates(): void {
    const counts = { starting: 0, listening: 0, draining: 0 };
    for (const w of this.workers.values()) if (w.state !== 'dead') counts[w.state]++;
    for (const [state, n] of Object.entries(counts)) this.metrics.gauge('supervisor.workers', n, { state });
  }
}
