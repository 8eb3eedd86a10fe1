/**
 * The master's set of workers: forks them (entry, flags, debug mode), keeps
 * their records by id until they exit, and answers "which, how many, in
 * what state". What a worker's messages and exit mean is the master's call:
 * the set only hands them on.
 */
import cluster from 'node:cluster';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/load';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import { isWorkerMessage, type WorkerMessage } from './ipc';
import { debugDir, debugEnabled, debugFlags, inspectPort, type RunOptions } from './options';
import { WorkerRecord, type KillReason, type WorkerState } from './record';
import { forwardStderr } from './stderr';
import type { LogEvent } from '../log-events';

const WORKER_ENTRY = join(__dirname, 'worker.js');

export interface WorkerEvents {
  message(w: WorkerRecord, msg: WorkerMessage): void;
  /** The worker is marked dead and out of the set; `was` is the state it died in. */
  exit(w: WorkerRecord, was: WorkerState, code: number | null, signal: string | null): void;
}

export class WorkerSet implements Iterable<WorkerRecord> {
  private readonly byId = new Map<number, WorkerRecord>();
  private lastId = 0;
  /** The temp folder of V8 logs this master made (debug mode without debug_dir). */
  private ownDebugDir: string | undefined;

  constructor(
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly options: RunOptions,
    private readonly events: WorkerEvents,
  ) {
    // Workers accept from the shared listening socket themselves. With node's
    // default round robin the master accepts and hands each connection over
    // IPC; a connection handed to a worker that exits or is killed before it
    // replies is neither served nor closed (node:cluster keeps it forever), so
    // every crash, heartbeat kill or drain could strand clients. Here a worker
    // that stops accepting leaves waiting connections in the kernel queue for
    // the others, and the master is out of the data path.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
  }

  /**
   * A new worker in `slot`: the slot of the worker it is to replace (a roll,
   * a heap replacement: that one still serves until this one listens), else
   * the lowest slot no starting or listening worker holds (at startup, after
   * a crash, or for a worker that drains on its own). Slots stay in
   * 0..num_workers-1; two workers share one only while the older drains.
   */
  fork(loaded: LoadedConfig, generation: number, slot = this.freeSlot()): WorkerRecord {
    const id = ++this.lastId;
    const debug = debugEnabled(loaded.config, this.options);
    const execArgv = [...process.execArgv];
    if (debug) {
      const { dir, owned } = debugDir(loaded);
      mkdirSync(dir, { recursive: true });
      if (owned) this.ownDebugDir = dir;
      execArgv.push(...debugFlags(loaded, id));
    }
    // cluster appends its own --inspect-port to a worker with inspector flags: give it ours.
    // No args: the worker takes its config over IPC, not from the master's command line.
    // A debug worker's stderr comes through the master (stderr.ts); every
    // setupPrimary sets stdio, as its settings outlive the call.
    const stdio = debug ? [0, 1, 'pipe', 'ipc'] : [0, 1, 2, 'ipc'];
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], execArgv, stdio, ...(debug ? { inspectPort: inspectPort(loaded.config, id) } : {}) });
    const record = new WorkerRecord(id, slot, cluster.fork(), loaded, generation);
    const stderr = record.worker.process.stderr;
    if (debug && stderr) forwardStderr(stderr, this.log, { worker: id, worker_pid: record.pid });
    this.byId.set(id, record);
    record.worker.on('message', (msg: unknown) => {
      if (isWorkerMessage(msg)) this.events.message(record, msg);
    });
    record.worker.on('exit', (code: number | null, signal: string | null) => {
      const was = record.state;
      record.markDead(code, signal);
      this.byId.delete(id);
      this.events.exit(record, was, code, signal);
      this.reportStates();
    });
    // IPC errors (a send racing an exit) are followed by the exit itself.
    record.worker.on('error', (err: Error) => this.log.debug({ event: 'worker.ipc_error' satisfies LogEvent, err, worker: id }, 'worker IPC error'));
    this.log.info({ event: 'worker.forked' satisfies LogEvent, worker: id, worker_slot: slot, worker_pid: record.pid, generation, debug }, 'worker forked');
    this.reportStates();
    return record;
  }

  private freeSlot(): number {
    const held = new Set<number>();
    for (const w of this.byId.values()) if (w.live) held.add(w.slot);
    let slot = 0;
    while (held.has(slot)) slot++;
    return slot;
  }

  /** Drains a worker and waits for its exit (the health check kills it past shutdown_timeout_ms). */
  async retire(w: WorkerRecord): Promise<void> {
    w.drain();
    this.reportStates();
    await w.exited;
  }

  /**
   * After a normal stop: removes the V8 logs in the temp folder this master
   * made (a debug_dir is the operator's and stays). /tmp/perf-<pid>.map files
   * stay too: V8 writes them, and perf script / perf report read them after
   * the worker is gone.
   */
  removeOwnDebugFiles(): void {
    const dir = this.ownDebugDir;
    if (dir === undefined) return;
    this.ownDebugDir = undefined;
    try {
      rmSync(dir, { recursive: true, force: true });
      this.log.info({ event: 'debug.logs_removed' satisfies LogEvent, dir }, 'removed the V8 logs of debug mode (set debug_dir to keep them)');
    } catch (err) {
      this.log.warn({ event: 'debug.logs_remove_failed' satisfies LogEvent, err, dir }, 'could not remove the V8 logs of debug mode');
    }
  }

  killAll(reason: KillReason): void {
    for (const w of this.byId.values()) w.kill(reason);
  }

  get size(): number {
    return this.byId.size;
  }

  [Symbol.iterator](): Iterator<WorkerRecord> {
    return this.byId.values();
  }

  /** Starting or listening workers, oldest first. */
  live(): WorkerRecord[] {
    return [...this.byId.values()].filter((w) => w.live).sort((a, b) => a.id - b.id);
  }

  liveCount(): number {
    let n = 0;
    for (const w of this.byId.values()) if (w.live) n++;
    return n;
  }

  /** Workers in `state`, oldest first. */
  inState(state: WorkerState): WorkerRecord[] {
    return [...this.byId.values()].filter((w) => w.state === state).sort((a, b) => a.id - b.id);
  }

  reportStates(): void {
    const counts = { starting: 0, listening: 0, draining: 0 };
    for (const w of this.byId.values()) if (w.state !== 'dead') counts[w.state]++;
    for (const [state, n] of Object.entries(counts)) this.metrics.gauge('supervisor.workers', n, { state });
  }
}
