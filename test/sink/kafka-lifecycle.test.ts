/**
 * A Kafka producer's client lifecycle (lib/sink/kafka/lifecycle.ts) through
 * the Sink facade, its clients made by a fake factory: connect retries,
 * the rebuild after a fatal error, close, and the brokers' health as the
 * client reports it. No broker: the broker tests (kafka*.test.ts beside
 * this one) run the same code against a real one.
 */
import { expect } from 'chai';
import * as Kafka from 'node-rdkafka';
import { codeOf } from '../../lib/errors';
import { MemoryMetrics } from '../../lib/metrics/memory';
import type { KafkaConf } from '../../lib/config/schema';
import { GUARANTEED_DEFAULTS } from '../../lib/sink/kafka/guaranteed';
import { KafkaSink, sinkOptions } from '../../lib/sink/kafka/producer';
import type { ProducerTimings } from '../../lib/sink/kafka/state';
import type { OutboundEvent, ProduceOutcome } from '../../lib/sink/sink';
import { rejection } from '../helpers/rejection';
import { until } from '../helpers/until';
import { BROKER_DOWN, FATAL, fakeFactory, type FakeFactory, MemorySpool, type Recorded, recordingLogger, REFUSED, stats } from '../helpers/kafka-fake-client';
import { kafkaConf, makeEvents } from '../helpers/kafka-conf';

const FAST: ProducerTimings = {
  connectRetryMs: [40, 160],
  probeRetryMs: [20, 80],
  rebuildRetryMs: [40, 160],
  reportGraceMs: 50,
  idlePollMs: 10,
  disconnectTimeoutMs: 500,
};

interface Harness {
  readonly sink: KafkaSink;
  readonly ff: FakeFactory;
  readonly spool: MemorySpool;
  readonly metrics: MemoryMetrics;
  readonly events: () => string[];
  readonly records: () => Recorded[];
}

function harness(ff: FakeFactory, overrides: Partial<KafkaConf> = {}): Harness {
  const { log, events, records } = recordingLogger();
  const metrics = new MemoryMetrics();
  const spool = new MemorySpool();
  const opts = sinkOptions(kafkaConf('fake:9092', overrides), 'guaranteed', GUARANTEED_DEFAULTS, { log, metrics, spool, clientFactory: ff.factory, timings: FAST });
  return { sink: new KafkaSink(opts), ff, spool, metrics, events, records };
}

const codes = (outcomes: readonly ProduceOutcome[]): string[] => outcomes.map((o) => (o.ok ? 'ok' : o.code));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const refTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const valueOf = (e: OutboundEvent): string => String(e.value);
const NO_STATISTICS: Partial<KafkaConf> = { conf: { 'statistics.interval.ms': 0 } };
const SASL_FAIL =
  '[thrd:sasl_ssl://127.0.0.1:45115/bootstrap]: sasl_ssl://127.0.0.1:45115/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512 (after 313ms in state AUTH_REQ)';

