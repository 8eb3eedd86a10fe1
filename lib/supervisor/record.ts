import type { Worker } from 'node:cluster';
import type { LoadedConfig } from '../config/load';
import type { MasterMessage } from './ipc';

/**
 * A worker's life as the master sees it:
 *
 *   starting --listening--> listening --drain--> draining --exit--> dead
 *       \______________________\____________________________exit__/
 *
 * An exit from `draining` is planned; from `starting` it is a failed start;
 * from `listening` it is a crash (or a kill by the heartbeat check).
 */
export type WorkerState = 'starting' | 'listening' | 'draining' | 'dead';

/** Why the master killed a worker with SIGKILL. */
export type KillReason = 'heartbeat' | 'startup_timeout' | 'drain_timeout' | 'shutdown';

/** Why a worker that was listening is replaced. */
export type RestartCause = 'crash' | 'heartbeat' | 'heap' | 'signal';

/** A worker exited (or was killed) before it listened. */
export class StartupFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StartupFailure';
  }
}

export class WorkerRecord {
  state: WorkerState = 'starting';
  readonly forkedAt = Date.now();
  /** Last sign of life: `ready`, then each heartbeat. Undefined while node loads the entry. */
  lastBeatAt: number | undefined;
  drainStartedAt = 0;
  heapUsedBytes = 0;
  killReason: KillReason | undefined;
  /** What the worker said before it gave up starting. */
  startupError: { code: string; message: string } | undefined;
  /** A graceful replacement for the heap watch is queued or running. */
  heapReplacement = false;
  exitCode: number | null = null;

  /** Resolves when the worker listens; rejects with a StartupFailure if it dies first. */
  readonly listening: Promise<void>;
  readonly exited: Promise<void>;
  private settleListening: { resolve(): void; reject(err: StartupFailure): void } | undefined;
  private resolveExited!: () => void;

  constructor(
    readonly id: number,
    readonly worker: Worker,
    readonly loaded: LoadedConfig,
    readonly generation: number,
  ) {
    this.listening = new Promise<void>((resolve, reject) => (this.settleListening = { resolve, reject }));
    // Whoever forks awaits `listening`; a rejection nobody awaits any more is not an error.
    this.listening.catch(() => {});
    this.exited = new Promise<void>((resolve) => (this.resolveExited = resolve));
  }

  get pid(): number | undefined {
    return this.worker.process.pid;
  }

  /** Starting or listening: counts toward the wanted number of workers. */
  get live(): boolean {
    return this.state === 'starting' || this.state === 'listening';
  }

  markListening(): void {
    this.state = 'listening';
    this.settleListening?.resolve();
    this.settleListening = undefined;
  }

  markDead(code: number | null, signal: string | null): void {
    this.state = 'dead';
    this.exitCode = code;
    const failure =
      this.startupError ??
      (this.killReason === 'startup_timeout'
        ? { code: 'startup_timeout', message: 'the worker did not listen within worker_startup_timeout_ms' }
        : { code: signal ?? `exit_${code}`, message: `the worker exited before listening (${signal ?? `code ${code}`})` });
    this.settleListening?.reject(new StartupFailure(failure.code, failure.message));
    this.settleListening = undefined;
    this.resolveExited();
  }

  /** Asks for a graceful stop; the worker exits 0 once its in-flight requests are answered. */
  drain(): void {
    if (this.state === 'dead' || this.state === 'draining') return;
    this.state = 'draining';
    this.drainStartedAt = Date.now();
    this.send({ type: 'drain' });
  }

  /** A worker that is dying cannot be told anything; its exit is handled on its own. */
  send(msg: MasterMessage): void {
    if (this.worker.isConnected()) this.worker.send(msg);
  }

  kill(reason: KillReason): boolean {
    if (this.state === 'dead' || this.killReason) return false;
    this.killReason = reason;
    this.worker.process.kill('SIGKILL');
    return true;
  }
}
