import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import { until } from '../helpers/until';
import { expectSameAnswer, mixedBody, mixedEvent, startPair, testEvent, type Pair } from '../helpers/batch-pair';

interface Item {
  status: string;
  event: Record<string, unknown>;
  context: { errors?: unknown[]; errorsText?: string; message?: string };
}

describe('thread pool answers', () => {
  let pair: Pair;

  before(async () => {
    pair = await startPair();
  });
  after(() => pair?.close());

  it('are the same, event for event and byte for byte, as in-thread processing for a mixed batch', async () => {
    const before = pair.produced();
    const reply = await expectSameAnswer(pair, { body: mixedBody(64) });
    expect(reply.status).to.equal(207);
    const body = reply.json as { invalid: Item[]; error: Item[] };
    // Every kind of failure is in there, so the comparison covered each of them.
    const codesOf = (items: Item[]) => new Set(items.map((i) => i.context.errorsText ?? i.context.message));
    expect(codesOf(body.invalid)).to.include('Event has no schema URI in $schema.');
    expect([...codesOf(body.invalid)].some((t) => /insecure/i.test(String(t)))).to.equal(true);
    expect([...codesOf(body.invalid)].some((t) => /no\/such\/schema/.test(String(t)))).to.equal(true);
    expect(codesOf(body.invalid)).to.include('data/meta/chained must be <= 100');
    expect(codesOf(body.invalid)).to.include('Event must be a JSON object.');
    const after = pair.produced();
    expect(after.pool.slice(before.pool.length)).to.equal(after.inline.slice(before.inline.length)).and.not.equal('');
  });

  it('are the same for a large batch that also holds a number too big for a double', async () => {
    const before = pair.produced();
    const reply = await expectSameAnswer(pair, { body: mixedBody(3000, true) });
    expect(reply.status).to.equal(207);
    expect((reply.json as { invalid: Item[] }).invalid[0].context.errorsText).to.equal('Event holds a number that does not fit a double.');
    const after = pair.produced();
    expect(after.pool.slice(before.pool.length)).to.equal(after.inline.slice(before.inline.length));
  });

  it('are the same when every event is accepted, when every event is invalid, and for one event object', async () => {
    const valid = JSON.stringify(Array.from({ length: 20 }, (_, i) => testEvent(i)));
    expect((await expectSameAnswer(pair, { body: valid })).status).to.equal(201);
    const invalid = JSON.stringify([{ $schema: '/test/event/1.0.0', meta: { id: 'x', dt: '2026-01-01T00:00:00Z' } }, 'not an event']);
    expect((await expectSameAnswer(pair, { body: invalid })).status).to.equal(400);
    expect((await expectSameAnswer(pair, { body: JSON.stringify(testEvent(1)) })).status).to.equal(201);
  });

  it('are the same request-level errors for an empty, malformed or scalar body, {} and []', async () => {
    const bodies = ['   ', '\ufeff', '[{"a":1},', '{"a":', '"just a string"', '3', 'null', '{}', '[]', '[1'];
    for (const body of bodies) {
      const reply = await expectSameAnswer(pair, { body });
      expect(reply.status, JSON.stringify(body)).to.equal(400);
    }
    expect(pair.pool.metrics.counter('batch.pool.tasks', { outcome: 'refused' })).to.be.at.least(bodies.length);
  });

  it('fill the stream from the query string and fields from request headers as in-thread processing does', async () => {
    const before = pair.produced();
    const body = JSON.stringify([{ $schema: '/test/event/1.0.0', meta: { id: 'q', dt: '2026-01-01T00:00:00Z' } }]);
    const reply = await expectSameAnswer(pair, { body, path: '/v1/events?stream=test.event', headers: { 'user-agent': 'agent/2', 'x-request-id': 'rq-7' } });
    expect(reply.status).to.equal(201);
    const after = pair.produced();
    const line = after.pool.slice(before.pool.length);
    expect(line).to.equal(after.inline.slice(before.inline.length));
    const produced = JSON.parse(line) as Record<string, unknown>;
    expect(produced.meta).to.deep.equal({ id: 'q', dt: '2026-01-01T00:00:00Z', stream: 'test.event', request_id: 'rq-7' });
    expect(produced.http).to.deep.equal({ request_headers: { 'user-agent': 'agent/2' } });
  });

  it('are the same for a gzip-encoded body', async () => {
    const reply = await expectSameAnswer(pair, { body: gzipSync(mixedBody(40)), headers: { 'content-encoding': 'gzip' } });
    expect(reply.status).to.equal(207);
  });

  it('are the same 202 for a hasty batch, and the same events are produced after it', async () => {
    const before = pair.produced();
    // Every kind of event but the ones that are no event at all (a non-object): those are answered below.
    const events = Array.from({ length: 48 }, (_, i) => mixedEvent(i)).filter((e) => e !== null && typeof e === 'object' && !Array.isArray(e));
    const reply = await expectSameAnswer(pair, { body: JSON.stringify(events), path: '/v1/events?hasty=true' });
    expect(reply.status).to.equal(202);
    expect(reply.reason).to.equal(`${events.length} events hastily received.`);
    const added = () => {
      const now = pair.produced();
      return [now.pool.length - before.pool.length, now.inline.length - before.inline.length];
    };
    await until(() => added()[0] > 0 && added()[0] === added()[1], 5000, 'both services to produce the hasty events');
    const after = pair.produced();
    expect(after.pool.slice(before.pool.length)).to.equal(after.inline.slice(before.inline.length));
  });

  it('answer a hasty batch holding an item that is no event as without hasty, event by event, never 202', async () => {
    for (const body of [mixedBody(48), '[{}]', JSON.stringify([testEvent(1), [1, 2]])]) {
      const hasty = await expectSameAnswer(pair, { body, path: '/v1/events?hasty=true' });
      const plain = await expectSameAnswer(pair, { body });
      expect(hasty.status, body.slice(0, 40)).to.equal(plain.status).and.not.equal(202);
      expect(hasty.text).to.equal(plain.text);
    }
  });

  it('make the same error events for the invalid events of a batch', async () => {
    const errorPair = await startPair({ error_stream: 'eventgate.error' });
    try {
      const reply = await expectSameAnswer(errorPair, { body: mixedBody(32) });
      const invalid = (reply.json as { invalid: Item[] }).invalid.length;
      // Error events are produced after the answer, with their own id and time.
      const errorEvents = (text: string) =>
        text
          .split('\n')
          .filter((l) => l.includes('"emitter_id"'))
          .map((l) => {
            const e = JSON.parse(l) as Record<string, unknown>;
            return JSON.stringify({ ...e, meta: { ...(e.meta as object), id: '-', dt: '-' }, dt: '-' });
          })
          .sort();
      await until(
        () => errorEvents(errorPair.produced().inline).length === invalid && errorEvents(errorPair.produced().pool).length === invalid,
        5000,
        'an error event for each invalid event on both sides',
      );
      const expected = errorEvents(errorPair.produced().inline);
      expect(errorEvents(errorPair.produced().pool)).to.deep.equal(expected);
    } finally {
      await errorPair.close();
    }
  });

  it('count the request on the thread path, and count events per stream as in-thread processing does', async () => {
    await expectSameAnswer(pair, { body: mixedBody(32) });
    expect(pair.pool.metrics.counter('batch.path', { path: 'thread' })).to.be.above(0);
    expect(pair.inline.metrics.counter('batch.path', { path: 'thread' })).to.equal(0);
    for (const name of ['events.received', 'events.accepted', 'events.invalid', 'events.error']) {
      for (const stream of ['test.event', 'ref.event', 'unknown', 'not.configured']) {
        expect(pair.pool.metrics.counter(name, { stream }), `${name} ${stream}`).to.equal(pair.inline.metrics.counter(name, { stream }));
      }
    }
    // Schema cache metrics recorded in the threads reach the worker's metrics.
    expect(pair.pool.metrics.counter('schema.cache.hit')).to.be.above(0);
  });
});
