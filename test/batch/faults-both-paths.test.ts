/**
 * A validation fault (validation throws rather than giving a verdict) is
 * answered the same by both executors of the prepare step, byte for byte:
 * 500 EG_ERR_INTERNAL with failRequest's body, never the pool's own
 * EG_ERR_POOL_TASK. The fault is one a user can cause: a service that lets
 * events nest deeper than ajv can follow (a high max_event_depth) and a
 * recursive schema, whose compiled validator calls itself per level and
 * overflows the stack (a RangeError, no EventGateError).
 */
import { expect } from 'chai';
import { expectSameAnswer, startPair, testEvent, type Pair } from '../helpers/batch-pair';

/** Deeper than the compiled validator can recurse on the main thread or on a pool thread's larger stack. */
const DEPTH = 200_000;

function deepTree(depth: number): string {
  return `{"$schema":"/recursive/tree/1.0.0","meta":{"stream":"open.tree","id":"t","dt":"2026-01-01T00:00:00Z"},${'"child":{'.repeat(depth)}"leaf":1${'}'.repeat(depth)}}`;
}

describe('a validation fault', () => {
  let pair: Pair;

  before(async () => {
    pair = await startPair({ max_event_depth: DEPTH * 2, schema_base_uris: ['./schemas', './test/fixtures/schemas'], schema_precache_uris: ['/recursive/tree/1.0.0'] });
  });
  after(() => pair?.close());

  it('is answered 500 EG_ERR_INTERNAL, byte for byte the same inline and pooled, and both keep serving', async () => {
    const errors = { pool: pair.pool.metrics.counter('http.internal_error'), inline: pair.inline.metrics.counter('http.internal_error') };
    const reply = await expectSameAnswer(pair, { body: deepTree(DEPTH) });
    expect(reply.status).to.equal(500);
    expect(reply.json).to.deep.equal({ code: 'EG_ERR_INTERNAL', message: 'Internal error; see the service log for this request id.' });
    expect(pair.pool.metrics.counter('http.internal_error')).to.equal(errors.pool + 1);
    expect(pair.inline.metrics.counter('http.internal_error')).to.equal(errors.inline + 1);
    // The fault was the validator's, not the thread's: the pool counts its task as failed, not crashed.
    expect(pair.pool.metrics.counter('batch.pool.tasks', { outcome: 'failed' })).to.equal(1);
    expect((await expectSameAnswer(pair, { body: JSON.stringify([testEvent(1), testEvent(2)]) })).status).to.equal(201);
    expect((await expectSameAnswer(pair, { body: deepTree(10) })).status).to.equal(201);
  });
});
