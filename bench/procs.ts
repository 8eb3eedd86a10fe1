/** Child processes of the bench: starting them (optionally pinned to a CPU), readiness, CPU time, stopping. */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';

export interface Launch {
  readonly script: string;
  readonly args?: readonly string[];
  /** Flags for node itself (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  /** Pin the process (and its threads) to this CPU with taskset. */
  readonly cpu?: number;
  readonly ipc?: boolean;
  readonly cwd?: string;
}

export interface Child {
  readonly proc: ChildProcess;
  readonly name: string;
  /** The last few KB of its stdout and stderr, for a failure report. */
  output(): string;
}

const TAIL = 4096;

let tasksetOk: boolean | undefined;
/** taskset is there and works (Linux with util-linux). */
export function canPin(): boolean {
  tasksetOk ??= spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return tasksetOk;
}

export function launch(name: string, l: Launch): Child {
  const argv = [...(l.nodeArgs ?? []), l.script, ...(l.args ?? [])];
  const stdio: StdioOptions = l.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'];
  const proc =
    l.cpu !== undefined
      ? spawn('taskset', ['-c', String(l.cpu), process.execPath, ...argv], { stdio, cwd: l.cwd })
      : spawn(process.execPath, argv, { stdio, cwd: l.cwd });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  return { proc, name, output: () => tail };
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise((done) => srv.close(done));
  return port;
}

function status(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

/** Polls GET path until it answers 200; fails if the child exits first or time runs out. */
export async function waitReady(child: Child, port: number, path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`${child.name} exited (${child.proc.exitCode ?? child.proc.signalCode}) before it was ready:\n${child.output()}`);
    }
    last = await status(port, path);
    if (last === 200) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${child.name} was not ready within ${timeoutMs} ms (last ${path}: ${last || 'no answer'}):\n${child.output()}`);
}

/** CPU time (user + system, all threads) a process has used so far, in ms; undefined where /proc is not there. */
export function cpuTimeMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  return statCpuMs(`/proc/${pid}/stat`);
}

function statCpuMs(file: string): number | undefined {
  try {
    const stat = readFileSync(file, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the file, in clock ticks (USER_HZ, 100 on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) one thread of a process has used so far, in ms; undefined where /proc is not there. */
export function threadCpuMs(pid: number, tid: number): number | undefined {
  return statCpuMs(`/proc/${pid}/task/${tid}/stat`);
}

/** Busy CPU time of the whole machine so far (all cores, without idle and iowait), in ms; undefined without /proc. */
export function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'latin1').slice(0, 200).split('\n')[0];
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    // user nice system idle iowait irq softirq steal
    return ((total - ticks[3] - ticks[4]) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/**
 * Waits (up to maxMs) until the machine has been nearly idle for a second:
 * under `idlePct` of one core busy. Resolves with how long it waited, or -1
 * when it gave up (or cannot tell, without /proc).
 */
export async function waitForQuiet(maxMs: number, idlePct = 15): Promise<number> {
  const started = Date.now();
  for (;;) {
    const a = machineBusyMs();
    await new Promise((done) => setTimeout(done, 1000));
    const b = machineBusyMs();
    if (a === undefined || b === undefined) return -1;
    if (((b - a) / 1000) * 100 < idlePct) return Date.now() - started;
    if (Date.now() - started >= maxMs) return -1;
  }
}

/** SIGTERM, then SIGKILL if it has not exited within graceMs. Resolves with its exit code. */
export async function stop(child: Child, graceMs = 15000): Promise<number | null> {
  const { proc } = child;
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  const exited = once(proc, 'exit') as Promise<[number | null]>;
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  const [code] = await exited;
  clearTimeout(timer);
  return code;
}
