import { expect } from 'chai';
import { transferableBody } from '../../lib/batch/pool';
import { eventMarker, holdsAtLeast } from '../../lib/batch/route';
import { defaultThreads, workersOf } from '../../lib/batch/size';
import { call, post } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';
import { testEvent } from '../helpers/batch-pair';

describe('thread pool routing', () => {
  it('shares the cores out among the HTTP workers, one thread at least', () => {
    expect(defaultThreads(1, 8)).to.equal(8);
    expect(defaultThreads(2, 8)).to.equal(4);
    expect(defaultThreads(3, 8)).to.equal(2);
    expect(defaultThreads(16, 8)).to.equal(1);
    expect(defaultThreads(2, 2)).to.equal(1);
    expect(workersOf(0, 8)).to.equal(1);
    expect(workersOf(3, 8)).to.equal(3);
    expect(workersOf('ncpu', 8)).to.equal(8);
    expect(defaultThreads(workersOf('ncpu*2', 8), 8)).to.equal(1);
  });

  it('counts events by the schema URI field name, and stops counting at the threshold', () => {
    const marker = eventMarker('$schema');
    expect(marker.toString()).to.equal('"$schema"');
    expect(eventMarker('meta.schema_uri').toString()).to.equal('"schema_uri"');
    expect(eventMarker(['a.b', 'c']).toString()).to.equal('"b"');
    const body = Buffer.from(JSON.stringify(Array.from({ length: 5 }, (_, i) => testEvent(i))));
    expect(holdsAtLeast(body, marker, 5)).to.equal(true);
    expect(holdsAtLeast(body, marker, 6)).to.equal(false);
    expect(holdsAtLeast(Buffer.from('[]'), marker, 1)).to.equal(false);
  });

  it('transfers a body that owns its memory, and copies one that shares Node\'s pool slab', () => {
    const own = Buffer.alloc(100000, 1);
    expect(transferableBody(own)).to.equal(own.buffer);
    const small = Buffer.from('[{"a":1}]');
    const neighbour = Buffer.from('still here');
    expect(small.buffer).to.equal(neighbour.buffer);
    const copy = transferableBody(small);
    expect(copy).to.not.equal(small.buffer);
    expect(Buffer.from(copy).toString()).to.equal('[{"a":1}]');
    structuredClone(copy, { transfer: [copy] });
    expect(neighbour.toString()).to.equal('still here');
    expect(small.toString()).to.equal('[{"a":1}]');
  });

  describe('in a service', () => {
    let svc: TestService;
    before(async () => {
      svc = await startTestService({ batch: { thread_pool: { min_bytes: 4000, min_events: 5 } } });
    });
    after(() => svc?.close());

    it('processes a small batch in-thread, and sends one with min_events events or min_bytes bytes to the pool', async () => {
      const inline = () => svc.metrics.counter('batch.path', { path: 'inline' });
      const thread = () => svc.metrics.counter('batch.path', { path: 'thread' });
      expect((await post(svc.port, [testEvent(1), testEvent(2)])).status).to.equal(201);
      expect([inline(), thread()]).to.deep.equal([1, 0]);
      expect((await post(svc.port, Array.from({ length: 5 }, (_, i) => testEvent(i)))).status).to.equal(201);
      expect([inline(), thread()]).to.deep.equal([1, 1]);
      expect((await post(svc.port, [testEvent(1, { padding: 'x'.repeat(4000) })])).status).to.equal(201);
      expect([inline(), thread()]).to.deep.equal([1, 2]);
      expect(svc.metrics.counter('batch.pool.tasks', { outcome: 'validated' })).to.equal(2);
      expect(svc.metrics.timings.get('batch.pool.task_duration')).to.have.length(2);
      expect(svc.metrics.timings.get('batch.pool.thread_time')).to.have.length(2);
    });
  });
});

describe('thread pool routing with the default settings', function () {
  this.timeout(60000);
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(() => svc?.close());

  const inline = () => svc.metrics.counter('batch.path', { path: 'inline' });
  const thread = () => svc.metrics.counter('batch.path', { path: 'thread' });
  const tasks = () => svc.metrics.counter('batch.pool.tasks', { outcome: 'validated' });

  it('sends a body of 200 events, or of 64 KiB, to the pool, and a smaller one not', async () => {
    const before = [inline(), thread(), tasks()];
    const counted = () => [inline() - before[0], thread() - before[1], tasks() - before[2]];
    expect((await post(svc.port, Array.from({ length: 199 }, (_, i) => testEvent(i)))).status).to.equal(201);
    expect((await post(svc.port, [testEvent(1, { padding: 'x'.repeat(60 * 1024) })])).status).to.equal(201);
    expect(counted(), 'inline, thread, pool tasks').to.deep.equal([2, 0, 0]);
    expect((await post(svc.port, Array.from({ length: 200 }, (_, i) => testEvent(i)))).status).to.equal(201);
    expect(counted(), 'inline, thread, pool tasks').to.deep.equal([2, 1, 1]);
    expect((await post(svc.port, [testEvent(1, { padding: 'x'.repeat(64 * 1024) })])).status).to.equal(201);
    expect(counted(), 'inline, thread, pool tasks').to.deep.equal([2, 2, 2]);
  });

  it('keeps answering a normal client promptly while another sends large hostile bodies', async () => {
    // 2,000 events that each fail validation (meta.stream missing), 1.9 MB: hundreds of ms of work per body.
    const invalidOne = JSON.stringify({ $schema: '/test/event/1.0.0', meta: {}, pad: 'y'.repeat(900) });
    const hostileBody = `[${Array.from({ length: 2000 }, () => invalidOne).join(',')}]`;
    const hostile: { status: number; ms: number }[] = [];
    const normal: { status: number; ms: number }[] = [];
    let hostileDone = false;
    // A first body warms the pool's thread (its schema cache, the JIT) before anything is measured.
    expect((await call(svc.port, { method: 'POST', path: '/v1/events', body: hostileBody, timeoutMs: 30000 })).status).to.equal(400);
    const hostileClient = (async () => {
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const r = await call(svc.port, { method: 'POST', path: '/v1/events', body: hostileBody, timeoutMs: 30000 });
        hostile.push({ status: r.status, ms: performance.now() - started });
      }
      hostileDone = true;
    })();
    const normalClient = (async () => {
      for (let n = 0; !hostileDone; n++) {
        const started = performance.now();
        const r = await call(svc.port, { method: 'POST', path: '/v1/events', body: testEvent(n), timeoutMs: 30000 });
        normal.push({ status: r.status, ms: performance.now() - started });
      }
    })();
    await Promise.all([hostileClient, normalClient]);

    expect(hostile.map((h) => h.status)).to.deep.equal([400, 400, 400]);
    expect(normal.filter((r) => r.status !== 201), 'normal answers not 201').to.deep.equal([]);
    const hostileMs = hostile.map((h) => h.ms).sort((a, b) => a - b)[1];
    const sorted = normal.map((r) => r.ms).sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))];
    // A service that processed the hostile bodies on its event loop would keep the normal client
    // waiting about a whole body each time: a few answers in all, their p99 as long as a body.
    const seen = `${normal.length} normal answers, p99 ${Math.round(p99)} ms; a hostile body ${Math.round(hostileMs)} ms`;
    expect(normal.length, seen).to.be.at.least(3 * hostile.length);
    expect(p99, seen).to.be.below(hostileMs);
  });
});
