/**
 * Limits on what one client controls, against a real server, inline and in
 * the thread pool: nesting depth (per event, neighbours unharmed), events per
 * request (413 before any is validated) and the size of an answer.
 */
import { expect } from 'chai';
import { call, type Reply } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';

const SCHEMA = '/test/event/1.0.0';
const valid = (n: number) => ({ $schema: SCHEMA, meta: { stream: 'test.event', id: `limit-${n}` }, n });
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
/** An event `depth` levels deep: the event object is level 1. */
const deepEvent = (depth: number) => `{"$schema":"${SCHEMA}","meta":{"stream":"test.event"},"deep":${nested(depth - 1)}}`;

interface Item {
  status: string;
  event: unknown;
  context: { code: string; index?: number; trimmed?: boolean; errorsText?: string; errors?: unknown[] };
}

const LIMITS = { max_event_depth: 16, max_events_per_request: 50, max_answer_bytes: 4096, error_stream: 'eventgate.error', service_name: 'limits' };

for (const [path, pool] of [
  ['inline', { batch: { thread_pool: { enabled: false } } }],
  ['pool thread', { batch: { thread_pool: { min_bytes: 1, min_events: 1 } } }],
] as const) {
  describe(`request limits (${path})`, () => {
    let svc: TestService;
    before(async () => {
      svc = await startTestService({ ...LIMITS, ...pool });
    });
    after(() => svc.close());

    const post = (body: string): Promise<Reply> => call(svc.port, { path: '/v1/events', body });
    const ids = () => svc.written().map((e) => (e as { meta?: { id?: string } }).meta?.id);

    it('answers an event deeper than max_event_depth invalid with EG_ERR_EVENT_TOO_DEEP, and accepts its valid neighbours', async () => {
      const r = await post(`[${JSON.stringify(valid(1))},${deepEvent(17)},${JSON.stringify(valid(2))}]`);
      expect(r.status, r.text).to.equal(207);
      const body = r.json as { invalid: Item[]; error: Item[] };
      expect(body.invalid).to.have.length(1);
      expect(body.invalid[0].context.code).to.equal('EG_ERR_EVENT_TOO_DEEP');
      expect(body.invalid[0].event).to.equal(null);
      expect(ids()).to.include.members(['limit-1', 'limit-2']);
    });

    it('takes an event exactly max_event_depth deep', async () => {
      const r = await post(`[${deepEvent(16)}]`);
      // The test schema takes any extra field: depth is all that could refuse it.
      expect(r.status, r.text).to.equal(201);
    });

    it('answers a body of 200,000 nested arrays 400 as one event too deep, and one left open as malformed JSON', async () => {
      const closed = await post(nested(200000));
      expect(closed.status, closed.text).to.equal(400);
      expect((closed.json as { invalid: Item[] }).invalid[0].context.code).to.equal('EG_ERR_EVENT_TOO_DEEP');
      const open = await post('['.repeat(200000));
      expect(open.status).to.equal(400);
      expect((open.json as { code: string }).code).to.equal('EG_ERR_BODY_MALFORMED');
      const deepObject = await post(deepEvent(5000));
      expect(deepObject.status).to.equal(400);
      expect((deepObject.json as { invalid: Item[] }).invalid[0].context.code).to.equal('EG_ERR_EVENT_TOO_DEEP');
    });

    it('refuses more than max_events_per_request events with 413 EG_ERR_TOO_MANY_EVENTS and writes none of them', async () => {
      const before = svc.written().length;
      const over = await post(JSON.stringify(Array.from({ length: 51 }, (_, i) => valid(1000 + i))));
      expect(over.status).to.equal(413);
      expect((over.json as { code: string }).code).to.equal('EG_ERR_TOO_MANY_EVENTS');
      expect(svc.written()).to.have.length(before);
      const flood = await post(`[${'{},'.repeat(100000)}{}]`);
      expect(flood.status).to.equal(413);
      const at = await post(JSON.stringify(Array.from({ length: 50 }, (_, i) => valid(2000 + i))));
      expect(at.status, at.text).to.equal(201);
    });

    it('keeps an answer near max_answer_bytes: every failed event has its item, those past the budget without event and errors', async () => {
      const bad = Array.from({ length: 50 }, (_, i) => ({ $schema: SCHEMA, meta: {}, n: i, padding: 'p'.repeat(500) }));
      const r = await post(JSON.stringify(bad));
      expect(r.status).to.equal(400);
      const items = (r.json as { invalid: Item[] }).invalid;
      expect(items).to.have.length(50);
      const full = items.filter((i) => !i.context.trimmed);
      const trimmed = items.filter((i) => i.context.trimmed);
      expect(full.length).to.be.greaterThan(0);
      expect(trimmed.length).to.be.greaterThan(0);
      // Whole items come first, then trimmed ones, each saying which event it is.
      expect(items.indexOf(trimmed[0])).to.equal(full.length);
      trimmed.forEach((t, k) => {
        expect(t.event).to.equal(null);
        expect(t.context.code).to.equal('EG_ERR_EVENT_INVALID');
        expect(t.context.index).to.equal(full.length + k);
        expect(t.context.errors).to.equal(undefined);
      });
      expect(Buffer.byteLength(r.text)).to.be.below(4096 + 50 * 300);
    });
  });
}

describe('request limits: inline and pooled answers', () => {
  let inline: TestService;
  let pooled: TestService;
  before(async () => {
    inline = await startTestService({ ...LIMITS, batch: { thread_pool: { enabled: false } } });
    pooled = await startTestService({ ...LIMITS, batch: { thread_pool: { min_bytes: 1, min_events: 1 } } });
  });
  after(() => Promise.all([inline.close(), pooled.close()]));

  it('are byte-identical for deep, flooded and oversized-answer bodies', async () => {
    const bodies = [
      `[${JSON.stringify(valid(1))},${deepEvent(17)}]`,
      nested(100000),
      `[${'{},'.repeat(60)}{}]`,
      JSON.stringify(Array.from({ length: 40 }, (_, i) => ({ $schema: SCHEMA, meta: { id: `x${i}`, dt: '2026-01-01T00:00:00Z' }, padding: 'q'.repeat(300) }))),
    ];
    for (const [k, body] of bodies.entries()) {
      // One request id for both: enrichment puts it in the events the answers show.
      const headers = { 'x-request-id': `same-${k}` };
      const [a, b] = await Promise.all([call(inline.port, { path: '/v1/events', body, headers }), call(pooled.port, { path: '/v1/events', body, headers })]);
      expect(b.status, body.slice(0, 60)).to.equal(a.status);
      expect(b.reason).to.equal(a.reason);
      expect(b.text).to.equal(a.text);
    }
  });
});
