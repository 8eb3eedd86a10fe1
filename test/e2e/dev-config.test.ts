/**
 * The bundled config.dev.yaml still runs with no broker: `npm start` as a
 * developer runs it, with the file sink, in a real child process.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call } from '../helpers/http';
import { until } from '../helpers/until';
import { freePort } from '../helpers/ports';
import { eventgate, postEvents, TEST_SCHEMA, type Child } from '../helpers/kafka-service';
import { withTempDir } from '../helpers/tempdir';

describe('config.dev.yaml', function () {
  this.timeout(30000);
  let child: Child | undefined;
  const tempDir = withTempDir('eventgate-e2e-dev-');

  afterEach(async function () {
    await child?.kill();
    child = undefined;
  });

  it('writes only events to stdout, one per line, and only log lines to stderr, so either pipes into jq', async function () {
    const port = await freePort();
    const running = eventgate(['-c', 'config.dev.yaml'], { PORT: String(port) });
    child = running;
    await until(
      async () => {
        if (running.process.exitCode !== null) throw new Error(`eventgate exited ${running.process.exitCode}: ${running.stderr()}`);
        return (await call(port, { path: '/readyz' }).catch(() => undefined))?.status === 200;
      },
      15000,
      '/readyz 200',
    );
    const valid = { $schema: TEST_SCHEMA, meta: { stream: 'eventgate.test.event', id: 'dev-out-1' }, test: 'to stdout' };
    expect((await postEvents(port, valid, 'dev-valid')).status).to.equal(201);
    // Invalid: answered 400, and its error event goes to stdout too.
    expect((await postEvents(port, { $schema: TEST_SCHEMA, meta: {} }, 'dev-invalid')).status).to.equal(400);
    running.process.kill('SIGTERM');
    const exit = await running.exited(10000);
    expect(exit.code, exit.stderr).to.equal(0);

    const events = exit.stdout.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as { $schema: string; meta: { stream: string; id: string } });
    expect(events.map((e) => [e.$schema, e.meta.stream])).to.deep.equal([
      [TEST_SCHEMA, 'eventgate.test.event'],
      ['/error/1.0.0', 'eventgate.error.validation'],
    ]);
    expect(events[0].meta.id).to.equal('dev-out-1');
    const logs = exit.stderr.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as { name: string; level: number; event?: string });
    for (const l of logs) expect(l).to.include.keys('name', 'level', 'msg', 'time');
    expect(logs.map((l) => l.event)).to.include.members(['service.listening', 'shutdown.stopped']);
  });

  it('runs without a broker, writes a posted event to EVENTGATE_OUTPUT and exits 0 on SIGTERM', async function () {
    const dir = tempDir();
    const output = join(dir, 'events.ndjson');
    const port = await freePort();
    const running = eventgate(['-c', 'config.dev.yaml'], { PORT: String(port), EVENTGATE_OUTPUT: output });
    child = running;
    await until(
      async () => {
        if (running.process.exitCode !== null) throw new Error(`eventgate exited ${running.process.exitCode}: ${running.stderr()}`);
        return (await call(port, { path: '/readyz' }).catch(() => undefined))?.status === 200;
      },
      15000,
      '/readyz 200',
    );
    const event = { $schema: TEST_SCHEMA, meta: { stream: 'eventgate.test.event', id: 'dev-1', dt: '2026-01-01T00:00:00.000Z' }, test: 'dev' };
    const r = await postEvents(port, event, 'dev-request');
    expect(r.status, r.text).to.equal(201);
    // 201 means the file sink has written it.
    const written = readFileSync(output, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(written).to.have.length(1);
    expect(written[0]).to.deep.include({ $schema: TEST_SCHEMA, test: 'dev' });
    expect(written[0].meta).to.deep.equal({ ...event.meta, request_id: 'dev-request' });

    running.process.kill('SIGTERM');
    const exit = await running.exited(10000);
    expect(exit.signal).to.equal(null);
    expect(exit.code, exit.stderr).to.equal(0);
  });
});
