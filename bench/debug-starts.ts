/**
 * `npm run bench:debug-starts`: starts `eventgate --debug` (2 workers, the
 * thread pool on with a thread started at once) again and again, waits until
 * both workers listen and /healthz answers, stops it with SIGTERM and waits
 * for its exit. A start that does not get there, or a stop that does not exit
 * 0, within --timeout is "stuck": the script prints the threads of each
 * process left (name, state, kernel wait) for gdb, kills them, and goes on.
 * Prints the counts and start times; exits 1 if any start was stuck. Also
 * counts the V8 log folders a normal stop left behind (there should be none).
 *
 * Why: `--prof` beside `--interpreted-frames-native-stack` deadlocked about
 * one debug start in 15 (docs/profiling.md); this is the check that debug
 * starts are reliable, too long (minutes) for the test suite, which runs a
 * few starts (test/supervisor/debug.test.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from './procs';

/** The compiled file is dist/bench/debug-starts.js. */
const REPO = resolve(__dirname, '..', '..');

interface Outcome {
  readonly ok: boolean;
  readonly startMs?: number;
  readonly stopMs?: number;
  readonly problem?: string;
  readonly leftDebugDir: boolean;
}

function healthz(port: number): Promise<number> {
  return new Promise((done) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on('error', () => done(0));
    req.on('timeout', () => req.destroy());
  });
}

/** What a stuck process's threads wait on, from /proc (gdb -p PID -batch -ex 'thread apply all bt' says more). */
function threadsOf(pid: number): string {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map((tid) => {
        const read = (f: string) => {
          try {
            return readFileSync(`/proc/${pid}/task/${tid}/${f}`, 'utf8').trim();
          } catch {
            return '?';
          }
        };
        const state = read('stat').split(') ')[1]?.split(' ')[0] ?? '?';
        return `    ${tid} ${read('comm')} ${state} ${read('wchan')}`;
      })
      .join('\n');
  } catch {
    return '    (gone)';
  }
}

async function oneStart(configPath: string, port: number, timeoutMs: number): Promise<Outcome> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(REPO, 'bin/eventgate'), '-c', configPath, '--debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const workers: number[] = [];
  let listening = 0;
  let debugDir: string | undefined;
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const text of lines) {
      let line: { msg?: string; worker_pid?: number; v8_log?: string };
      try {
        line = JSON.parse(text) as typeof line;
      } catch {
        continue;
      }
      if (line.msg === 'worker forked' && typeof line.worker_pid === 'number') workers.push(line.worker_pid);
      if (line.msg === 'worker listening') listening++;
      if (line.msg === 'V8 log of the event loop' && typeof line.v8_log === 'string') debugDir = dirname(line.v8_log);
    }
  });
  child.stderr.resume();
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  const deadline = t0 + timeoutMs;
  const stuck = async (problem: string): Promise<Outcome> => {
    const report = [child.pid!, ...workers].map((pid) => `  pid ${pid}:\n${threadsOf(pid)}`).join('\n');
    for (const pid of [child.pid!, ...workers]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await exited;
    cleanUp(workers, debugDir);
    return { ok: false, problem: `${problem}\n${report}`, leftDebugDir: false };
  };
  while (!(listening >= 2 && (await healthz(port)) === 200)) {
    if (exitCode !== undefined) return stuck(`exited with ${exitCode} before it was ready`);
    if (performance.now() > deadline) return stuck(`not ready within ${timeoutMs} ms (${listening} of 2 workers listening)`);
    await new Promise((done) => setTimeout(done, 50));
  }
  const startMs = performance.now() - t0;
  const t1 = performance.now();
  child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((done) => setTimeout(() => done('timeout'), timeoutMs).unref());
  const code = await Promise.race([exited, timer]);
  if (code === 'timeout') return stuck(`no exit within ${timeoutMs} ms of SIGTERM`);
  const stopMs = performance.now() - t1;
  const leftDebugDir = debugDir !== undefined && existsSync(debugDir);
  cleanUp(workers, debugDir);
  if (code !== 0) return { ok: false, problem: `SIGTERM: exit code ${code}`, leftDebugDir };
  return { ok: true, startMs, stopMs, leftDebugDir };
}

/** Debug mode's files that outlive the process by design: the perf maps (and the V8 logs after a failed stop). */
function cleanUp(workers: readonly number[], debugDir: string | undefined): void {
  for (const pid of workers) rmSync(`/tmp/perf-${pid}.map`, { force: true });
  if (debugDir !== undefined) rmSync(debugDir, { recursive: true, force: true });
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      starts: { type: 'string', default: '100' },
      timeout: { type: 'string', default: '30000' },
    },
  });
  const starts = Number(values.starts);
  const timeoutMs = Number(values.timeout);
  const dir = mkdtempSync(join(tmpdir(), 'eventgate-debug-starts-'));
  try {
    const port = await freePort();
    const config = {
      num_workers: 2,
      logging: { level: 'info' },
      // Far from the usual 9229 so that a developer's own inspector does not collide.
      debug_inspect_port_base: 39229,
      services: [
        {
          name: 'eventgate',
          conf: {
            port,
            interface: '127.0.0.1',
            schema_base_uris: [join(REPO, 'schemas')],
            schema_file_extension: '.yaml',
            schema_precache_uris: ['/test/event/1.0.0'],
            output_path: join(dir, 'events.ndjson'),
            batch: { thread_pool: { enabled: true, min_threads: 1, max_threads: 2 } },
          },
        },
      ],
    };
    const configPath = join(dir, 'config.yaml');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    const times: number[] = [];
    const stops: number[] = [];
    let stuck = 0;
    let leftBehind = 0;
    for (let i = 1; i <= starts; i++) {
      const o = await oneStart(configPath, port, timeoutMs);
      if (o.leftDebugDir) leftBehind++;
      if (!o.ok) {
        stuck++;
        process.stdout.write(`start ${i}: STUCK: ${o.problem}\n`);
        continue;
      }
      times.push(o.startMs!);
      stops.push(o.stopMs!);
      if (i % 10 === 0) process.stderr.write(`bench:debug-starts: ${i} of ${starts}, ${stuck} stuck\n`);
    }
    times.sort((a, b) => a - b);
    stops.sort((a, b) => a - b);
    const ms = (v: number) => `${Math.round(v)} ms`;
    process.stdout.write(
      [
        `debug starts: ${starts}, stuck: ${stuck}, V8 log folders left after a normal stop: ${leftBehind}`,
        `start to ready (2 workers + /healthz): p50 ${ms(quantile(times, 0.5))}, p99 ${ms(quantile(times, 0.99))}, max ${ms(times.at(-1) ?? NaN)}`,
        `SIGTERM to exit: p50 ${ms(quantile(stops, 0.5))}, max ${ms(stops.at(-1) ?? NaN)}`,
      ].join('\n') + '\n',
    );
    process.exitCode = stuck > 0 ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
