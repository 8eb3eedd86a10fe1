import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../lib/config/load';
import { silentLogger } from '../../lib/log';
import { MemoryMetrics, metricKey } from '../../lib/metrics/memory';
import { buildApp } from '../../lib/service';
import { post } from '../helpers/http';
import { ROOT, startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';
import { POOL_ALWAYS, testEvent } from '../helpers/batch-pair';

/** Big enough that its thread is still busy when the test closes or reloads. */
/** Batches big enough to keep a thread busy, past the default per-request limit. */
const MANY = { max_events_per_request: 100000 };

function bigBody(n = 20000): string {
  return JSON.stringify(Array.from({ length: n }, (_, i) => testEvent(i)));
}

describe('thread pool lifecycle', () => {
  it('lets a batch a thread is working on finish when the app closes, then ends every thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eventgate-batch-close-'));
    const config = validateConfig({ services: [{ conf: { schema_file_extension: '.yaml', output_path: join(dir, 'out.ndjson'), ...POOL_ALWAYS, ...MANY } }] });
    const app = await buildApp({ config, dir: ROOT }, { log: silentLogger(), metrics: new MemoryMetrics(), workers: 1 });
    try {
      const pool = app.pool;
      if (!pool) throw new Error('the app has no pool');
      await until(() => pool.liveThreads > 0, 10000, 'the first thread');
      const running = pool.prepare(Buffer.from(bigBody()), { headers: {}, query: new URLSearchParams() });
      const closed = app.close();
      const batch = await running;
      expect(batch.outbound).to.have.length(20000);
      await closed;
      expect(pool.liveThreads).to.equal(0);
      expect(pool.wants(Buffer.alloc(1 << 20))).to.equal(false);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('on reload', () => {
    let svc: TestService;
    before(async () => {
      svc = await startTestService({ ...POOL_ALWAYS, ...MANY });
    });
    after(() => svc?.close());

    it('answers the batch in flight from the old pool, and sends new batches to the new one', async () => {
      const inFlight = post(svc.port, bigBody());
      await until(() => svc.metrics.counter('batch.path', { path: 'thread' }) === 1, 10000, 'the batch to reach the pool');
      const config = validateConfig({
        services: [
          {
            conf: {
              port: 0,
              interface: '127.0.0.1',
              schema_base_uris: ['./schemas'],
              schema_file_extension: '.yaml',
              output_path: join(tmpdir(), `eventgate-batch-reload-${process.pid}.ndjson`),
              ...POOL_ALWAYS,
              ...MANY,
            },
          },
        ],
      });
      // Recorded when the server has written the whole answer.
      const answeredOnServer = () => svc.metrics.timings.get(metricKey('http.request', { route: '/v1/events', method: 'POST', status: 201 }))?.length ?? 0;
      const reloaded = svc.service.reload({ config, dir: ROOT }).then(() => answeredOnServer() === 1);
      const r = await inFlight;
      expect(r.status).to.equal(201);
      expect(r.reason).to.equal('All 20000 out of 20000 events were accepted.');
      // The old app (and its pool) closes only after its last request was answered.
      expect(await reloaded).to.equal(true);
      expect(svc.written()).to.have.length(20000);

      const after = await post(svc.port, [testEvent(1)]);
      expect(after.status).to.equal(201);
      expect(svc.metrics.counter('batch.path', { path: 'thread' })).to.equal(2);
      rmSync(join(tmpdir(), `eventgate-batch-reload-${process.pid}.ndjson`), { force: true });
    });
  });
});
