/**
 * What the command line adds to a config: a worker count and debug mode that
 * win over the file, also after a SIGHUP re-read. Kept apart from the config
 * so that the config stays exactly what the file says.
 */
import { availableParallelism } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import type { LoadedConfig } from '../config/load';
import type { Config } from '../config/schema';
import { EventGateError } from '../errors';

export interface RunOptions {
  /** `-n`: a worker count spec (`4`, `ncpu`, `ncpu*2`) that replaces `num_workers`. */
  readonly numWorkers?: string;
  /** `--debug`: debug mode even when `debug_mode` is false. */
  readonly debug?: boolean;
}

const SPEC = /^\s*(?:(\d+)|ncpu(?:\s*\*\s*(\d+))?)\s*$/;

/** Whether a worker count spec is well formed (the config schema checks the file's). */
export function isWorkerCountSpec(spec: string): boolean {
  return SPEC.test(spec);
}

/** `4` -> 4, `ncpu` -> CPUs, `ncpu*2` -> 2 * CPUs; `0` means one process, no cluster. */
export function workerCount(spec: number | string, ncpu = availableParallelism()): number {
  if (typeof spec === 'number') return spec;
  const m = SPEC.exec(spec);
  if (!m) throw new EventGateError('EG_ERR_WORKER_COUNT', `not a worker count: ${JSON.stringify(spec)} (use a number, ncpu or ncpu*K)`);
  if (m[1] !== undefined) return Number(m[1]);
  return ncpu * (m[2] === undefined ? 1 : Number(m[2]));
}

export function desiredWorkers(config: Config, options: RunOptions): number {
  return workerCount(options.numWorkers ?? config.num_workers);
}

export function debugEnabled(config: Config, options: RunOptions): boolean {
  return options.debug === true || config.debug_mode;
}

/** Highest TCP port; inspector ports past it wrap to just above the base. */
const MAX_PORT = 65535;

export function inspectPort(config: Config, workerId: number): number {
  const base = config.debug_inspect_port_base;
  const span = MAX_PORT - base;
  return span > 0 ? base + 1 + ((workerId - 1) % span) : base;
}

/**
 * Folder of the workers' V8 logs: `debug_dir`, or without it one of this
 * master's own in the OS temp folder (`eventgate-debug-<master pid>`), which
 * the master may remove on a normal stop because nothing else writes there.
 */
export function debugDir(loaded: LoadedConfig, masterPid: number = process.pid, temp: string = tmpdir()): { readonly dir: string; readonly owned: boolean } {
  const configured = loaded.config.debug_dir;
  if (configured === undefined) return { dir: join(temp, `eventgate-debug-${masterPid}`), owned: true };
  return { dir: isAbsolute(configured) ? configured : resolve(loaded.dir, configured), owned: false };
}

/**
 * Node flags of a worker in debug mode: the inspector on loopback, then the
 * configured profiling flags, then the V8 log file. V8 replaces `%p` in
 * --logfile with the worker's pid, which is not known before the fork.
 */
export function debugFlags(loaded: LoadedConfig, workerId: number, masterPid: number = process.pid): string[] {
  const { config } = loaded;
  const { dir } = debugDir(loaded, masterPid);
  return [`--inspect=127.0.0.1:${inspectPort(config, workerId)}`, ...config.debug_node_flags, `--logfile=${join(dir, 'eventgate-v8-%p.log')}`];
}

/** Where V8's --perf-basic-prof writes perf-<pid>.map: fixed in V8, whatever TMPDIR says, and where perf looks. */
export const PERF_MAP_DIR = '/tmp';

/**
 * Every folder a debug-mode start writes into: the V8 logs' folder and the
 * perf maps'. deploy/eventgate.service must leave each writable
 * (test/supervisor/debug-unit.test.ts holds the two in step); `temp` is the
 * temp folder of the master's environment (TMPDIR, else /tmp).
 */
export function debugWrites(loaded: LoadedConfig, temp: string = tmpdir()): string[] {
  return [debugDir(loaded, 0, temp).dir, PERF_MAP_DIR];
}
