import { expect } from 'chai';
import { countBySchema, withoutRefused } from '../../lib/gate/schema-counts';
import { ACCEPTED, type EventResult } from '../../lib/gate/result';
import { post } from '../helpers/http';
import { startTestService } from '../helpers/service';
import { POOL_ALWAYS, POOL_OFF } from '../helpers/batch-pair';

const invalid = (code: 'EG_ERR_EVENT_INVALID' | 'EG_ERR_SCHEMA_NOT_FOUND'): EventResult => ({
  status: 'invalid',
  code,
  context: { errors: [], errorsText: '' },
});

describe('counts by stream and schema URI', () => {
  it('count events the sink may take and events that failed their schema, once per stream and URI', () => {
    const streams = ['a', 'a', 'b', 'a', 'a', undefined];
    const uris = ['/s/1', '/s/1', '/s/1', '/s/2', '/s/1', '/s/1'];
    const results = [ACCEPTED, invalid('EG_ERR_EVENT_INVALID'), ACCEPTED, ACCEPTED, ACCEPTED, ACCEPTED];
    const counts = countBySchema(streams, uris, results, [0, 2, 3, 4, 5]);
    expect(counts.entries).to.deep.equal([
      { stream: 'a', uri: '/s/1', produced: 2, invalid: 1 },
      { stream: 'b', uri: '/s/1', produced: 1, invalid: 0 },
      { stream: 'a', uri: '/s/2', produced: 1, invalid: 0 },
      { stream: 'unknown', uri: '/s/1', produced: 1, invalid: 0 },
    ]);
    expect([...counts.ofOutbound]).to.deep.equal([0, 1, 2, 0, 3]);
  });

  it('leave out events without a schema URI and failures that are no validation against a schema', () => {
    const counts = countBySchema(['a', 'a', 'a'], [undefined, '/nowhere/1', '/s/1'], [ACCEPTED, invalid('EG_ERR_SCHEMA_NOT_FOUND'), ACCEPTED], [0, 2]);
    expect(counts.entries).to.deep.equal([{ stream: 'a', uri: '/s/1', produced: 1, invalid: 0 }]);
    expect([...counts.ofOutbound]).to.deep.equal([0xffffffff, 0]);
  });

  it('take the events a sink refused back from what was produced, of their own stream and URI', () => {
    const counts = countBySchema(['a', 'b', 'a'], ['/s/1', '/s/1', '/s/1'], [ACCEPTED, ACCEPTED, ACCEPTED], [0, 1, 2]);
    expect(withoutRefused(counts, [1, 2])).to.deep.equal([
      { stream: 'a', uri: '/s/1', produced: 1, invalid: 0 },
      { stream: 'b', uri: '/s/1', produced: 0, invalid: 0 },
    ]);
    // The counts of the batch itself are left as they were.
    expect(counts.entries[0].produced).to.equal(2);
  });

  for (const [path, conf] of [
    ['in the request', POOL_OFF],
    ['in a pool thread', POOL_ALWAYS],
  ] as const) {
    it(`reach the metrics as events.produced and events.validation_errors when the batch is validated ${path}`, async () => {
      const service = await startTestService(conf);
      try {
        const event = (stream: string, test: unknown) => ({ $schema: '/test/event/1.0.0', meta: { stream }, test });
        const reply = await post(service.port, [event('x.a', 'ok'), event('x.a', 5), event('x.b', 'ok'), event('x.a', 'ok'), { meta: { stream: 'x.a' } }]);
        expect(reply.status).to.equal(207);
        const tags = (stream: string) => ({ stream, schema_uri: '/test/event/1.0.0' });
        expect(service.metrics.counter('events.produced', tags('x.a'))).to.equal(2);
        expect(service.metrics.counter('events.produced', tags('x.b'))).to.equal(1);
        expect(service.metrics.counter('events.validation_errors', tags('x.a'))).to.equal(1);
        expect(service.metrics.counter('events.validation_errors', tags('x.b'))).to.equal(0);
      } finally {
        await service.close();
      }
    });
  }
});
