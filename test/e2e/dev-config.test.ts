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
import { eventgate, postEvents, TEST_SCHEMA, type Child } from './support';
import { withTempDir } from '../helpers/tempdir';

describe('config.dev.yaml', function () {
  this.timeout(30000);
  let child: Child | undefined;
  const tempDir = withTempDir('eventgate-e2e-dev-');

  afterEach(async function () {
    await child?.kill();
    child = undefined;
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
