/** One measurement: a load generator process against one server, for one body kind. */
import { once } from 'node:events';
import { join } from 'node:path';
import { Histogram } from './histogram';
import { cpuTimeMs, launch, machineBusyMs, stop, waitForQuiet } from './procs';
import type { LoadJob, LoadMessage, LoadResult } from './protocol';

export interface Target {
  /** `eventgate` or `ceiling`. */
  readonly server: string;
  readonly port: number;
  readonly pid: number | undefined;
}

export interface Load {
  readonly bodies: readonly string[];
  readonly eventsPerBody: number;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** CPU for the generator process, when pinning. */
  readonly cpu: number | undefined;
  /** See LoadJob.spin; off when not given. */
  readonly spin?: boolean;
  /** Request path and query; /v1/events when not given. */
  readonly path?: string;
  /** See LoadJob.spreadOver. */
  readonly spreadOver?: number;
  /**
   * Processes the server depends on (bench/kafka.ts: the broker JVMs), whose
   * CPU in the window is reported apart from `other`: it is the price of the
   * sink, not noise.
   */
  readonly watchPids?: readonly number[];
}

export interface Measurement {
  readonly server: string;
  readonly seconds: number;
  readonly requestsPerS: number;
  /** Events in 2xx answers per second. */
  readonly eventsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** CPU use in the window, in % of one core (undefined without /proc). */
  readonly serverCpuPct: number | undefined;
  /** Server CPU time per event answered 2xx, in µs: steadier than events/s when other processes compete. */
  readonly serverUsPerEvent: number | undefined;
  readonly generatorCpuPct: number;
  /** CPU the rest of the machine used in the window (other processes: noise), in % of one core. */
  readonly otherCpuPct: number | undefined;
  /** CPU of Load.watchPids in the window, in % of one core (undefined without them or /proc). */
  readonly watchedCpuPct: number | undefined;
  /** The same per event answered 2xx, in µs. */
  readonly watchedUsPerEvent: number | undefined;
  readonly firstError?: string;
  readonly firstNon2xx?: string;
}

/** Summed CPU time of `pids`; undefined when there are none or one cannot be read. */
function cpuTimeOfMs(pids: readonly number[]): number | undefined {
  if (pids.length === 0) return undefined;
  let sum = 0;
  for (const pid of pids) {
    const ms = cpuTimeMs(pid);
    if (ms === undefined) return undefined;
    sum += ms;
  }
  return sum;
}

export async function measure(target: Target, load: Load): Promise<Measurement> {
  const gen = launch('load generator', { script: join(__dirname, 'loadgen.js'), ipc: true, cpu: load.cpu });
  const job: LoadJob = {
    type: 'job',
    host: '127.0.0.1',
    port: target.port,
    path: load.path ?? '/v1/events',
    bodies: load.bodies,
    connections: load.connections,
    warmupMs: load.warmupMs,
    durationMs: load.durationMs,
    spin: load.spin ?? false,
    spreadOver: load.spreadOver,
  };
  let serverCpuAtStart: number | undefined;
  let busyAtStart: number | undefined;
  let watchedAtStart: number | undefined;
  const watched = load.watchPids ?? [];
  const result = new Promise<LoadResult>((resolve, reject) => {
    gen.proc.on('message', (msg: LoadMessage) => {
      if (msg.type === 'started') {
        serverCpuAtStart = cpuTimeMs(target.pid);
        busyAtStart = machineBusyMs();
        watchedAtStart = cpuTimeOfMs(watched);
      }
      else resolve(msg);
    });
    gen.proc.once('exit', (code, signal) => reject(new Error(`load generator exited (${code ?? signal}) without a result:\n${gen.output()}`)));
  });
  gen.proc.send(job);
  let r: LoadResult;
  try {
    r = await result;
  } finally {
    if (gen.proc.exitCode === null) await Promise.race([once(gen.proc, 'exit'), new Promise((done) => setTimeout(done, 2000))]);
    await stop(gen, 1000);
  }
  const serverCpuAtEnd = cpuTimeMs(target.pid);
  const busyAtEnd = machineBusyMs();
  const watchedAtEnd = cpuTimeOfMs(watched);
  const seconds = r.elapsedMs / 1000;
  let ok = 0;
  for (const [status, n] of Object.entries(r.statuses)) if (status.startsWith('2')) ok += n;
  const latency = new Histogram(r.latency);
  const serverCpuMs = serverCpuAtStart !== undefined && serverCpuAtEnd !== undefined ? serverCpuAtEnd - serverCpuAtStart : undefined;
  const busyMs = busyAtStart !== undefined && busyAtEnd !== undefined ? busyAtEnd - busyAtStart : undefined;
  const watchedMs = watchedAtStart !== undefined && watchedAtEnd !== undefined ? watchedAtEnd - watchedAtStart : undefined;
  const otherMs =
    busyMs !== undefined && serverCpuMs !== undefined ? Math.max(0, busyMs - serverCpuMs - r.cpuMs - (watchedMs ?? 0)) : undefined;
  const events = ok * load.eventsPerBody;
  return {
    server: target.server,
    seconds,
    requestsPerS: r.responses / seconds,
    eventsPerS: events / seconds,
    p50Ms: latency.quantile(0.5) / 1000,
    p99Ms: latency.quantile(0.99) / 1000,
    non2xx: r.responses - ok,
    errors: r.errors,
    statuses: r.statuses,
    serverCpuPct: serverCpuMs === undefined ? undefined : (serverCpuMs / r.elapsedMs) * 100,
    serverUsPerEvent: serverCpuMs === undefined || events === 0 ? undefined : (serverCpuMs * 1000) / events,
    generatorCpuPct: (r.cpuMs / r.elapsedMs) * 100,
    otherCpuPct: otherMs === undefined ? undefined : (otherMs / r.elapsedMs) * 100,
    watchedCpuPct: watchedMs === undefined ? undefined : (watchedMs / r.elapsedMs) * 100,
    watchedUsPerEvent: watchedMs === undefined || events === 0 ? undefined : (watchedMs * 1000) / events,
    firstError: r.firstError,
    firstNon2xx: r.firstNon2xx,
  };
}

/** With --quiet-wait (`seconds` > 0): lets other processes' load pass before a measurement. */
export async function quiet(seconds: number, say: (line: string) => void): Promise<void> {
  if (seconds <= 0) return;
  const waited = await waitForQuiet(seconds * 1000);
  if (waited < 0) say(`the machine did not get quiet within ${seconds} s; measuring anyway`);
  else if (waited > 1500) say(`waited ${(waited / 1000).toFixed(0)} s for other load to pass`);
}

/** The run with more events/s: interference from other processes only ever lowers it. */
export function best(a: Measurement | undefined, b: Measurement): Measurement {
  return a && a.eventsPerS >= b.eventsPerS ? a : b;
}
