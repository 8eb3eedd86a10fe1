import { expect } from 'chai';
import { transferableBody } from '../../lib/batch/pool';
import { eventMarker, holdsAtLeast } from '../../lib/batch/route';
import { defaultThreads, workersOf } from '../../lib/batch/size';
import { post } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';
import { testEvent } from './support';

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
