/**
 * Runs the real `bin/eventgate` in a child process on a temporary config and
 * reads its JSON log lines (master and workers share its stdout), so that
 * tests can wait on what the supervisor says it did. Everything a test starts
 * is killed by `kill()`, which tests call in after/afterEach.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/ports';
import { ROOT } from '../helpers/service';
import { until } from '../helpers/until';
import { call } from '../helpers/http';
import type { LogEvent } from '../../lib/log-events';

export interface LogLine {
  readonly msg: string;
  /** The stable name of a lifecycle line (lib/log-events.ts): what tests match, never msg. */
  readonly event?: LogEvent;
  readonly level: number;
  readonly pid: number;
  readonly worker_id: number;
  readonly [field: string]: unknown;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}


async function isFree(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * A base port for `base + worker id` (debug_inspect_port_base): base + 1 to
 * base + count are free now and none of them is in `avoid`. The OS may hand
 * out a port it just gave the service again, so a bare freePort() - 1 can
 * put a worker's inspector on the service's own port.
 */
export async function freeBase(count: number, avoid: readonly number[]): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = await freePort();
    const run = Array.from({ length: count }, (_, i) => first + i);
    if (run.some((p) => p > 65535 || avoid.includes(p))) continue;
    let free = true;
    for (const p of run) free = free && (await isFree(p));
    if (free) return first - 1;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/**
 * What tests started and cleanUp() has not yet stopped. Each test file's
 * afterEach is cleanUp: it stops the loads, kills the processes (masters and
 * their workers) and removes the folders, so a test leaves nothing behind
 * even when it starts several or fails halfway.
 */
const started = { loads: new Set<Load>(), processes: new Set<Eventgate>(), configs: new Set<TempConfig>() };

/**
 * The hooks of every supervisor suite: a fresh TempConfig on a free port
 * before each test (handed to `use`), and cleanUp after it, pass or fail.
 */
export function withTempConfig(use: (cfg: TempConfig) => void): void {
  beforeEach(async () => use(await TempConfig.onFreePort()));
  afterEach(cleanUp);
}

export async function cleanUp(): Promise<void> {
  const { loads, processes, configs } = started;
  await Promise.all([...loads].map((l) => l.stop()));
  await Promise.all([...processes].map((e) => e.kill()));
  for (const c of configs) c.remove();
  loads.clear();
  processes.clear();
  configs.clear();
}

/** A temporary folder with a config file in it; `write` replaces the config (YAML is a superset of JSON). */
export class TempConfig {
  readonly dir = mkdtempSync(join(tmpdir(), 'eventgate-supervisor-'));
  readonly path = join(this.dir, 'config.yaml');
  readonly output = join(this.dir, 'events.ndjson');

  constructor(readonly port: number) {
    started.configs.add(this);
  }

  /** A config for a service on a port that is free now. */
  static async onFreePort(): Promise<TempConfig> {
    return new TempConfig(await freePort());
  }

  /** A config on `port` with the file sink; `top` merges at the top level, `conf` into services[0].conf. */
  write(top: Record<string, unknown> = {}, conf: Record<string, unknown> = {}): this {
    const config = {
      worker_restart_delay_ms: 100,
      logging: { level: 'info' },
      ...top,
      services: [
        {
          name: 'eventgate',
          conf: {
            port: this.port,
            interface: '127.0.0.1',
            schema_base_uris: [join(ROOT, 'schemas')],
            schema_file_extension: '.yaml',
            output_path: this.output,
            ...conf,
          },
        },
      ],
    };
    writeFileSync(this.path, JSON.stringify(config, null, 2));
    return this;
  }

  writeRaw(text: string): void {
    writeFileSync(this.path, text);
  }

  /** Events the file sink holds, parsed. */
  written(): Record<string, unknown>[] {
    let text = '';
    try {
      text = readFileSync(this.output, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
    started.configs.delete(this);
  }
}

export class Eventgate {
  readonly lines: LogLine[] = [];
  /** What is not a JSON log line (node's own messages, stack traces). */
  readonly other: string[] = [];
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private readonly child: ChildProcess;
  /** Worker pids the master reported forking, each with its start time (/proc/PID/stat) when reported. */
  private readonly workerPids = new Map<number, string>();

  /**
   * `env`: added to this process's environment for the child (and so its workers);
   * `wrap`: a command that ends by exec'ing its arguments (node and eventgate's), so that the pid stays the master's.
   */
  constructor(configPath: string, args: string[] = [], spawnOptions: { env?: NodeJS.ProcessEnv; wrap?: string[] } = {}) {
    started.processes.add(this);
    const command = [...(spawnOptions.wrap ?? []), process.execPath, join(ROOT, 'bin/eventgate'), '-c', configPath, ...args];
    this.child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...spawnOptions.env } });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
    this.readLines(this.child.stdout!, true);
    this.readLines(this.child.stderr!, false);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  private readLines(stream: NodeJS.ReadableStream, json: boolean): void {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const text of parts) {
        if (!text) continue;
        let line: LogLine | undefined;
        if (json) {
          try {
            line = JSON.parse(text) as LogLine;
          } catch {
            line = undefined;
          }
        }
        if (!line) {
          this.other.push(text);
          continue;
        }
        this.lines.push(line);
        if (line.event === 'worker.forked' && typeof line.worker_pid === 'number') {
          // Read now, while the worker is surely alive (or a zombie of our master): its pid is its own.
          const since = startTime(line.worker_pid);
          if (since !== undefined) this.workerPids.set(line.worker_pid, since);
        }
      }
    });
  }

  /** Master lines (worker_id 0) of this event. */
  master(event: LogEvent): LogLine[] {
    return this.lines.filter((l) => l.worker_id === 0 && l.event === event);
  }

  async waitFor(match: (l: LogLine) => boolean, timeoutMs = 10000, what = 'a log line'): Promise<LogLine> {
    const line = await until(() => this.lines.find(match) ?? (this.hasExited ? this.fail(what) : undefined), timeoutMs, what);
    return line!;
  }

  /** The nth (1-based) master line of this event. */
  async waitForMaster(event: LogEvent, nth = 1, timeoutMs = 10000): Promise<LogLine> {
    await until(() => this.master(event).length >= nth || (this.hasExited && this.fail(`${event} #${nth}`)), timeoutMs, `${event} #${nth}`);
    return this.master(event)[nth - 1];
  }

  /** The first line of this event, from any process, that also passes `also`. */
  waitForEvent(event: LogEvent, also: (l: LogLine) => boolean = () => true, timeoutMs = 10000): Promise<LogLine> {
    return this.waitFor((l) => l.event === event && also(l), timeoutMs, event);
  }

  /** Lines of this event, from any process. */
  events(event: LogEvent): LogLine[] {
    return this.lines.filter((l) => l.event === event);
  }

  private fail(what: string): never {
    throw new Error(`eventgate exited (${JSON.stringify(this.exit)}) while waiting for ${what}; stderr: ${this.other.join('\n')}`);
  }

  /** Workers listening now, by worker id: pid, from the master's lines. */
  listening(): Map<number, number> {
    const live = new Map<number, number>();
    for (const l of this.lines) {
      if (l.worker_id !== 0 || typeof l.worker !== 'number') continue;
      if (l.event === 'worker.listening') live.set(l.worker, l.worker_pid as number);
      else if (typeof l.cause === 'string' || l.event === 'worker.draining_unasked') live.delete(l.worker);
    }
    return live;
  }

  async waitForWorkers(n: number, timeoutMs = 15000): Promise<Map<number, number>> {
    await until(() => this.listening().size === n || (this.hasExited && this.fail(`${n} workers`)), timeoutMs, `${n} listening workers`);
    return this.listening();
  }

  /** Every worker pid the master reported forking. */
  forked(): number[] {
    return [...this.workerPids.keys()];
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /**
   * SIGKILL to the master and every worker it forked that still runs; resolves
   * once the master is gone. A worker pid is signalled only while its start
   * time is the one read when it was forked: a pid the kernel has since given
   * to another process is left alone. The master goes through its
   * ChildProcess, which signals nothing once it has exited.
   */
  async kill(): Promise<void> {
    for (const [pid, since] of this.workerPids) {
      if (startTime(pid) !== since) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone since.
      }
    }
    if (!this.hasExited) this.child.kill('SIGKILL');
    await this.exited;
    started.processes.delete(this);
  }
}

