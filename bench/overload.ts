/**
 * bench:overload: eventgate in a memory cgroup under the client mixes of
 * issue 24 (test/overload/scenario.ts runs them): 100 clients each sending a
 * ~9.5 MB valid batch (trying again after a 503), while another client
 * sends single events. Per scenario: the peak memory (the process tree's
 * summed VmRSS, the cgroup's anonymous memory and its peak with page cache)
 * against the limit and the worker's body budget, the batches' answers by
 * status, the other client's statuses and p50/p99/max, OOM kills, and
 * whether the sink holds exactly the events answered 201. Numbers only.
 *
 * BENCH_OVERLOAD_BASELINE=DIR runs every scenario first with the checkout
 * in DIR (built: DIR/dist), the same run's baseline. Needs root (cgroup).
 * BENCH_OVERLOAD_ONLY=name,name runs only those scenarios.
 */
import { resolve } from 'node:path';
import { canMakeMemoryCgroup } from '../test/helpers/cgroup';
import { acceptedIds, runScenario, singleLatency, statusCounts, type Outcome, type Scenario } from '../test/helpers/overload-scenario';

const REPO = resolve(__dirname, '..', '..');
const MiB = 1024 * 1024;

const BASE: Scenario = { name: 'trickled 15 s', limitMiB: 300, workers: 1, batches: 100, batchBytes: 9.5e6, trickleMs: 15000, gzip: false, singlesMs: 30000 };
const SCENARIOS: readonly Scenario[] = [
  BASE,
  { ...BASE, name: 'fast', trickleMs: 0, singlesMs: 15000 },
  { ...BASE, name: 'gzip chunked', gzip: true, trickleMs: 4000, singlesMs: 15000 },
  { ...BASE, name: '2 workers 500 MiB', workers: 2, limitMiB: 500, trickleMs: 0, singlesMs: 15000 },
  { ...BASE, name: '2 workers 300 MiB', workers: 2, trickleMs: 0, singlesMs: 15000 },
];

function row(label: string, o: Outcome): string {
  const mib = (n: number) => (Number.isFinite(n) ? (n / MiB).toFixed(0) : '-');
  const lat = singleLatency(o);
  const accepted = acceptedIds(o);
  const inSink = new Set(o.sinkIds);
  const missing = [...accepted].filter((id) => !inSink.has(id)).length;
  const extra = o.sinkIds.filter((id) => !accepted.has(id)).length + (o.sinkIds.length - inSink.size);
  const fmt = (c: Record<string, number>) =>
    Object.entries(c)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
  const singles = Object.fromEntries([...o.singles.statuses].map(([k, v]) => [k === 0 ? 'none' : String(k), v]));
  return (
    `| ${o.scenario.name} | ${label} | ${o.scenario.limitMiB} | ${o.bodyBudgetMiB ?? '-'} | ${mib(o.treeRssPeakBytes)} | ${mib(o.anonPeakBytes)} | ${mib(o.cgroupPeakBytes)} | ` +
    `${fmt(statusCounts(o.batches))} | ${fmt(singles)} | ${lat.p50.toFixed(1)} / ${lat.p99.toFixed(1)} / ${lat.max.toFixed(0)} | ${o.oomKills} | ${missing} / ${extra} |\n`
  );
}

async function main(): Promise<void> {
  if (!canMakeMemoryCgroup()) throw new Error('bench:overload needs root and a cgroup memory controller');
  const only = process.env.BENCH_OVERLOAD_ONLY?.split(',').map((s) => s.trim());
  const baseline = process.env.BENCH_OVERLOAD_BASELINE;
  process.stdout.write(
    '| scenario | build | limit MiB | body budget MiB | tree RSS peak MiB | anon peak MiB | cgroup peak MiB | batches (final answer) | single events | singles p50 / p99 / max ms | OOM kills | sink missing / extra |\n' +
      '|---|---|---|---|---|---|---|---|---|---|---|---|\n',
  );
  for (const s of SCENARIOS) {
    if (only && !only.includes(s.name)) continue;
    if (baseline) process.stdout.write(row('baseline', await runScenario(s, resolve(baseline))));
    process.stdout.write(row('this', await runScenario(s, REPO)));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:overload failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
