/**
 * `?hasty=true` when the hasty producer holds its most events awaiting
 * Kafka's delivery reports (kafka.max_pending_events), over HTTP against the
 * real broker. A long linger keeps the first request's events pending while
 * the next requests come, so what is pending is known. A request that does
 * not fit waits for room (as reports come back) up to
 * kafka.produce_timeout_ms, then gets its 202; without room in time it is
 * answered as without hasty: 503 with Retry-After, each event `error`
 * EG_ERR_KAFKA_QUEUE_FULL, and spooled. The topic holds exactly the events
 * of the requests told 202. Inline and pooled (thread pool) requests alike.
 */
import { expect } from 'chai';
import { until } from '../helpers/until';
import { consumeAll } from '../helpers/kafka';
import { makeEvents, parse, postEvents, spooledInts, startKafkaService, TEST_SCHEMA, type KafkaService } from '../helpers/kafka-service';
import { spoolHolding } from '../helpers/spool';

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
  const hasty = { hasty: true };

  afterEach(async function () {
    await svc?.close();
    svc = undefined;
  });

  /** Precached: a request's events are produced before its 202 reaches the client (no schema load in between). */
  function start(kafka: Record<string, unknown>): Promise<KafkaService> {
    return startKafkaService({ conf: { schema_precache_uris: [TEST_SCHEMA] }, kafka: { max_pending_events: MAX_PENDING, ...kafka } });
  }

  function delivered(s: KafkaService): number {
    return s.metrics.counter('kafka.produce.delivered', { producer: 'hasty' });
  }

  it('holds a request that does not fit until delivery reports free room, then answers 202', async function () {
    svc = await start({ hasty: { conf: { 'linger.ms': 1000 } } });
    const a = await postEvents(svc.port, makeEvents(STREAM, 100, 0), 'a', hasty);
    expect(a.status, a.text).to.equal(202);
    // 100 pending: 100 more would pass 150, so b waits for a's reports (a linger away).
    const b = await postEvents(svc.port, makeEvents(STREAM, 100, 100), 'b', hasty);
    expect(b.status, b.text).to.equal(202);
    expect(delivered(svc), "b's 202 came after a's reports").to.equal(100);
    expect(svc.metrics.timings.get('events.hasty_wait'), 'b waited, once').to.have.length(1);
    expect(svc.metrics.counter('events.hasty_refused')).to.equal(0);
    const messages = await consumeAll(svc.topic(STREAM), 200);
    expect(messages.map((m) => parse(m).test_int)).to.deep.equal(range(0, 200));
  });

  it('answers as without hasty (503, Retry-After, each event EG_ERR_KAFKA_QUEUE_FULL and spooled) when no room comes within produce_timeout_ms', async function () {
    // a's reports come after its 4 s linger, long past the 500 ms any request waits for room.
    svc = await start({ produce_timeout_ms: 500, hasty: { conf: { 'linger.ms': 4000 } } });
    const { port } = svc;

    const a = await postEvents(port, makeEvents(STREAM, 100, 0), 'a', hasty);
    expect(a.status, a.text).to.equal(202);
    const b = await postEvents(port, makeEvents(STREAM, 100, 100), 'b', hasty);
    expect(b.status, b.text).to.equal(503);
    expect(b.headers['retry-after']).to.match(/^\d+$/);
    const body = b.json as { error: ErrorItem[]; invalid: unknown[] };
    expect(body.invalid).to.deep.equal([]);
    expect(body.error.map((i) => i.event.test_int)).to.deep.equal(range(100, 100));
    expect([...new Set(body.error.map((i) => i.context.code))]).to.deep.equal(['EG_ERR_KAFKA_QUEUE_FULL']);
    // 40 more fit at once.
    const c = await postEvents(port, makeEvents(STREAM, 40, 200), 'c', hasty);
    expect(c.status, c.text).to.equal(202);
    // A batch for the thread pool (over min_events), while 140 are pending.
    const d = await postEvents(port, makeEvents(STREAM, 300, 300), 'd', { ...hasty, ms: 30000 });
    expect(d.status, d.text).to.equal(503);
    expect((d.json as { error: ErrorItem[] }).error.map((i) => i.event.test_int)).to.deep.equal(range(300, 300));
    expect(svc.metrics.counter('events.hasty_refused'), 'requests b and d').to.equal(2);

    const spooled = await spoolHolding(svc.spoolPath, 400, 10000);
    expect(spooled.map((e) => e.error.code).every((code) => code === 'EG_ERR_KAFKA_QUEUE_FULL')).to.equal(true);
    expect(spooledInts(spooled).sort((x, y) => x - y)).to.deep.equal([...range(100, 100), ...range(300, 300)]);
    const first = await consumeAll(svc.topic(STREAM), 140);
    expect(first.map((m) => parse(m).test_int)).to.deep.equal([...range(0, 100), ...range(200, 40)]);

    // a's and c's calls were answered at the 500 ms deadline (after their 202s): their reports came late, and ok.
    await until(() => svc?.metrics.counter('kafka.produce.late', { producer: 'hasty', ok: 'true' }) === 140, 10000, 'the reports of a and c');
    // Nothing pending: a pooled batch larger than the bound is taken alone.
    const e = await postEvents(port, makeEvents(STREAM, 300, 600), 'e', { ...hasty, ms: 30000 });
    expect(e.status, e.text).to.equal(202);
    const all = await consumeAll(svc.topic(STREAM), 440);
    expect(all.map((m) => parse(m).test_int)).to.deep.equal([...range(0, 100), ...range(200, 40), ...range(600, 300)]);
  });
});