/** The start time of process `pid` (clock ticks after boot, field 22 of /proc/PID/stat), or undefined when there is none. */
function startTime(pid: number): string | undefined {
  try {
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether a pid is gone or a zombie (exited, not yet reaped by a parent that is itself exiting). */
export function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

const REQUEST_TIMEOUT_MS = 10000;

export interface Answer {
  readonly status: number;
  readonly reason: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request on a fresh connection (no keep-alive: each request is routed anew by the master). */
/** One request on a fresh connection, bounded by REQUEST_TIMEOUT_MS (the shared client of test/helpers/http.ts). */
export async function send(port: number, method: string, path: string, body?: unknown): Promise<Answer> {
  const r = await call(port, { method, path, body, fresh: true, timeoutMs: REQUEST_TIMEOUT_MS });
  return { status: r.status, reason: r.reason, headers: r.headers, body: r.text };
}

export function testEvent(id: string = randomUUID()): Record<string, unknown> {
  return { $schema: '/test/event/1.0.0', meta: { stream: 'test.event', id, dt: '2026-01-01T00:00:00.000Z' }, test: 'supervisor' };
}

export interface LoadResult {
  readonly id: string;
  readonly status?: number;
  readonly servedBy?: string;
  readonly cors?: string;
  readonly error?: string;
  /** The answer's reason phrase and body, when it is not a 201. */
  readonly detail?: string;
}

/**
 * Keeps `concurrency` requests in flight (one event each, fresh connections)
 * until stopped; records every outcome.
 */
export class Load {
  readonly results: LoadResult[] = [];
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly port: number,
    concurrency = 4,
  ) {
    started.loads.add(this);
    this.loops = Array.from({ length: concurrency }, () => this.loop());
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const id = randomUUID();
      try {
        const a = await send(this.port, 'POST', '/v1/events', testEvent(id));
        this.results.push({
          id,
          status: a.status,
          servedBy: a.headers['x-served-by'] as string | undefined,
          cors: a.headers['access-control-allow-origin'],
          ...(a.status !== 201 ? { detail: `${a.reason} ${a.body}`.slice(0, 500) } : {}),
        });
      } catch (err) {
        this.results.push({ id, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
      }
    }
  }

  /** Stops sending; resolves when the requests in flight are answered. */
  async stop(): Promise<LoadResult[]> {
    this.running = false;
    await Promise.all(this.loops);
    return this.results;
  }
}
