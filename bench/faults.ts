/**
 * `npm run bench:faults [-- FAULT...]`: what clients see while a replicated
 * Kafka cluster (test/kafka/cluster.sh, 3 nodes) or an eventgate worker
 * fails, fault by fault (the faults and their ledger are those of
 * test/e2e/kafka-cluster-faults.test.ts, from test/helpers/cluster-faults.ts).
 * Prints, per fault: the longest time clients got no request served (the
 * gap: no 201, or no 207 whose only failures are invalid events), how long
 * failures went on, the answers by status, request latency, and the ledger (what the topic and the spool
 * hold against what was answered). Never fails on numbers; exits 1 only
 * when something could not run. The cluster is always stopped.
 */
import { KafkaCluster } from '../test/kafka/cluster';
import { FAULTS, runFault, type FaultRun } from '../test/helpers/cluster-faults';
import { checkLedger, missingFrom, summarize, type RequestRecord } from '../test/helpers/ledger';
import { table } from './report';

const progress = (line: string) => process.stderr.write(`bench:faults: ${line}\n`);

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * A request served: answered, and each of its events accepted or invalid
 * (every 20th request of the load carries an invalid event on purpose, so
 * a 207 is no failure by itself).
 */
function served(run: FaultRun, r: RequestRecord): boolean {
  return r.status !== undefined && r.ids.every((id) => ['accepted', 'invalid'].includes(run.answers.get(id) ?? 'none'));
}

/**
 * The gap: the longest time clients went without a served request, from
 * the fault's start on (between the start and the first served answer
 * after it, and between any two served answers that follow).
 */
function gapMs(run: FaultRun): number {
  const ok = run.requests
    .filter((r) => served(run, r) && r.done >= run.faultStart)
    .map((r) => r.done)
    .sort((a, b) => a - b);
  let gap = 0;
  let last = run.faultStart;
  for (const t of ok) {
    gap = Math.max(gap, t - last);
    last = t;
  }
  return gap;
}

/** From the sending of the first request not served to the answer of the last one; 0 when all were served. */
function failingSpanMs(run: FaultRun): number {
  const bad = run.requests.filter((r) => !served(run, r));
  if (bad.length === 0) return 0;
  return Math.max(...bad.map((r) => r.done)) - Math.min(...bad.map((r) => r.sent));
}

function statusCounts(run: FaultRun): string {
  const counts = new Map<string, number>();
  for (const r of run.requests) {
    const key = r.status !== undefined ? String(r.status) : (r.error ?? 'no answer');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}:${n}`)
    .join(' ');
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const faults = wanted.length > 0 ? FAULTS.filter((f) => wanted.includes(f.name)) : FAULTS;
  if (faults.length === 0) throw new Error(`no such fault: ${wanted.join(' ')} (faults: ${FAULTS.map((f) => f.name).join(', ')})`);
  progress('starting the 3-node cluster');
  const started = Date.now();
  const cluster = await KafkaCluster.start();
  progress(`cluster at ${cluster.bootstrap}, ready in ${Date.now() - started} ms`);
  const runs: FaultRun[] = [];
  try {
    for (const fault of faults) {
      progress(fault.title);
      runs.push(await runFault(cluster, fault));
    }
  } finally {
    await cluster.stop();
  }

  console.log(
    table([
      ['fault', 'fault s', 'gap ms', 'failing ms', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'answers by status'],
      ...runs.map((run) => {
        const ms = run.requests.map((r) => r.done - r.sent).sort((a, b) => a - b);
        return [
          run.fault.name,
          ((run.faultEnd - run.faultStart) / 1000).toFixed(1),
          String(gapMs(run)),
          String(failingSpanMs(run)),
          String(run.requests.length),
          String(quantile(ms, 0.5)),
          String(quantile(ms, 0.99)),
          String(ms[ms.length - 1] ?? 0),
          statusCounts(run),
        ];
      }),
    ]),
  );
  console.log('');
  console.log(
    table([
      ['fault', 'events', 'accepted', 'invalid', 'error', 'no answer', 'in topic', 'dups', 'spooled', 'in both', 'accepted!=1', 'error lost', 'replayed', 'missing after replay'],
      ...runs.map((run) => {
        const s = summarize(run.answers, run.topicBefore, run.spool);
        const f = checkLedger(run.answers, run.topicBefore, run.spool);
        return [
          run.fault.name,
          String(run.answers.size),
          String(s.answers.accepted),
          String(s.answers.invalid),
          String(s.answers.error),
          String(s.answers.none),
          String(s.inTopic),
          String(s.duplicates),
          String(s.spooled),
          String(s.inBoth),
          String(f.acceptedNotOnce.length),
          String(f.errorLost.length),
          String(Number(run.replay?.produced ?? 0)),
          String(missingFrom(run.answers, run.topicAfter).length),
        ];
      }),
    ]),
  );
  for (const run of runs) {
    if (run.anomalies.length > 0) console.log(`${run.fault.name}: ${run.anomalies.length} answers outside the API, first: ${run.anomalies[0]}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench:faults:', err);
    process.exit(1);
  },
);
