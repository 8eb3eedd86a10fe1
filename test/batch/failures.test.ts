import { expect } from 'chai';
import { call, post } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';
import { testEvent } from '../helpers/batch-pair';

/**
 * With the secure-schema check off (an operator's choice), the fixture
 * /insecure/event/1.0.0 has `pattern: ^(a+)+$` and no maxLength: a long run
 * of a's that does not match backtracks for far longer than any test runs.
 * A real way for validation to hang, no test hook needed.
 */
const HANGING_EVENT = { $schema: '/insecure/event/1.0.0', meta: { stream: 'test.event' }, name: `${'a'.repeat(40)}!` };

const CONF = {
  schema_base_uris: ['./schemas', './test/fixtures/schemas'],
  allow_insecure_schemas: true,
  // Batches big enough to keep a thread busy, past the default per-request limit.
  max_events_per_request: 100000,
};

function valid(n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => testEvent(i));
}

describe('thread pool failures', () => {
  describe('a thread that hangs', () => {
    let svc: TestService;
    before(async () => {
      svc = await startTestService({ ...CONF, batch: { thread_pool: { min_bytes: 1, max_threads: 1, task_timeout_ms: 1500 } } });
    });
    after(() => svc?.close());

    it('fails only its own batch with 500 EG_ERR_POOL_TIMEOUT, while the worker keeps answering and a new thread takes the next batch', async () => {
      const hanging = post(svc.port, [HANGING_EVENT]);
      // The event loop is free while the thread spins: this answers at once.
      const health = await call(svc.port, { path: '/healthz' });
      expect(health.status).to.equal(200);
      // The one thread is taken: this batch waits for it, and gets the new one.
      const waiting = post(svc.port, valid(2));
      const r = await hanging;
      expect(r.status).to.equal(500);
      expect(r.json).to.deep.include({ code: 'EG_ERR_POOL_TIMEOUT' });
      expect((r.json as { message: string }).message).to.contain('did not finish within batch.thread_pool.task_timeout_ms (1500 ms)');
      expect(svc.metrics.counter('batch.pool.tasks', { outcome: 'timeout' })).to.equal(1);
      expect((await waiting).status).to.equal(201);
      expect((await post(svc.port, valid(3))).status).to.equal(201);
      expect(svc.metrics.counter('batch.pool.tasks', { outcome: 'validated' })).to.equal(2);
    });

    it('answers 503 EG_ERR_POOL_FULL with Retry-After to a batch that found no free thread within task_timeout_ms', async () => {
      const taken = svc.metrics.counter('batch.path', { path: 'thread' });
      const first = post(svc.port, [HANGING_EVENT]);
      await until(() => svc.metrics.counter('batch.path', { path: 'thread' }) === taken + 1, 5000, 'the first hang to run');
      // Runs once the first is terminated, and hangs in turn.
      const second = post(svc.port, [HANGING_EVENT]);
      await until(() => svc.metrics.gauges.get('batch.pool.queue') === 1, 5000, 'the second hang to wait');
      const third = await post(svc.port, valid(2));
      expect(third.status).to.equal(503);
      expect(third.headers['retry-after']).to.equal('5');
      expect((third.json as { message: string }).message).to.contain('no thread was free for this batch within batch.thread_pool.task_timeout_ms (1500 ms)');
      expect((await first).status).to.equal(500);
      expect((await second).status).to.equal(500);
    });
  });

  describe('a full queue', () => {
    let svc: TestService;
    before(async () => {
      svc = await startTestService({ ...CONF, batch: { thread_pool: { min_bytes: 1, max_threads: 1, max_queue: 0, task_timeout_ms: 1500 } } });
    });
    after(() => svc?.close());

    it('answers 503 EG_ERR_POOL_FULL with Retry-After, and takes batches again once the thread is free', async () => {
      const hanging = post(svc.port, [HANGING_EVENT]);
      const healthy = await call(svc.port, { path: '/healthz' });
      expect(healthy.status).to.equal(200);
      const r = await post(svc.port, valid(2));
      expect(r.status).to.equal(503);
      expect(r.headers['retry-after']).to.equal('5');
      expect(r.json).to.deep.include({ code: 'EG_ERR_POOL_FULL' });
      expect(svc.metrics.counter('batch.pool.rejected')).to.equal(1);
      expect((await hanging).status).to.equal(500);
      expect((await post(svc.port, valid(2))).status).to.equal(201);
    });
  });

  describe('a thread that dies', () => {
    let svc: TestService;
    before(async () => {
      // A heap limit far below what parsing a body of a few MB takes: the
      // thread dies with ERR_WORKER_OUT_OF_MEMORY, as it would in production
      // with a limit set too low for max_body_size.
      svc = await startTestService({ ...CONF, batch: { thread_pool: { min_bytes: 1, max_threads: 1, heap_limit_mb: 16 } } });
    });
    after(() => svc?.close());

    it('fails only its own batch with 500 EG_ERR_POOL_TASK, and a new thread takes the next batch', async () => {
      const big = valid(40000).map((e, i) => ({ ...(e as object), padding: `${i}`.repeat(20) }));
      const r = await post(svc.port, big);
      expect(r.status).to.equal(500);
      expect(r.json).to.deep.include({ code: 'EG_ERR_POOL_TASK' });
      expect((r.json as { message: string }).message).to.match(/^The thread processing this batch failed \(.+\); the batch was not accepted\.$/);
      expect(svc.metrics.counter('batch.pool.tasks', { outcome: 'crashed' })).to.equal(1);

      const next = await post(svc.port, valid(3));
      expect(next.status).to.equal(201);
      expect(svc.written()).to.have.length(3);
    });
  });
});
