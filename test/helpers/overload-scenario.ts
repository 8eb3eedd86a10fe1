/**
 * One overload scenario, as test/overload/overload.test.ts and
 * bench/overload.ts run it: eventgate (the real bin/eventgate, master and
 * workers) inside a memory cgroup of its own, a file sink; `batches`
 * clients each send one large valid batch at once, while another client
 * sends single events; then the sink is read back against the answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { call } from './http';
import { freePort } from './ports';
import { until } from './until';
import { MemoryCgroup } from './cgroup';
import { batchIds, eventsFor, percentile, sendBatchRetrying, sendSingles, type BatchAnswer, type SingleStats } from './overload-clients';

const MiB = 1024 * 1024;

export interface Scenario {
  readonly name: string;
  readonly limitMiB: number;
  readonly workers: number;
  readonly batches: number;
  readonly batchBytes: number;
  /** 0: as fast as loopback takes them. */
  readonly trickleMs: number;
  readonly gzip: boolean;
  /** How long the other client sends single events; the batches start a second after it. */
  readonly singlesMs: number;
}

export interface Outcome {
  readonly scenario: Scenario;
  readonly batches: readonly BatchAnswer[];
  readonly singles: SingleStats;
  readonly oomKills: number;
  /** The cgroup's peak (anon and page cache) and the highest sum of the tree's VmRSS seen. */
  readonly cgroupPeakBytes: number;
  readonly treeRssPeakBytes: number;
  readonly anonPeakBytes: number;
  /** The budget the worker logged (bytes of bodies x expansion). */
  readonly bodyBudgetMiB: number | undefined;
  /** Ids in the sink, in order (duplicates kept). */
  readonly sinkIds: readonly string[];
  readonly exit: { code: number | null; signal: NodeJS.Signals | null };
  /** What master and workers logged (its start and its end, for a failure report). */
  readonly output: string;
}

/** The VmRSS of a process and its descendants. */
function treeRss(pid: number): number {
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    try {
      total += Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      for (const t of readdirSync(`/proc/${p}/task`)) {
        const kids = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').trim();
        if (kids) stack.push(...kids.split(' ').map(Number));
      }
    } catch {
      // Exited meanwhile.
    }
  }
  return total;
}

export async function runScenario(s: Scenario, root: string): Promise<Outcome> {
  const tmp = mkdtempSync(join(tmpdir(), 'eventgate-overload-'));
  const cgroup = new MemoryCgroup(`eventgate-overload-${process.pid}-${Date.now()}`, s.limitMiB * MiB);
  let child: ChildProcess | undefined;
  let output = '';
  try {
    const port = await freePort();
    const sink = join(tmp, 'events.ndjson');
    const config = join(tmp, 'config.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        num_workers: s.workers,
        logging: { level: 'info' },
        services: [
          {
            conf: {
              port,
              interface: '127.0.0.1',
              max_body_size: '10mb',
              output_path: sink,
              schema_base_uris: [join(root, 'schemas')],
              schema_file_extension: '.yaml',
              schema_precache_uris: ['/test/event/1.0.0'],
            },
          },
        ],
      }),
    );
    const [cmd, ...args] = cgroup.wrap([process.execPath, join(root, 'bin', 'eventgate'), '-c', config]);
    child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      output += d.toString('utf8');
      // Log lines of a long run: keep the start (the budget) and the last part.
      if (output.length > 400000) output = output.slice(0, 100000) + output.slice(-200000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const proc = child;
    await until(async () => proc.exitCode !== null || (await call(port, { path: '/readyz', fresh: true, timeoutMs: 2000 }).then((r) => r.status, () => 0)) === 200, 60000, 'eventgate ready');
    if (proc.exitCode !== null) throw new Error(`eventgate exited at start:\n${output}`);

    let treePeak = 0;
    let anonPeak = 0;
    const sampler = setInterval(() => {
      treePeak = Math.max(treePeak, treeRss(proc.pid as number));
      anonPeak = Math.max(anonPeak, cgroup.anonBytes());
    }, 25);
    const perBatch = eventsFor(s.batchBytes);
    const singles = sendSingles(port, s.singlesMs);
    await new Promise((r) => setTimeout(r, 1000));
    // The batch clients try again after a 503 while the other client sends, so that batch after
    // batch goes through the worker (its memory must not grow with each).
    const deadline = performance.now() + s.singlesMs - 1000;
    const batches = await Promise.all(
      Array.from({ length: s.batches }, (_, b) => sendBatchRetrying({ port, ids: batchIds(b, perBatch), trickleMs: s.trickleMs, gzip: s.gzip }, deadline)),
    );
    const singleStats = await singles;
    clearInterval(sampler);
    const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    proc.kill('SIGTERM');
    const [code, signal] = await exited;
    const sinkIds = readFileSync(sink, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { meta: { id: string } }).meta.id);
    const budget = /"body_memory_mib":([\d.]+)/.exec(output);
    return {
      scenario: s,
      batches,
      singles: singleStats,
      oomKills: cgroup.oomKills(),
      cgroupPeakBytes: cgroup.peakBytes(),
      treeRssPeakBytes: treePeak,
      anonPeakBytes: anonPeak,
      bodyBudgetMiB: budget ? Number(budget[1]) : undefined,
      sinkIds,
      exit: { code, signal },
      output,
    };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await cgroup.remove();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The ids the answers say were written: every event of a 201 batch, every single answered 201. */
export function acceptedIds(o: Outcome): Set<string> {
  const ids = new Set<string>(o.singles.accepted);
  for (const b of o.batches) if (b.status === 201) for (const id of b.ids) ids.add(id);
  return ids;
}

export function statusCounts(answers: readonly { status: number }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.status === 0 ? 'none' : String(a.status)] = (counts[a.status === 0 ? 'none' : String(a.status)] ?? 0) + 1;
  return counts;
}

export function singleLatency(o: Outcome): { p50: number; p99: number; max: number } {
  const l = o.singles.latenciesMs;
  return { p50: percentile(l, 50), p99: percentile(l, 99), max: l.length ? Math.max(...l) : NaN };
}
