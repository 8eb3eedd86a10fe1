/**
 * The bound on what a producer holds awaiting Kafka's delivery reports
 * (kafka.max_pending_events, kafka.max_pending_bytes), against the real
 * broker. Calls made in one event-loop turn cannot have their reports yet,
 * so what is pending is known exactly: a call that would pass the bound is
 * refused at once, its events spooled, and the topic holds exactly the
 * events of the calls taken.
 */
import { expect } from 'chai';
import bunyan from 'bunyan';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { createKafkaSinks, type KafkaSinks } from '../../lib/sink/kafka';
import { FileSpool } from '../../lib/sink/spool';
import type { OutboundEvent, ProduceOutcome } from '../../lib/sink/sink';
import { consumeAll, createTopic, kafkaBootstrap, uniqueTopic } from '../helpers/kafka';
import { kafkaConf } from '../helpers/kafka-conf';
import { spooled } from '../helpers/spool';

const MAX_EVENTS = 250;
/** Each event's value is exactly this long. */
const EVENT_BYTES = 100;
const MAX_BYTES = 40 * EVENT_BYTES;

function events(topic: string, call: string, n: number): OutboundEvent[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `${call}-${i}`;
    const value = JSON.stringify({ id, pad: '' });
    return { stream: 'test.event', topic, value: Buffer.from(JSON.stringify({ id, pad: 'x'.repeat(EVENT_BYTES - value.length) })) };
  });
}

function idOf(value: Buffer | string | null | undefined): string {
  return (JSON.parse(String(value)) as { id: string }).id;
}

function ids(list: readonly OutboundEvent[]): string[] {
  return list.map((e) => idOf(e.value));
}

async function spooledCodes(path: string): Promise<{ id: string; code: string }[]> {
  return (await spooled(path)).map((entry) => ({ id: (entry.event as { id: string }).id, code: entry.error.code }));
}

function codes(outcomes: readonly ProduceOutcome[]): string[] {
  return [...new Set(outcomes.map((o) => (o.ok ? 'ok' : o.code)))];
}

