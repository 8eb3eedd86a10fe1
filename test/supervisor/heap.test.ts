import { expect } from 'chai';
import type { TempConfig } from '../helpers/eventgate-process';
import { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, HeapGuard } from '../../lib/supervisor/heap';
import { Eventgate, send, testEvent, withTempConfig } from '../helpers/eventgate-process';

describe('heap limit below a worker\'s baseline heap', function () {
  this.timeout(30000);
  let cfg: TempConfig;
  let eg: Eventgate | undefined;

  withTempConfig((c) => (cfg = c));

  it('replaces the worker once, sees its successor over the limit as soon as it is up, says so once and stops replacing', async () => {
    // 1 MB is below any worker's heap. Heartbeats every 500 ms; debug lines show each one the watch skips.
    cfg.write({ num_workers: 1, worker_heap_limit_mb: 1, worker_heartbeat_timeout: 2000, logging: { level: 'debug' } });
    eg = new Eventgate(cfg.path);
    const baseline = await eg.waitForMaster('worker.heap_limit_too_low', 1, 20000);
    expect(baseline).to.include({ limit_mb: 1, level: 40 });
    expect(baseline.heap_used_mb).to.be.above(1);
    expect(baseline.retry_in_ms).to.be.at.least(60000);
    // Six heartbeats later, still the same worker serving, and nothing more was said above debug.
    await eg.waitForMaster('worker.heap_backoff', 6, 10000);
    expect(eg.master('worker.heap_over_limit')).to.have.length(1);
    expect(eg.master('worker.heap_limit_too_low')).to.have.length(1);
    expect(eg.master('worker.forked')).to.have.length(2);
    const live = eg.listening();
    expect(live.size).to.equal(1);
    const a = await send(cfg.port, 'POST', '/v1/events', testEvent());
    expect(a.status).to.equal(201);
    expect(a.headers['x-served-by']).to.equal(String([...live.keys()][0]));
    expect(baseline.worker).to.equal([...live.keys()][0]);
  });
});

describe('HeapGuard', () => {
  const MB = 1024 * 1024;
  let now = 0;
  const guard = () => new HeapGuard(() => now);

  beforeEach(() => (now = 1_000_000));

  it('allows replacements until a successor is over the limit at its first heartbeat, then pauses them for a minute', () => {
    const g = guard();
    expect(g.mayReplace(100)).to.equal(true);
    expect(g.successorBeat(100, 50 * MB)).to.equal(undefined);
    expect(g.mayReplace(100)).to.equal(true);
    expect(g.successorBeat(100, 150 * MB)).to.deep.equal({ pauseMs: BACKOFF_INITIAL_MS, first: true });
    now += BACKOFF_INITIAL_MS - 1;
    expect(g.mayReplace(100)).to.equal(false);
    now += 1;
    expect(g.mayReplace(100)).to.equal(true);
  });

  it('doubles the pause for each successor over the limit in a row, up to an hour, and says only the first is first', () => {
    const g = guard();
    const pauses = Array.from({ length: 8 }, () => {
      const p = g.successorBeat(100, 150 * MB)!;
      now += p.pauseMs;
      return [p.pauseMs, p.first];
    });
    expect(pauses.map(([ms]) => ms)).to.deep.equal([1, 2, 4, 8, 16, 32, 60, 60].map((m) => m * 60_000));
    expect(pauses.map(([, first]) => first)).to.deep.equal([true, false, false, false, false, false, false, false]);
    expect(BACKOFF_MAX_MS).to.equal(3_600_000);
  });

  it('ends the pause when a successor starts under the limit, or when the limit changes', () => {
    const g = guard();
    g.successorBeat(100, 150 * MB);
    expect(g.mayReplace(100)).to.equal(false);
    expect(g.mayReplace(200)).to.equal(true);
    g.successorBeat(200, 250 * MB);
    expect(g.mayReplace(200)).to.equal(false);
    expect(g.successorBeat(200, 150 * MB)).to.equal(undefined);
    expect(g.mayReplace(200)).to.equal(true);
    expect(g.successorBeat(200, 250 * MB)).to.deep.include({ first: true, pauseMs: BACKOFF_INITIAL_MS });
  });
});
