/**
 * A producer after a fatal librdkafka error, made for real: with
 * `enable.gapless.guarantee` (an operator's setting), any permanent produce
 * error is fatal to an idempotent producer, and the broker gives one for an
 * event larger than its topic's max.message.bytes. The client is replaced,
 * every event it held gets its fate (in the topic or in the spool, never
 * both), and events are produced again.
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
import { until } from '../helpers/until';
import { consumeAll, createTopic, kafkaBootstrap, uniqueTopic } from '../helpers/kafka';
import { kafkaConf } from '../helpers/kafka-conf';
import { spooled } from '../helpers/spool';

/** The topic's limit, well below librdkafka's message.max.bytes (1 MB), which would refuse the event before the broker could. */
const TOPIC_MAX_MESSAGE_BYTES = 2048;

function event(topic: string, id: string, padding = 0): OutboundEvent {
  return { stream: 'test.event', topic, value: Buffer.from(JSON.stringify({ id, pad: 'x'.repeat(padding) })) };
}

function idOf(value: Buffer | string | null | undefined): string {
  return (JSON.parse(String(value)) as { id: string }).id;
}

async function spooledIds(path: string): Promise<string[]> {
  return (await spooled(path)).map((entry) => (entry.event as { id: string }).id);
}

function okIds(events: readonly OutboundEvent[], outcomes: readonly ProduceOutcome[]): string[] {
  return events.filter((_, i) => outcomes[i].ok).map((e) => idOf(e.value));
}

describe('A Kafka producer that hits a fatal librdkafka error', function () {
  this.timeout(60000);
  let dir: string;
  let spool: FileSpool;
  let sinks: KafkaSinks;
  let metrics: MemoryMetrics;
  let ring: bunyan.RingBuffer;
  let small: string;
  let normal: string;

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-kafka-fatal-'));
    spool = new FileSpool(join(dir, 'failed.ndjson'));
    small = uniqueTopic('fatal-small');
    normal = uniqueTopic('fatal-normal');
    await createTopic(small, 1, 10000, kafkaBootstrap(), { 'max.message.bytes': String(TOPIC_MAX_MESSAGE_BYTES) });
    await createTopic(normal);
    ring = new bunyan.RingBuffer({ limit: 500 });
    const log = bunyan.createLogger({ name: 'test', streams: [{ type: 'raw', stream: ring, level: 'info' }] });
    metrics = new MemoryMetrics();
    const conf = kafkaConf(kafkaBootstrap(), { flush_timeout_ms: 3000, guaranteed: { conf: { 'enable.gapless.guarantee': true } } });
    sinks = createKafkaSinks(conf, { log, metrics, spool });
    await sinks.start();
  });

  afterEach(async function () {
    await sinks.close();
    await spool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Produces one call with an event the topic refuses among small ones; waits until the client is replaced and connected. */
  async function fatalCall(round: number): Promise<{ events: OutboundEvent[]; outcomes: ProduceOutcome[] }> {
    const events = [event(small, `r${round}-a`), event(small, `r${round}-big`, 2 * TOPIC_MAX_MESSAGE_BYTES), event(small, `r${round}-b`)];
    const outcomes = await sinks.guaranteed.produce(events, { requestId: `fatal-${round}` });
    expect(outcomes[1].ok, 'the event larger than the topic allows').to.equal(false);
    await until(() => metrics.counter('kafka.producer.rebuilt', { producer: 'guaranteed' }) === round, 10000, `rebuild ${round}`);
    await until(() => sinks.guaranteed.notReadyReason() === undefined, 15000, `the rebuilt producer ${round} connected`);
    return { events, outcomes };
  }

  it('replaces its client, spools what the failed one did not deliver, and produces again, each time it happens', async function () {
    const before = [event(normal, 'before-1'), event(normal, 'before-2')];
    expect((await sinks.guaranteed.produce(before, { requestId: 'before' })).every((o) => o.ok), 'produced before the fatal error').to.equal(true);

    const first = await fatalCall(1);
    const records = ring.records as { event?: string; reason?: string }[];
    const replaced = records.find((r) => r.event === 'kafka.fatal');
    expect(replaced?.reason, 'the log says what librdkafka reported').to.match(/gap-less|fatal/i);

    const middle = [event(normal, 'middle-1'), event(normal, 'middle-2')];
    expect((await sinks.guaranteed.produce(middle, { requestId: 'middle' })).every((o) => o.ok), 'produced by the new client').to.equal(true);

    // Again, on the new client: it is wired as the first was, and the back-off lets it be rebuilt.
    const second = await fatalCall(2);
    const after = [event(normal, 'after-1'), event(normal, 'after-2')];
    expect((await sinks.guaranteed.produce(after, { requestId: 'after' })).every((o) => o.ok), 'produced by the third client').to.equal(true);
    await sinks.close();

    // The ledger: every event of the fatal calls is in the topic or the spool, never both; answered ok means in the topic.
    const fatalEvents = [...first.events, ...second.events];
    const acked = [...okIds(first.events, first.outcomes), ...okIds(second.events, second.outcomes)];
    const spooled = await spooledIds(spool.path);
    const inSmall = acked.length ? (await consumeAll(small, acked.length)).map((m) => idOf(m.value)) : [];
    expect(inSmall.sort(), 'the small topic holds exactly the events answered ok').to.deep.equal([...acked].sort());
    const fatalIds = fatalEvents.map((e) => idOf(e.value));
    expect([...spooled].sort(), 'the spool holds exactly the others').to.deep.equal(fatalIds.filter((id) => !acked.includes(id)).sort());
    expect(spooled, 'the refused events are spooled').to.include.members(['r1-big', 'r2-big']);

    const inNormal = (await consumeAll(normal, 6)).map((m) => idOf(m.value));
    expect(inNormal, 'the other topic holds each acknowledged event once').to.deep.equal(['before-1', 'before-2', 'middle-1', 'middle-2', 'after-1', 'after-2']);
  });
});
