import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/service';
import { until } from '../helpers/until';
import { StatsdSink } from '../helpers/statsd-sink';
import { cleanUp, Eventgate, send, TempConfig, testEvent } from '../helpers/eventgate-process';

/** The names docs/metrics.md lists, as patterns for statsd names (one `[^.]+` per tag). */
function documentedPatterns(prefix: string): RegExp[] {
  const text = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
  return [...text.matchAll(/^\| `([a-z0-9_.]+)` \| (?:c|ms|g) \|([^|]*)\|/gm)].map(([, name, tags]) => {
    const n = tags.trim() ? tags.split(',').length : 0;
    return new RegExp(`^${prefix}\\.${name.replace(/\./g, '\\.')}${'\\.[A-Za-z0-9_-]+'.repeat(n)}$`);
  });
}

describe('statsd from master and workers', function () {
  this.timeout(30000);
  let cfg: TempConfig;
  let eg: Eventgate | undefined;
  const sinks: StatsdSink[] = [];

  beforeEach(async () => {
    cfg = await TempConfig.onFreePort();
  });
  afterEach(async () => {
    await cleanUp();
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });

  it('sends the documented metric names with sane values to every configured target', async () => {
    const a = new StatsdSink();
    const b = new StatsdSink();
    sinks.push(a, b);
    const metrics = [
      { type: 'statsd', host: '127.0.0.1', port: await a.start(), prefix: 'egtest' },
      { type: 'statsd', host: '127.0.0.1', port: await b.start(), prefix: 'egtest' },
    ];
    cfg.write({ num_workers: 2, metrics, worker_heartbeat_timeout: 1000 });
    eg = new Eventgate(cfg.path);
    const workers = await eg.waitForWorkers(2);
    for (let i = 0; i < 5; i++) expect((await send(cfg.port, 'POST', '/v1/events', [testEvent(), testEvent()])).status).to.equal(201);
    const sum = (s: StatsdSink, name: string) => s.parsed().filter(([n]) => n === name).reduce((acc, [, v]) => acc + v, 0);
    // Workers batch for up to a second; a worker killed before it sends loses its batch.
    await until(() => sum(a, 'egtest.events.accepted.test_event') === 10 && sum(b, 'egtest.events.accepted.test_event') === 10, 5000, '10 accepted');
    const [id, pid] = [...workers][0];
    process.kill(pid, 'SIGKILL');
    await until(() => eg!.listening().size === 2 && !eg!.listening().has(id), 10000, 'a replacement');

    const has = (name: string) => (s: StatsdSink) => s.parsed().some(([n]) => n === name);
    const wanted = [
      'egtest.events.accepted.test_event',
      'egtest.events.received.test_event',
      'egtest.http.request.v1_events.POST.201',
      'egtest.supervisor.worker.started',
      'egtest.supervisor.worker.exited.crash',
      'egtest.supervisor.worker.restarts.crash',
      'egtest.supervisor.worker.heap_used_bytes.0',
      'egtest.supervisor.worker.heap_used_bytes.1',
      'egtest.supervisor.workers.listening',
    ];
    await until(() => wanted.every((name) => has(name)(a) && has(name)(b)), 10000, `metrics ${wanted.join(', ')}`);
    await until(() => sum(a, 'egtest.supervisor.worker.started') === 3, 5000, 'three starts');

    const lines = a.parsed();
    // The heap gauge is by slot: the replacement (worker 3) reports under the slot of the worker it replaced.
    const heapNames = new Set(lines.map(([n]) => n).filter((n) => n.startsWith('egtest.supervisor.worker.heap_used_bytes.')));
    expect([...heapNames].sort()).to.deep.equal(['egtest.supervisor.worker.heap_used_bytes.0', 'egtest.supervisor.worker.heap_used_bytes.1']);
    expect(sum(a, 'egtest.events.received.test_event')).to.equal(10);
    expect(sum(a, 'egtest.supervisor.worker.started')).to.equal(3);
    expect(sum(a, 'egtest.supervisor.worker.exited.crash')).to.equal(1);
    for (const [n, v, t] of lines) {
      if (n === 'egtest.http.request.v1_events.POST.201') expect([v, t]).to.satisfy(([ms, type]: [number, string]) => type === 'ms' && ms > 0 && ms < 5000);
      if (n.startsWith('egtest.supervisor.worker.heap_used_bytes.')) {
        expect(t).to.equal('g');
        expect(v).to.be.within(1e6, 1e9);
      }
    }
    // Every name sent is one docs/metrics.md lists.
    const patterns = documentedPatterns('egtest');
    const unknown = [...new Set(lines.map(([n]) => n))].filter((n) => !patterns.some((p) => p.test(n)));
    expect(unknown).to.deep.equal([]);
  });
});
