import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { call } from '../helpers/http';
import { cleanUp, Eventgate, TempConfig, testEvent, type LogLine } from '../helpers/eventgate-process';

describe('access log', function () {
  this.timeout(30000);
  let cfg: TempConfig;

  beforeEach(async () => {
    cfg = await TempConfig.onFreePort();
  });
  afterEach(cleanUp);

  const post = (body: unknown, headers: Record<string, string> = {}, path = '/v1/events') =>
    call(cfg.port, { method: 'POST', path, body, headers, fresh: true, timeoutMs: 10000 });

  it('writes one line per request with its ids, route, status, timing, bytes, event counts, user agent and worker, and no body content', async () => {
    cfg.write({ num_workers: 1 }, { access_log: { enabled: true } });
    const eg = new Eventgate(cfg.path);
    await eg.waitForWorkers(1);
    const secret = `SECRET-${randomUUID()}`;
    const invalid = { ...testEvent(), test_int: secret };
    const body = [{ ...testEvent(), test: secret }, { ...testEvent(), test: secret }, invalid];
    const answer = await post(body, { 'user-agent': 'access-test/1.0', 'x-request-id': 'req-access-1' });
    expect(answer.status).to.equal(207);
    expect(answer.text, 'the answer itself shows the invalid event').to.contain(secret);

    const line = await eg.waitFor((l) => l.event === 'http.access' && l.request_id === 'req-access-1', 10000, 'the access line');
    expect(line).to.include({ method: 'POST', route: '/v1/events', status: 207, user_agent: 'access-test/1.0', worker_slot: 0, level: 30 });
    expect(line.worker_id).to.be.a('number').and.above(0);
    expect(line.duration_ms).to.be.a('number').and.above(0);
    expect(line.bytes_in).to.equal(Buffer.byteLength(JSON.stringify(body)));
    // Status line and headers come on top of the body.
    expect(line.bytes_out).to.be.above(Buffer.byteLength(answer.text));
    expect(line.events).to.deep.equal({ received: 3, accepted: 2, invalid: 1, error: 0 });
    expect(JSON.stringify(line)).not.to.contain(secret);

    // Every request gets its line, also those with no events and unknown routes; a hasty one counts what came.
    expect((await call(cfg.port, { path: '/nowhere', fresh: true })).status).to.equal(404);
    expect((await post([testEvent(), testEvent()], { 'x-request-id': 'req-hasty' }, '/v1/events?hasty=true')).status).to.equal(202);
    const notFound = await eg.waitFor((l) => l.event === 'http.access' && l.status === 404, 10000, 'the 404 line');
    expect(notFound).to.include({ method: 'GET', route: 'unknown' });
    expect(notFound.events).to.equal(undefined);
    const hasty = await eg.waitFor((l) => l.event === 'http.access' && l.request_id === 'req-hasty', 10000, 'the hasty line');
    expect(hasty.events).to.deep.equal({ received: 2, hasty: true });
    expect(eg.lines.filter((l) => l.event === 'http.access' && l.request_id === 'req-access-1')).to.have.length(1);
    // A gzipped body counts as it came over the wire, compressed.
    const zipped = gzipSync(JSON.stringify(Array.from({ length: 50 }, () => testEvent())));
    expect((await post(zipped, { 'content-encoding': 'gzip', 'content-type': 'application/json', 'x-request-id': 'req-gzip' })).status).to.equal(201);
    const gz = await eg.waitFor((l) => l.event === 'http.access' && l.request_id === 'req-gzip', 10000, 'the gzip line');
    expect(gz.bytes_in).to.equal(zipped.length);
    expect(gz.events).to.deep.equal({ received: 50, accepted: 50, invalid: 0, error: 0 });
    // A batch the thread pool validates (200 events or more) is counted alike.
    const pooled = [...Array.from({ length: 249 }, () => testEvent()), { ...testEvent(), test_int: 'x' }];
    expect((await post(pooled, { 'x-request-id': 'req-pooled' })).status).to.equal(207);
    const pl = await eg.waitFor((l) => l.event === 'http.access' && l.request_id === 'req-pooled', 10000, 'the pooled line');
    expect(pl.events).to.deep.equal({ received: 250, accepted: 249, invalid: 1, error: 0 });
  });

  it('writes a line for about sample_rate of the requests', async () => {
    cfg.write({ num_workers: 0 }, { access_log: { enabled: true, sample_rate: 0.5 } });
    const eg = new Eventgate(cfg.path);
    await eg.waitFor((l) => l.event === 'service.listening', 15000, 'the service');
    for (let i = 0; i < 60; i++) expect((await post([testEvent()])).status).to.equal(201);
    eg.signal('SIGTERM');
    expect((await eg.exited).code).to.equal(0);
    // Drawn per request: all 60 or none would happen by chance about once in 10^18 runs.
    expect(eg.lines.filter((l) => l.event === 'http.access').length).to.be.within(1, 59);
  });

  it('writes no line at sample_rate 0, nor when it is not enabled', async () => {
    const runs: [string, Record<string, unknown>][] = [
      ['sample_rate 0', { access_log: { enabled: true, sample_rate: 0 } }],
      ['default', {}],
    ];
    for (const [what, conf] of runs) {
      cfg.write({ num_workers: 0 }, conf);
      const eg = new Eventgate(cfg.path);
      await eg.waitFor((l) => l.event === 'service.listening', 15000, 'the service');
      for (let i = 0; i < 20; i++) expect((await post([testEvent()])).status).to.equal(201);
      // Once it exited every line it wrote has been read.
      eg.signal('SIGTERM');
      expect((await eg.exited).code).to.equal(0);
      const access: LogLine[] = eg.lines.filter((l) => l.event === 'http.access');
      expect(access, what).to.deep.equal([]);
      expect(eg.lines.some((l) => l.event === 'shutdown.stopped'), `${what}: the log was read to its end`).to.equal(true);
    }
  });
});
