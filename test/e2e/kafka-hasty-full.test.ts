/**
 * `?hasty=true` when the hasty producer holds its most events awaiting
 * Kafka's delivery reports (kafka.max_pending_events), over HTTP against the
 * real broker. A 2 s linger keeps the first request's events pending while
 * the next requests come, so what is pending is known. A request that would
 * pass the bound is not told 202: it is answered as without hasty, 503 with
 * Retry-After and each event `error` EG_ERR_KAFKA_QUEUE_FULL, and spooled;
 * the topic holds exactly the events of the requests told 202. Inline and
 * pooled (thread pool) requests alike.
 */
import { expect } from 'chai';
import { until } from '../helpers/until';
import { consumeAll } from '../kafka/helpers';
import { makeEvents, parse, postEvents, spoolHolding, spooledInts, startKafkaService, TEST_SCHEMA, type KafkaService } from './support';

const STREAM = 'test.event';
const MAX_PENDING = 150;

interface ErrorItem {
  status: string;
  event: { test_int: number };
  context: { code: string; message: string };
}

function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

describe('POST /v1/events?hasty=true with the hasty producer full', function () {
  this.timeout(60000);
  let svc: KafkaService | undefined;

  afterEach(async function () {
    await svc?.close();
    svc = undefined;
  });

  it('answers as without hasty (503, Retry-After, each event EG_ERR_KAFKA_QUEUE_FULL and spooled) and 202 again once reports come', async function () {
    // Precached: a request's events are produced before its 202 reaches the client (no schema load in between).
    svc = await startKafkaService({
      conf: { schema_precache_uris: [TEST_SCHEMA] },
      kafka: { max_pending_events: MAX_PENDING, hasty: { conf: { 'linger.ms': 2000 } } },
    });
    const { port } = svc;
    const hasty = { hasty: true };

    const a = await postEvents(port, makeEvents(STREAM, 100, 0), 'a', hasty);
    expect(a.status, a.text).to.equal(202);
    // 100 pending: 100 more would pass 150.
    const b = await postEvents(port, makeEvents(STREAM, 100, 100), 'b', hasty);
    expect(b.status, b.text).to.equal(503);
    expect(b.headers['retry-after']).to.match(/^\d+$/);
    const items = (b.json as { error: ErrorItem[]; invalid: unknown[] }).error;
    expect((b.json as { invalid: unknown[] }).invalid).to.deep.equal([]);
    expect(items.map((i) => i.event.test_int)).to.deep.equal(range(100, 100));
    expect([...new Set(items.map((i) => i.context.code))]).to.deep.equal(['EG_ERR_KAFKA_QUEUE_FULL']);
    // 40 more fit.
    const c = await postEvents(port, makeEvents(STREAM, 40, 200), 'c', hasty);
    expect(c.status, c.text).to.equal(202);
    // A batch for the thread pool (over min_events), while 140 are pending.
    const d = await postEvents(port, makeEvents(STREAM, 300, 300), 'd', { ...hasty, ms: 30000 });
    expect(d.status, d.text).to.equal(503);
    expect(((d.json as { error: ErrorItem[] }).error ?? []).map((i) => i.event.test_int)).to.deep.equal(range(300, 300));

    const spooled = await spoolHolding(svc.spoolPath, 400, 10000);
    expect(spooledInts(spooled).sort((x, y) => x - y)).to.deep.equal([...range(100, 100), ...range(300, 300)]);
    expect([...new Set(spooled.map((e) => e.error.code))]).to.deep.equal(['EG_ERR_KAFKA_QUEUE_FULL']);

    const first = await consumeAll(svc.topic(STREAM), 140);
    expect(first.map((m) => parse(m).test_int)).to.deep.equal([...range(0, 100), ...range(200, 40)]);
    expect(svc.metrics.counter('events.hasty_refused'), 'requests b and d').to.equal(2);
    expect(svc.metrics.counter('kafka.producer.full', { producer: 'hasty' }), 'two stretches: b, then d after c was taken').to.equal(2);
    await until(() => svc?.metrics.counter('kafka.produce.delivered', { producer: 'hasty' }) === 140, 10000, 'the reports of a and c');
    // Nothing pending: a pooled batch larger than the bound is taken alone.
    const e = await postEvents(port, makeEvents(STREAM, 300, 600), 'e', { ...hasty, ms: 30000 });
    expect(e.status, e.text).to.equal(202);
    const all = await consumeAll(svc.topic(STREAM), 440);
    expect(all.map((m) => parse(m).test_int)).to.deep.equal([...range(0, 100), ...range(200, 40), ...range(600, 300)]);
  });
});
