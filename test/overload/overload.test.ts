/**
 * Issue 24's "done when": eventgate as real processes in a 300 MiB memory
 * cgroup, the chart's shape (max_body_size 10mb, file sink), under 100
 * clients each sending a ~9.5 MB valid batch (trying again after each 503)
 * while another client sends single events. The cgroup is made by the test
 * (root and a memory controller needed: this machine and CI have them).
 */
import { expect } from 'chai';
import { ROOT } from '../helpers/service';
import { canMakeMemoryCgroup } from '../helpers/cgroup';
import { acceptedIds, runScenario, singleLatency, statusCounts, type Outcome, type Scenario } from '../helpers/overload-scenario';

const MAIN: Scenario = { name: 'trickled', limitMiB: 300, workers: 1, batches: 100, batchBytes: 9.5e6, trickleMs: 15000, gzip: false, singlesMs: 30000 };

function expectSurvived(o: Outcome): void {
  const summary = JSON.stringify({ batches: statusCounts(o.batches), singles: Object.fromEntries(o.singles.statuses), latency: singleLatency(o), oom: o.oomKills });
  expect(o.oomKills, `OOM kills (${summary})`).to.equal(0);
  expect(o.exit, `exit of the master (${summary})\n${o.output.slice(-3000)}`).to.deep.equal({ code: 0, signal: null });
  // Every batch got an answer: taken whole, or refused with a time to come back.
  const unanswered = o.batches.filter((b) => !(b.status === 201 || (b.status === 503 && b.retryAfter)));
  const warnings = o.output.split('\n').filter((l) => /"level":[4-6]0/.test(l));
  expect(unanswered.map((b) => `${b.status} ${b.code ?? b.error ?? ''}`), `${summary}\n${warnings.slice(0, 10).join('\n')}`).to.deep.equal([]);
  expect(o.batches.some((b) => b.status === 201), `no batch was taken (${summary})`).to.equal(true);
  // The other client: every single event taken, quickly.
  expect([...o.singles.statuses.keys()], summary).to.deep.equal([201]);
  expect(o.singles.sent, summary).to.be.greaterThan(100);
  expect(singleLatency(o).p99, summary).to.be.below(100);
  // The sink holds every event answered 201, once, and nothing else.
  const accepted = acceptedIds(o);
  const inSink = new Set(o.sinkIds);
  const missing = [...accepted].filter((id) => !inSink.has(id));
  const extra = o.sinkIds.filter((id) => !accepted.has(id));
  expect(o.sinkIds.length, 'events in the sink, duplicates counted').to.equal(inSink.size);
  expect({ missing: missing.slice(0, 5), extra: extra.slice(0, 5), counts: [missing.length, extra.length] }).to.deep.equal({ missing: [], extra: [], counts: [0, 0] });
}

describe('a pod no client mix can kill (eventgate in a memory cgroup)', function () {
  this.timeout(120000);

  before(function () {
    expect(canMakeMemoryCgroup(), 'these tests need root and a cgroup memory controller (v1 or v2) to make a 300 MiB cgroup').to.equal(true);
  });

  it('survives 100 clients trickling 9.5 MB batches over 15 s in 300 MiB with one worker: no OOM kill, every batch 201 or 503 with Retry-After, the other client every single event 201 with p99 under 100 ms, and the sink holds exactly the events answered 201', async () => {
    expectSurvived(await runScenario(MAIN, ROOT));
  });

  it('survives the same batches sent as fast as loopback takes them', async () => {
    expectSurvived(await runScenario({ ...MAIN, name: 'fast', trickleMs: 0, singlesMs: 10000 }, ROOT));
  });

  it('survives the same batches gzip-encoded and chunked, counted against the budget as they inflate', async () => {
    expectSurvived(await runScenario({ ...MAIN, name: 'gzip', gzip: true, trickleMs: 4000, singlesMs: 10000 }, ROOT));
  });

  it('survives the same batches with two workers in the same 300 MiB, sharing one pool of body memory that the master grants', async () => {
    expectSurvived(await runScenario({ ...MAIN, name: 'two workers', workers: 2, trickleMs: 0, singlesMs: 10000 }, ROOT));
  });
});