describe('A Kafka producer on clients from its factory', function () {
  let h: Harness | undefined;

  afterEach(async function () {
    await h?.sink.close();
    h = undefined;
  });

  describe('connecting', function () {
    it('retries a failed connect on a new client with a doubling back-off, refusing events and saying why meanwhile, and is ready once one connects', async function () {
      h = harness(fakeFactory([REFUSED, REFUSED]));
      const { sink, ff, spool } = h;
      const started = sink.start(5000);
      await until(() => ff.clients.length >= 2, 2000, 'the first attempt failed');
      expect(sink.notReadyReason()).to.equal('kafka-guaranteed producer cannot connect: broker transport failure');
      const refused = await sink.produce(makeEvents('t', 2), { requestId: 'early' });
      expect(codes(refused), 'refused at once while not connected').to.deep.equal(['EG_ERR_KAFKA_UNAVAILABLE', 'EG_ERR_KAFKA_UNAVAILABLE']);
      expect(spool.entries).to.have.length(2);

      await started;
      expect(sink.notReadyReason(), 'ready once connected').to.equal(undefined);
      expect(ff.clients.map((c) => c.calls), 'one attempt per client: node-rdkafka wires its events again at each connect').to.deep.equal([['connect'], ['connect'], ['connect']]);
      const [a, b, c] = ff.clients.map((cl) => cl.connectAt ?? NaN);
      expect(b - a, 'the first wait').to.be.at.least(FAST.connectRetryMs[0] - 2);
      expect(c - b, 'the second wait, doubled').to.be.at.least(2 * FAST.connectRetryMs[0] - 2);
      expect(h.metrics.counter('kafka.connect.failed', { producer: 'guaranteed' })).to.equal(2);
      expect(h.events()).to.include.members(['kafka.connect_retry', 'kafka.connected']);

      const events = makeEvents('t', 2);
      const call = sink.produce(events, { requestId: 'later' });
      const client = ff.last();
      expect(client.produced.map((m) => String(m.value))).to.deep.equal(events.map(valueOf));
      client.report(0);
      client.report(1);
      expect(codes(await call)).to.deep.equal(['ok', 'ok']);
    });

    it('gives up start() with EG_ERR_KAFKA_CONNECT at its timeout while attempts go on', async function () {
      h = harness(fakeFactory(Array.from({ length: 100 }, () => REFUSED)));
      const err = await rejection(h.sink.start(100));
      expect(codeOf(err)).to.equal('EG_ERR_KAFKA_CONNECT');
      expect(String(err)).to.match(/did not connect within 100 ms: broker transport failure/);
      const made = h.ff.clients.length;
      await until(() => (h?.ff.clients.length ?? 0) >= made + 2, 2000, 'two more attempts after the timeout');
    });
  });

  describe('after a fatal error', function () {
    it('retires the client, its calls getting their fate from it, and produces on a new client from the factory: nothing twice', async function () {
      h = harness(fakeFactory());
      const { sink, ff, spool } = h;
      await sink.start();
      const first = ff.last();
      const held = makeEvents('t', 3);
      const call = sink.produce(held, { requestId: 'held' });
      first.report(0);
      first.flushDelivers = false;

      first.emit('event.error', FATAL);
      expect(ff.clients, 'a second client, made by the factory').to.have.length(2);
      expect(sink.notReadyReason()).to.equal('kafka-guaranteed producer is being rebuilt after a fatal error: gap-less ordering would not be guaranteed if proceeding');
      const during = await sink.produce(makeEvents('u', 1), { requestId: 'during' });
      expect(codes(during), 'refused while the client is replaced').to.deep.equal(['EG_ERR_KAFKA_UNAVAILABLE']);
      // The retired client still reports on what it held, after its flush (within the grace for reports to
      // reach JS); the last event's report never comes.
      setTimeout(() => first.report(1), FAST.reportGraceMs / 5);

      expect(codes(await call), 'its report, or EG_ERR_KAFKA_FATAL once the retired client is flushed').to.deep.equal(['ok', 'ok', 'EG_ERR_KAFKA_FATAL']);
      expect(spool.entries.map((e) => e.error.code)).to.deep.equal(['EG_ERR_KAFKA_UNAVAILABLE', 'EG_ERR_KAFKA_FATAL']);
      expect(String(spool.entries[1].event.value)).to.equal(valueOf(held[2]));
      await until(() => first.calls.includes('disconnect'), 2000, 'the retired client disconnected');
      expect(first.calls).to.deep.equal(['connect', 'flush', 'disconnect']);

      await until(() => sink.notReadyReason() === undefined, 2000, 'the new client connected');
      const second = ff.last();
      expect(second).to.not.equal(first);
      const after = makeEvents('v', 2);
      const next = sink.produce(after, { requestId: 'after' });
      second.report(0);
      second.report(1);
      expect(codes(await next)).to.deep.equal(['ok', 'ok']);
      // A report of the retired client after its call was answered changes nothing.
      first.report(2);
      expect(spool.entries).to.have.length(2);
      const produced = ff.clients.flatMap((c) => c.produced.map((m) => String(m.value)));
      expect(produced, 'each event produced once, on one client').to.deep.equal([...held, ...after].map(valueOf));
      expect(h.metrics.counter('kafka.producer.rebuilt', { producer: 'guaranteed' })).to.equal(1);
      await until(() => h?.events().includes('kafka.retired'), 2000, 'the retired client done with');
      expect(h.events()).to.include.members(['kafka.fatal', 'kafka.rebuilt']);
      expect(h.events()).to.not.include('kafka.fatal_not_connected');
    });

    it('rebuilds when librdkafka refuses a produce with ERR__FATAL, answering that call EG_ERR_KAFKA_FATAL at once', async function () {
      h = harness(fakeFactory());
      const { sink, ff } = h;
      await sink.start();
      ff.last().produceThrows = { message: 'Fatal error', code: Kafka.CODES.ERRORS.ERR__FATAL };
      const outcomes = await sink.produce(makeEvents('t', 2), { requestId: 'fatal' });
      expect(codes(outcomes)).to.deep.equal(['EG_ERR_KAFKA_FATAL', 'EG_ERR_KAFKA_FATAL']);
      expect(ff.clients).to.have.length(2);
      await until(() => sink.notReadyReason() === undefined, 2000, 'the new client connected');
    });
  });

  describe('closing', function () {
    it('flushes, then disconnects: calls awaiting reports get them; then nothing polls and no timer is left', async function () {
      // Counted once mocha's own timer for this test is set (after the test's first turn).
      await new Promise((resolve) => setImmediate(resolve));
      const timers = refTimers();
      h = harness(fakeFactory());
      const { sink, ff } = h;
      await sink.start();
      const client = ff.last();
      const call = sink.produce(makeEvents('t', 3), { requestId: 'held' });
      await sink.close();
      expect(codes(await call), 'delivered by the flush').to.deep.equal(['ok', 'ok', 'ok']);
      expect(client.calls).to.deep.equal(['connect', 'flush', 'disconnect']);
      expect(h.events()).to.include('kafka.closed');
      const polls = client.polls;
      await sleep(5 * FAST.idlePollMs);
      expect(client.polls, 'no poll after close').to.equal(polls);
      expect(refTimers(), `no timer keeps the process alive: ${process.getActiveResourcesInfo().join(', ')}`).to.equal(timers);
      expect(codes(await sink.produce(makeEvents('t', 1), { requestId: 'late' }))).to.deep.equal(['EG_ERR_KAFKA_CLOSED']);
    });

    it('answers EG_ERR_KAFKA_CLOSED, and spools, the events whose reports the flush did not bring', async function () {
      h = harness(fakeFactory());
      const { sink, ff, spool } = h;
      await sink.start();
      ff.last().flushDelivers = false;
      const call = sink.produce(makeEvents('t', 2), { requestId: 'held' });
      await sink.close();
      expect(codes(await call)).to.deep.equal(['EG_ERR_KAFKA_CLOSED', 'EG_ERR_KAFKA_CLOSED']);
      expect(spool.entries.map((e) => e.error.code)).to.deep.equal(['EG_ERR_KAFKA_CLOSED', 'EG_ERR_KAFKA_CLOSED']);
    });

    it('while connecting, stops the attempts and fails start()', async function () {
      h = harness(fakeFactory(Array.from({ length: 100 }, () => REFUSED)));
      const { sink, ff } = h;
      const started = rejection(sink.start(5000));
      await until(() => ff.clients.length >= 2, 2000, 'a failed attempt');
      await sink.close();
      expect(String(await started)).to.match(/closed before it connected/);
      const made = ff.clients.length;
      await sleep(3 * FAST.connectRetryMs[1]);
      expect(ff.clients, 'no attempt after close').to.have.length(made);
    });
  });

  describe('brokers down', function () {
    it('says so, confirms it when a probe fails (refusing events at once), and is ready when a probe answers, without statistics', async function () {
      h = harness(fakeFactory(), NO_STATISTICS);
      const { sink, ff } = h;
      await sink.start();
      const client = ff.last();
      client.emit('event.error', BROKER_DOWN);
      expect(sink.notReadyReason()).to.equal('kafka-guaranteed producer: all brokers are down');
      expect(client.probes, 'a metadata probe asked').to.have.length(1);
      client.answerProbe(new Error('Local: Broker transport failure'));
      expect(sink.notReadyReason()).to.equal('kafka-guaranteed producer: all brokers are down; no broker connection is up');
      const refused = await sink.produce(makeEvents('t', 1), { requestId: 'down' });
      expect(codes(refused), 'refused at once').to.deep.equal(['EG_ERR_KAFKA_UNAVAILABLE']);
      expect(client.produced).to.have.length(0);

      await until(() => client.probes.length === 1, 2000, 'the next probe, after a back-off');
      client.answerProbe(null);
      expect(sink.notReadyReason(), 'a probe answered').to.equal(undefined);
      expect(h.events().filter((e) => e.startsWith('kafka.brokers'))).to.deep.equal(['kafka.brokers_down', 'kafka.brokers_down_confirmed', 'kafka.brokers_up']);
      expect(h.records().find((r) => r.event === 'kafka.brokers_up')?.via).to.equal('probe');
    });

    it('with statistics on, is back only when they (not a probe) show a leader up; two documents with no connection up confirm it', async function () {
      // Statistics are on by default (config.ts), every second.
      h = harness(fakeFactory());
      const { sink, ff } = h;
      await sink.start();
      const client = ff.last();
      client.emit('event.error', BROKER_DOWN);
      client.answerProbe(null);
      expect(sink.notReadyReason(), 'a probe answer can come over the bootstrap connection').to.equal('kafka-guaranteed producer: all brokers are down');
      client.emit('event.stats', stats(false));
      client.emit('event.stats', stats(false, true));
      client.emit('event.stats', stats(false));
      expect(sink.notReadyReason(), 'a bootstrap connection up starts the count again').to.equal('kafka-guaranteed producer: all brokers are down');
      client.emit('event.stats', stats(false));
      expect(sink.notReadyReason()).to.equal('kafka-guaranteed producer: all brokers are down; no broker connection is up');
      client.emit('event.stats', stats(true));
      expect(sink.notReadyReason()).to.equal(undefined);
      expect(h.records().find((r) => r.event === 'kafka.brokers_up')?.via).to.equal('stats');
    });

    it('is back when its client reports a delivery, events produced meanwhile waiting for their report', async function () {
      h = harness(fakeFactory());
      const { sink, ff } = h;
      await sink.start();
      const client = ff.last();
      client.emit('event.error', BROKER_DOWN);
      const call = sink.produce(makeEvents('t', 1), { requestId: 'while-down' });
      expect(client.produced, 'not refused before the outage is confirmed').to.have.length(1);
      client.report(0);
      expect(codes(await call)).to.deep.equal(['ok']);
      expect(sink.notReadyReason()).to.equal(undefined);
      expect(h.records().find((r) => r.event === 'kafka.brokers_up')?.via).to.equal('delivery');
    });

    for (const statistics of [false, true]) {
      it(`${statistics ? 'with' : 'without'} statistics, a probe's answer ${statistics ? 'keeps' : 'clears'} an authentication failure`, async function () {
        h = harness(fakeFactory(), statistics ? {} : NO_STATISTICS);
        const { sink, ff } = h;
        await sink.start();
        const client = ff.last();
        client.emit('event.log', { severity: 3, fac: 'FAIL', message: SASL_FAIL });
        expect(sink.notReadyReason()).to.match(/refused by Kafka \(EG_ERR_KAFKA_AUTH\)/);
        client.emit('event.error', BROKER_DOWN);
        client.answerProbe(null);
        if (statistics) expect(sink.notReadyReason()).to.match(/refused by Kafka \(EG_ERR_KAFKA_AUTH\)/);
        else expect(sink.notReadyReason()).to.equal(undefined);
      });
    }

    it('stops probing once closed', async function () {
      h = harness(fakeFactory());
      const { sink, ff } = h;
      await sink.start();
      const client = ff.last();
      client.emit('event.error', BROKER_DOWN);
      client.answerProbe(new Error('down'));
      await sink.close();
      await sleep(3 * FAST.probeRetryMs[1]);
      expect(client.probes, 'no probe after close').to.have.length(0);
    });
  });
});
