import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bunyan from 'bunyan';
import { silentLogger } from '../../lib/log';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { createKafkaSinks, type KafkaSinks } from '../../lib/sink/kafka';
import { FileSpool } from '../../lib/sink/spool';
import type { ProduceOutcome } from '../../lib/sink/sink';
import type { KafkaConf } from '../../lib/config/schema';
import { until } from '../helpers/until';
import { consumeAll, createTopic, kafkaBootstrap, uniqueTopic } from '../helpers/kafka';
import { kafkaConf, makeEvents } from '../helpers/kafka-conf';
import { spooled } from '../helpers/spool';

describe('Kafka sinks against a real broker', function () {
  this.timeout(60000);
  let dir: string;
  let spool: FileSpool;
  let metrics: MemoryMetrics;
  let sinks: KafkaSinks;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-kafka-test-'));
    spool = new FileSpool(join(dir, 'failed.ndjson'));
    metrics = new MemoryMetrics();
    sinks = createKafkaSinks(kafkaConf(kafkaBootstrap(), { conf: { 'statistics.interval.ms': 200 } }), {
      log: silentLogger(),
      metrics,
      spool,
    });
    await sinks.start(20000);
  });

  after(async function () {
    await sinks?.close();
    await spool?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is ready once both producers are connected', function () {
    expect(sinks.guaranteed.notReadyReason()).to.equal(undefined);
    expect(sinks.hasty.notReadyReason()).to.equal(undefined);
    expect(sinks.guaranteed.kind).to.equal('kafka-guaranteed');
    expect(sinks.hasty.kind).to.equal('kafka-hasty');
  });

  for (const n of [1, 100, 5000]) {
    it(`acknowledges ${n} event${n > 1 ? 's' : ''} in one call and the topic holds each value, key, timestamp and header`, async function () {
      const topic = uniqueTopic('guaranteed');
      const events = makeEvents(topic, n);
      const outcomes = await sinks.guaranteed.produce(events, { requestId: `req-${n}` });
      expect(outcomes).to.have.length(n);
      expect(outcomes.filter((o) => !o.ok)).to.deep.equal([]);

      const messages = await consumeAll(topic, n);
      expect(messages).to.have.length(n);
      // One partition: the topic keeps the order of the call.
      messages.forEach((m, i) => {
        expect(m.value?.toString(), `value ${i}`).to.equal(events[i].value.toString());
        expect(m.key?.toString(), `key ${i}`).to.equal(events[i].key?.toString());
        expect(m.timestamp, `timestamp ${i}`).to.equal(events[i].timestamp);
        expect(m.headers, `headers ${i}`).to.deep.equal({ 'content-type': 'application/json', 'x-request-id': `req-${n}` });
      });
    });
  }

  it('spreads events over the partitions of a topic and keeps the order of each key', async function () {
    const topic = uniqueTopic('partitions');
    await createTopic(topic, 3);
    const events = makeEvents(topic, 300).map((e, i) => ({ ...e, key: Buffer.from(`key-${i % 7}`) }));
    const outcomes = await sinks.guaranteed.produce(events, { requestId: 'r' });
    expect(outcomes.every((o) => o.ok)).to.equal(true);

    const messages = await consumeAll(topic, 300);
    expect(messages).to.have.length(300);
    expect(new Set(messages.map((m) => m.partition)).size).to.be.greaterThan(1);
    const byKey = new Map<string, number[]>();
    for (const m of messages) {
      const key = m.key?.toString() ?? '';
      const i = (JSON.parse(m.value?.toString() ?? '{}') as { i: number }).i;
      byKey.set(key, [...(byKey.get(key) ?? []), i]);
    }
    for (const [key, order] of byKey) expect(order, key).to.deep.equal([...order].sort((a, b) => a - b));
    expect([...byKey.values()].flat().sort((a, b) => a - b)).to.deep.equal(events.map((_, i) => i));
  });

  it('sends a null key and lets the broker stamp the time when the event has neither', async function () {
    const topic = uniqueTopic('nokey');
    const before = Date.now();
    const [outcome] = await sinks.guaranteed.produce([{ stream: 's', topic, value: Buffer.from('{"a":1}') }], { requestId: '' });
    expect(outcome).to.deep.equal({ ok: true });
    const read = await consumeAll(topic, 1);
    expect(read).to.have.length(1);
    const [m] = read;
    expect(m.key).to.equal(null);
    expect(m.timestamp).to.be.within(before - 1000, Date.now() + 1000);
    expect(m.headers).to.deep.equal({ 'content-type': 'application/json' });
  });

  it('delivers through the hasty producer too', async function () {
    const topic = uniqueTopic('hasty');
    const events = makeEvents(topic, 50);
    const outcomes = await sinks.hasty.produce(events, { requestId: 'hasty-1' });
    expect(outcomes.every((o) => o.ok)).to.equal(true);
    const messages = await consumeAll(topic, 50);
    expect(messages.map((m) => m.value?.toString())).to.deep.equal(events.map((e) => e.value.toString()));
  });

  it('answers concurrent calls each with its own outcomes', async function () {
    const topic = uniqueTopic('concurrent');
    const calls = Array.from({ length: 20 }, (_, c) =>
      sinks.guaranteed.produce(makeEvents(topic, 10).map((e) => ({ ...e, value: Buffer.from(`{"c":${c}}`) })), { requestId: `c${c}` }),
    );
    const results = await Promise.all(calls);
    expect(results.map((r) => r.length)).to.deep.equal(Array(20).fill(10));
    expect(results.flat().every((o) => o.ok)).to.equal(true);
    const messages = await consumeAll(topic, 200);
    expect(messages).to.have.length(200);
    for (const m of messages) {
      expect(m.headers['x-request-id']).to.equal(`c${(JSON.parse(m.value?.toString() ?? '{}') as { c: number }).c}`);
    }
  });

  it('counts delivered events and feeds librdkafka statistics to the metrics', async function () {
    const topic = uniqueTopic('metrics');
    await sinks.guaranteed.produce(makeEvents(topic, 3), { requestId: 'm' });
    expect(metrics.counter('kafka.produce.delivered', { producer: 'guaranteed' })).to.be.at.least(3);
    await until(() => metrics.gauges.has('kafka.producer.tx_messages{producer=guaranteed}'), 5000, 'a statistics gauge');
    await until(() => metrics.gauges.has('kafka.broker.rtt_avg_ms{broker=1,producer=guaranteed}'), 5000, 'a broker rtt gauge');
    expect(metrics.gauges.get('kafka.producer.tx_messages{producer=guaranteed}')).to.be.at.least(1);
  });

  it('fails an event larger than message.max.bytes alone with EG_ERR_KAFKA_DELIVERY and spools it', async function () {
    const local = createKafkaSinks(kafkaConf(kafkaBootstrap(), { conf: { 'message.max.bytes': 2000 } }), {
      log: silentLogger(),
      metrics: new MemoryMetrics(),
      spool,
    });
    try {
      await local.start(20000);
      const topic = uniqueTopic('too-large');
      const events = makeEvents(topic, 3);
      const big = { ...events[1], value: Buffer.from(JSON.stringify({ big: 'x'.repeat(5000) })) };
      const outcomes = await local.guaranteed.produce([events[0], big, events[2]], { requestId: 'big' });
      expect(outcomes[0].ok).to.equal(true);
      expect(outcomes[2].ok).to.equal(true);
      expect(outcomes[1]).to.include({ ok: false, code: 'EG_ERR_KAFKA_DELIVERY' });
      const entries = (await spooled(spool.path)).filter((e) => e.topic === topic);
      expect(entries).to.have.length(1);
      expect(entries[0].event).to.deep.equal(JSON.parse(big.value.toString()));
      expect(entries[0].error.code).to.equal('EG_ERR_KAFKA_DELIVERY');
    } finally {
      await local.close();
    }
  });

  it('answers EG_ERR_KAFKA_QUEUE_FULL for the events that do not fit the local queue', async function () {
    const local = createKafkaSinks(
      kafkaConf(kafkaBootstrap(), { conf: { 'queue.buffering.max.messages': 10, 'linger.ms': 200 } }),
      { log: silentLogger(), metrics: new MemoryMetrics() },
    );
    try {
      await local.start(20000);
      const topic = uniqueTopic('queue-full');
      const outcomes: ProduceOutcome[] = await local.guaranteed.produce(makeEvents(topic, 25), { requestId: 'q' });
      expect(outcomes.filter((o) => o.ok)).to.have.length(10);
      expect(outcomes.slice(10).map((o) => (o.ok ? 'ok' : o.code))).to.deep.equal(Array(15).fill('EG_ERR_KAFKA_QUEUE_FULL'));
    } finally {
      await local.close();
    }
  });

  it('puts on each message exactly the headers kafka.message_headers names, none for []', async function () {
    const cases: { names: KafkaConf['message_headers']; want: Record<string, string> }[] = [
      { names: [], want: {} },
      { names: ['x-request-id'], want: { 'x-request-id': 'h-1' } },
      { names: ['content-type'], want: { 'content-type': 'application/json' } },
    ];
    for (const { names, want } of cases) {
      const local = createKafkaSinks(kafkaConf(kafkaBootstrap(), { message_headers: names }), { log: silentLogger(), metrics: new MemoryMetrics() });
      try {
        await local.start(20000);
        const topic = uniqueTopic('headers');
        for (const sink of [local.guaranteed, local.hasty]) {
          const outcomes = await sink.produce(makeEvents(topic, 3), { requestId: 'h-1' });
          expect(outcomes.every((o) => o.ok), sink.kind).to.equal(true);
        }
        const messages = await consumeAll(topic, 6);
        expect(messages).to.have.length(6);
        for (const m of messages) expect(m.headers, JSON.stringify(names)).to.deep.equal(want);
      } finally {
        await local.close();
      }
    }
  });

  it('maps librdkafka log lines to bunyan records at syslog-mapped levels', async function () {
    const ring = new bunyan.RingBuffer({ limit: 1000 });
    const log = bunyan.createLogger({ name: 't', streams: [{ level: 'trace', type: 'raw', stream: ring }] });
    const local = createKafkaSinks(kafkaConf(kafkaBootstrap(), { conf: { debug: 'broker' } }), { log, metrics: new MemoryMetrics() });
    try {
      await local.start(20000);
      await until(() => ring.records.some((r: { event?: string }) => r.event === 'kafka.librdkafka_log'), 5000, 'a librdkafka log record');
      const record = ring.records.find((r: { event?: string }) => r.event === 'kafka.librdkafka_log') as Record<string, unknown>;
      // debug lines are syslog severity 7.
      expect(record).to.include({ level: bunyan.DEBUG, severity: 7, component: 'kafka' });
      expect(record.fac).to.be.a('string');
      expect(record.detail).to.be.a('string');
    } finally {
      await local.close();
    }
  });
});
