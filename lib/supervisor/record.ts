import type { Worker } from 'node:cluster';
import type { LoadedConfig } from '../config/load';
import { EventGateError, type ErrorCode } from '../errors';
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

/** A worker exited (or was killed) before it listened, or the master would not start one. */
export class StartupFailure extends EventGateError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'StartupFailure';
  }
}

/**
 * One worker as the master sees it. What the master knows of it changes only
 * through the methods below (mark*, drain, kill): the diagram above is the
 * whole story of its state.
 */
export class WorkerRecord {
  private current: WorkerState = 'starting';
  readonly forkedAt = Date.now();
  /** Last sign of life: `ready`, then each heartbeat. Undefined while node loads the entry. */
  private beatAt: number | undefined;
  private drainAt = 0;
  private heapBytes = 0;
  private killedFor: KillReason | undefined;
  /** What the worker said before it gave up starting. */
  private failedWith: { code: ErrorCode; message: string } | undefined;

  /** Resolves when the worker listens; rejects with a StartupFailure if it dies first. */
  readonly listening: Promise<void>;
  readonly exited: Promise<void>;
  private settleListening: { resolve(): void; reject(err: StartupFailure): void } | undefined;
  private resolveExited!: () => void;

  constructor(
    readonly id: number,
    /** Its place among the workers (0..num_workers-1), taken over by its successor: see WorkerSet.fork. */
    readonly slot: number,
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

  get state(): WorkerState {
    return this.current;
  }

  get lastBeatAt(): number | undefined {
    return this.beatAt;
  }

  get drainStartedAt(): number {
    return this.drainAt;
  }

  get heapUsedBytes(): number {
    return this.heapBytes;
  }

  get killReason(): KillReason | undefined {
    return this.killedFor;
  }

  get startupError(): { readonly code: ErrorCode; readonly message: string } | undefined {
    return this.failedWith;
  }

  /** Starting or listening: counts toward the wanted number of workers. */
  get live(): boolean {
    return this.current === 'starting' || this.current === 'listening';
  }

  /** A sign of life: `ready` (no heap figure yet) or a heartbeat. */
  markAlive(heapUsedBytes?: number): void {
    this.beatAt = Date.now();
    if (heapUsedBytes !== undefined) this.heapBytes = heapUsedBytes;
  }

  /** The worker said why it could not start; its exit follows and rejects `listening` with this. */
  markStartupFailed(code: ErrorCode, message: string): void {
    this.failedWith = { code, message };
  }

  markListening(): void {
    this.current = 'listening';
    this.settleListening?.resolve();
    this.settleListening = undefined;
  }

  markDead(code: number | null, signal: string | null): void {
    this.current = 'dead';
    const failure: { code: ErrorCode; message: string } =
      this.failedWith ??
      (this.killedFor === 'startup_timeout'
        ? { code: 'EG_ERR_WORKER_STARTUP_TIMEOUT', message: 'the worker did not listen within worker_startup_timeout_ms' }
        : { code: 'EG_ERR_WORKER_EXITED', message: `the worker exited before listening (${signal ?? `code ${code}`})` });
    this.settleListening?.reject(new StartupFailure(failure.code, failure.message));
    this.settleListening = undefined;
    this.resolveExited();
  }

  /**
   * From now on its exit is planned and the drain deadline runs. False when
   * it is draining already or dead. On its own this tells the worker nothing:
   * for a worker that drains by itself (it got SIGTERM).
   */
  markDraining(): boolean {
    if (this.current === 'dead' || this.current === 'draining') return false;
    this.current = 'draining';
    this.drainAt = Date.now();
    return true;
  }

  /** Asks for a graceful stop; the worker exits 0 once its in-flight requests are answered. */
  drain(): void {
    if (this.markDraining()) this.send({ type: 'drain' });
  }

  /** A worker that is dying cannot be told anything; its exit is handled on its own. */
  send(msg: MasterMessage): void {
    if (this.worker.isConnected()) this.worker.send(msg);
  }

  kill(reason: KillReason): boolean {
    if (this.current === 'dead' || this.killedFor) return false;
    this.killedFor = reason;
    this.worker.process.kill('SIGKILL');
    return true;
  }
}
