import { expect } from 'chai';
import { DURATION_BUCKETS } from '../../lib/metrics/prometheus';
import { until } from '../helpers/until';
import { StatsdSink } from '../helpers/statsd-sink';
import { cleanUp, Eventgate, send, TempConfig, testEvent } from '../helpers/eventgate-process';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (comments left out). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the samples of `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((acc, s) => acc + s.value, 0);
}

const ACCEPTED = { stream: 'test.event', status: 'accepted' };
const POSTS = { route: '/v1/events', method: 'POST', status: '201' };

describe('Prometheus metrics from master and workers', function () {
  this.timeout(60000);
  let cfg: TempConfig;
  const sinks: StatsdSink[] = [];

  beforeEach(async () => {
    cfg = await TempConfig.onFreePort();
  });
  afterEach(async () => {
    await cleanUp();
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });

  /** Starts eventgate and returns it with the port its scrape endpoint listens on (port 0: the OS picks). */
  async function start(top: Record<string, unknown>, workers: number): Promise<[Eventgate, number]> {
    cfg.write(top);
    const eg = new Eventgate(cfg.path);
    const line = await eg.waitFor((l) => l.event === 'metrics.listening', 15000, 'the metrics endpoint');
    expect(line.worker_id, 'served by the master (or the one process)').to.equal(0);
    if (workers) await eg.waitForWorkers(workers);
    else await eg.waitFor((l) => l.event === 'service.listening', 15000, 'the service');
    return [eg, line.metrics_port as number];
  }

  async function scrape(port: number): Promise<Sample[]> {
    const a = await send(port, 'GET', '/metrics');
    expect(a.status).to.equal(200);
    expect(a.headers['content-type']).to.match(/^text\/plain; version=0\.0\.4/);
    return parse(a.body);
  }

  /**
   * Posts two events per request, eight requests at a time on fresh
   * connections, until at least `min` requests were answered and both workers
   * answered some; returns how many requests were answered by each worker.
   */
  async function postUntilBothServe(min: number): Promise<Map<string, number>> {
    const by = new Map<string, number>();
    let n = 0;
    for (let round = 0; round < 60 && (n < min || by.size < 2); round++) {
      const answers = await Promise.all(Array.from({ length: 8 }, () => send(cfg.port, 'POST', '/v1/events', [testEvent(), testEvent()])));
      for (const a of answers) {
        expect(a.status).to.equal(201);
        const w = a.headers['x-served-by'] as string;
        by.set(w, (by.get(w) ?? 0) + 1);
        n++;
      }
    }
    expect(by.size, `requests answered by both workers (${JSON.stringify([...by])})`).to.equal(2);
    return by;
  }

  const sum = (by: Map<string, number>) => [...by.values()].reduce((a, b) => a + b, 0);

  it("serves on the master's port the sum over both workers of the event counters and the request histogram", async () => {
    const [, port] = await start({ num_workers: 2, metrics: [{ type: 'prometheus', host: '127.0.0.1', port: 0 }] }, 2);
    const requests = sum(await postUntilBothServe(16));
    const samples = await scrape(port);
    expect(total(samples, 'eventgate_events_total', ACCEPTED)).to.equal(2 * requests);
    expect(total(samples, 'eventgate_events_total', { ...ACCEPTED, status: 'received' })).to.equal(2 * requests);
    expect(total(samples, 'eventgate_http_request_duration_seconds_count', POSTS)).to.equal(requests);
    const inf = total(samples, 'eventgate_http_request_duration_seconds_bucket', { ...POSTS, le: '+Inf' });
    expect(inf, 'the +Inf bucket holds every request').to.equal(requests);
    // Cumulative buckets over both workers: none falls as le grows, and the last finite one (30 s) holds every request.
    const buckets = DURATION_BUCKETS.map((le) => total(samples, 'eventgate_http_request_duration_seconds_bucket', { ...POSTS, le: String(le) }));
    expect(buckets.every((n, i) => i === 0 || n >= buckets[i - 1]), `buckets ${buckets.join(',')}`).to.equal(true);
    expect(buckets.at(-1)).to.equal(requests);
    expect(total(samples, 'eventgate_http_request_duration_seconds_sum', POSTS)).to.be.within(0, requests * 5);
    // Gauges of the workers, labelled by slot; the master's own metrics beside them.
    const threadSlots = samples.filter((s) => s.name === 'eventgate_batch_pool_threads').map((s) => s.labels.worker);
    expect(threadSlots.sort()).to.deep.equal(['0', '1']);
    expect(total(samples, 'eventgate_supervisor_workers', { state: 'listening' })).to.equal(2);
    expect(total(samples, 'eventgate_supervisor_worker_started_total')).to.equal(2);
    // Only /metrics is served there.
    expect((await send(port, 'GET', '/')).status).to.equal(404);
  });

  it('keeps the counts of a worker that crashed or was rolled, and its replacement takes over its slot label', async () => {
    const [eg, port] = await start({ num_workers: 2, metrics: [{ type: 'prometheus', host: '127.0.0.1', port: 0 }] }, 2);
    let requests = sum(await postUntilBothServe(16));
    expect(total(await scrape(port), 'eventgate_events_total', ACCEPTED)).to.equal(2 * requests);

    // A crash: what the last scrape saw of the worker stays in the sum.
    const [id, pid] = [...eg.listening()][0];
    process.kill(pid, 'SIGKILL');
    await until(() => eg.listening().size === 2 && !eg.listening().has(id), 15000, 'a replacement');
    const afterCrash = await scrape(port);
    expect(total(afterCrash, 'eventgate_events_total', ACCEPTED)).to.equal(2 * requests);
    expect(total(afterCrash, 'eventgate_supervisor_worker_exited_total', { cause: 'crash' })).to.equal(1);

    // A roll drains every worker: what they counted after the last scrape reaches the master before they exit.
    requests += sum(await postUntilBothServe(16));
    eg.signal('SIGHUP');
    await eg.waitForMaster('roll.done', 1, 30000);
    await until(async () => total(await scrape(port), 'eventgate_supervisor_worker_exited_total', { cause: 'drained' }) === 2, 10000, 'two drained');
    const afterRoll = await scrape(port);
    expect(total(afterRoll, 'eventgate_events_total', ACCEPTED)).to.equal(2 * requests);
    expect(total(afterRoll, 'eventgate_http_request_duration_seconds_count', POSTS)).to.equal(requests);

    // Five workers have run; the worker labels are still the two slots.
    expect(eg.master('worker.forked').length).to.equal(5);
    const slots = new Set(afterRoll.filter((s) => s.labels.worker !== undefined).map((s) => s.labels.worker));
    expect([...slots].sort()).to.deep.equal(['0', '1']);
    const forkedSlots = new Set(eg.master('worker.forked').map((l) => l.worker_slot));
    expect([...forkedSlots].sort()).to.deep.equal([0, 1]);
  });

  it('sends statsd and serves the scrape when both types are configured', async () => {
    const statsd = new StatsdSink();
    sinks.push(statsd);
    const metrics = [
      { type: 'statsd', host: '127.0.0.1', port: await statsd.start(), prefix: 'egboth' },
      { type: 'prometheus', host: '127.0.0.1', port: 0 },
    ];
    const [, port] = await start({ num_workers: 2, metrics }, 2);
    const requests = sum(await postUntilBothServe(8));
    const statsdAccepted = () =>
      statsd
        .parsed()
        .filter(([n]) => n === 'egboth.events.accepted.test_event')
        .reduce((acc, [, v]) => acc + v, 0);
    await until(() => statsdAccepted() === 2 * requests, 5000, `${2 * requests} accepted over statsd`);
    // Each request's own duration, as statsd got it: what every histogram bucket must count exactly.
    const durations = () => statsd.parsed().filter(([n, , type]) => type === 'ms' && n.startsWith('egboth.http.request.') && n.endsWith('.POST.201'));
    await until(() => durations().length === requests, 5000, `${requests} request timings over statsd`);
    const samples = await scrape(port);
    expect(total(samples, 'eventgate_events_total', ACCEPTED)).to.equal(2 * requests);
    const seconds = durations().map(([, ms]) => ms * (1 / 1000));
    for (const le of DURATION_BUCKETS) {
      const bucket = total(samples, 'eventgate_http_request_duration_seconds_bucket', { ...POSTS, le: String(le) });
      expect(bucket, `bucket le=${le}`).to.equal(seconds.filter((s) => s <= le).length);
    }
    expect(statsd.parsed().some(([n]) => n === 'egboth.supervisor.worker.started')).to.equal(true);
  });

  it('is served by the one process itself with num_workers 0, with no worker label', async () => {
    const [, port] = await start({ num_workers: 0, metrics: [{ type: 'prometheus', host: '127.0.0.1', port: 0 }] }, 0);
    for (let i = 0; i < 3; i++) expect((await send(cfg.port, 'POST', '/v1/events', [testEvent(), testEvent()])).status).to.equal(201);
    const samples = await scrape(port);
    expect(total(samples, 'eventgate_events_total', ACCEPTED)).to.equal(6);
    expect(total(samples, 'eventgate_http_request_duration_seconds_count', POSTS)).to.equal(3);
    expect(samples.filter((s) => s.labels.worker !== undefined)).to.deep.equal([]);
  });
});