describe('A Kafka producer bounds what awaits delivery reports', function () {
  this.timeout(60000);
  let dir: string;
  let spool: FileSpool;
  let sinks: KafkaSinks;
  let metrics: MemoryMetrics;
  let ring: bunyan.RingBuffer;
  let topic: string;

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-kafka-pending-'));
    spool = new FileSpool(join(dir, 'failed.ndjson'));
    topic = uniqueTopic('pending');
    await createTopic(topic);
    ring = new bunyan.RingBuffer({ limit: 200 });
    const log = bunyan.createLogger({ name: 'test', streams: [{ type: 'raw', stream: ring, level: 'info' }] });
    metrics = new MemoryMetrics();
    sinks = createKafkaSinks(kafkaConf(kafkaBootstrap(), { max_pending_events: MAX_EVENTS, max_pending_bytes: MAX_BYTES * 100 }), { log, metrics, spool });
    await sinks.start();
  });

  afterEach(async function () {
    await sinks.close();
    await spool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The topic holds exactly `expected` (in order), and nothing before the sentinel call that follows. */
  async function expectTopicHolds(expected: readonly string[]): Promise<void> {
    const sentinel = events(topic, 'sentinel', 1);
    expect(codes(await sinks.hasty.produce(sentinel, { requestId: 'sentinel' }))).to.deep.equal(['ok']);
    const messages = await consumeAll(topic, expected.length + 1);
    expect(messages.map((m) => idOf(m.value))).to.deep.equal([...expected, ...ids(sentinel)]);
  }

  it('refuses a call that would pass max_pending_events, spools its events, and takes calls that fit', async function () {
    const sink = sinks.hasty;
    const [a, b, c, d] = [events(topic, 'a', 100), events(topic, 'b', 100), events(topic, 'c', 100), events(topic, 'd', 50)];
    // One turn: none of these can have a delivery report yet.
    const pa = sink.produce(a, { requestId: 'a' });
    const pb = sink.produce(b, { requestId: 'b' });
    const pc = sink.produce(c, { requestId: 'c' });
    const pd = sink.produce(d, { requestId: 'd' });

    const [oa, ob, oc, od] = await Promise.all([pa, pb, pc, pd]);
    expect(codes(oa)).to.deep.equal(['ok']);
    expect(codes(ob)).to.deep.equal(['ok']);
    expect(codes(oc)).to.deep.equal(['EG_ERR_KAFKA_QUEUE_FULL']);
    expect(oc[0].ok ? '' : oc[0].message).to.match(/kafka-hasty producer holds 200 events .* awaiting Kafka's delivery reports; its limit is 250 events/);
    expect(codes(od)).to.deep.equal(['ok']);
    const e = events(topic, 'e', MAX_EVENTS);
    expect(codes(await sink.produce(e, { requestId: 'e' })), 'every report came: the whole bound is free').to.deep.equal(['ok']);

    expect(metrics.counter('kafka.producer.full', { producer: 'hasty' }), 'one stretch of refusals').to.equal(1);
    expect(metrics.counter('kafka.produce.failed', { producer: 'hasty', code: 'EG_ERR_KAFKA_QUEUE_FULL' })).to.equal(100);
    const lines = ring.records as { event?: string; pending_events?: number }[];
    expect(lines.filter((l) => l.event === 'kafka.full').map((l) => l.pending_events)).to.deep.equal([200]);
    // Logged with what it holds once it took the next call (d's 50).
    expect(lines.filter((l) => l.event === 'kafka.full_ended').map((l) => l.pending_events)).to.deep.equal([250]);

    await sinks.close();
    expect(await spooledCodes(spool.path)).to.deep.equal(ids(c).map((id) => ({ id, code: 'EG_ERR_KAFKA_QUEUE_FULL' })));
    sinks = createKafkaSinks(kafkaConf(kafkaBootstrap()), { log: bunyan.createLogger({ name: 'test', streams: [] }), metrics, spool });
    await sinks.start();
    await expectTopicHolds([...ids(a), ...ids(b), ...ids(d), ...ids(e)]);
  });

  it('takes one call larger than the bound when nothing is pending, and refuses the next until it is reported', async function () {
    const sink = sinks.guaranteed;
    const big = events(topic, 'big', MAX_EVENTS * 2);
    const next = events(topic, 'next', 1);
    const pbig = sink.produce(big, { requestId: 'big' });
    const pnext = sink.produce(next, { requestId: 'next' });
    expect(codes(await pbig)).to.deep.equal(['ok']);
    expect(codes(await pnext)).to.deep.equal(['EG_ERR_KAFKA_QUEUE_FULL']);
    const after = events(topic, 'after', 1);
    expect(codes(await sink.produce(after, { requestId: 'after' }))).to.deep.equal(['ok']);
    await expectTopicHolds([...ids(big), ...ids(after)]);
  });
});

describe('A Kafka producer bounds the bytes that await delivery reports', function () {
  this.timeout(60000);

  it('refuses a call that would pass max_pending_bytes although its events would fit', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'eventgate-kafka-pending-'));
    const spool = new FileSpool(join(dir, 'failed.ndjson'));
    const topic = uniqueTopic('pending-bytes');
    await createTopic(topic);
    const metrics = new MemoryMetrics();
    const sinks = createKafkaSinks(kafkaConf(kafkaBootstrap(), { max_pending_events: 10000, max_pending_bytes: MAX_BYTES }), {
      log: bunyan.createLogger({ name: 'test', streams: [] }),
      metrics,
      spool,
    });
    try {
      await sinks.start();
      const sink = sinks.guaranteed;
      const a = events(topic, 'a', 30);
      const b = events(topic, 'b', 11);
      const c = events(topic, 'c', 10);
      const pa = sink.produce(a, { requestId: 'a' });
      const pb = sink.produce(b, { requestId: 'b' });
      const pc = sink.produce(c, { requestId: 'c' });
      const [oa, ob, oc] = await Promise.all([pa, pb, pc]);
      expect(codes(oa)).to.deep.equal(['ok']);
      expect(codes(ob), '3000 + 1100 bytes > 4000').to.deep.equal(['EG_ERR_KAFKA_QUEUE_FULL']);
      expect(codes(oc), '3000 + 1000 bytes fit').to.deep.equal(['ok']);
      expect(ob[0].ok ? '' : ob[0].message).to.match(/holds 30 events \(3000 bytes\)/);
      await sinks.close();
      expect((await spooledCodes(spool.path)).map((e) => e.id)).to.deep.equal(ids(b));
      const messages = await consumeAll(topic, a.length + c.length);
      expect(messages.map((m) => idOf(m.value)).sort()).to.deep.equal([...ids(a), ...ids(c)].sort());
    } finally {
      await sinks.close();
      await spool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
