import { expect } from 'chai';
import bunyan from 'bunyan';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeOf } from '../../lib/errors';
import { silentLogger } from '../../lib/log';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { createKafkaSinks, type KafkaSinks } from '../../lib/sink/kafka';
import { FileSpool, type SpoolEntry } from '../../lib/sink/spool';
import { freePort } from '../helpers/ports';
import { until } from '../helpers/until';
import { haltBroker, resumeBroker, startBroker, stopBroker } from '../kafka/fixture';
import { consumeAll, uniqueTopic } from '../helpers/kafka';
import { kafkaConf, makeEvents } from '../helpers/kafka-conf';
import { spooled } from '../helpers/spool';
import { rejection } from '../helpers/rejection';


describe('Kafka sinks without a broker', function () {
  this.timeout(30000);
  const PRODUCE_TIMEOUT_MS = 10000;
  let dir: string;
  let spool: FileSpool;
  let sinks: KafkaSinks;

  beforeEach(async function () {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-kafka-test-'));
    spool = new FileSpool(join(dir, 'failed.ndjson'));
    const conf = kafkaConf(`127.0.0.1:${await freePort()}`, { connect_timeout_ms: 1000, produce_timeout_ms: PRODUCE_TIMEOUT_MS, flush_timeout_ms: 500 });
    sinks = createKafkaSinks(conf, { log: silentLogger(), metrics: new MemoryMetrics(), spool });
  });

  afterEach(async function () {
    await sinks.close();
    await spool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives up starting with EG_ERR_KAFKA_CONNECT after the start timeout, and is not ready', async function () {
    const started = Date.now();
    const err = await rejection(sinks.start(1500));
    expect(codeOf(err)).to.equal('EG_ERR_KAFKA_CONNECT');
    // At the 1500 ms start timeout, not at a later connect attempt: room for a loaded machine.
    expect(Date.now() - started).to.be.below(6500);
    expect(sinks.guaranteed.notReadyReason()).to.match(/kafka-guaranteed producer (is connecting|cannot connect)/);
    expect(sinks.hasty.notReadyReason()).to.match(/kafka-hasty producer/);
  });

  it('answers EG_ERR_KAFKA_UNAVAILABLE at once for every event and spools them all', async function () {
    void sinks.start(100).catch(() => undefined);
    const topic = uniqueTopic('unavailable');
    const started = Date.now();
    const outcomes = await sinks.guaranteed.produce(makeEvents(topic, 5), { requestId: 'r1' });
    // Not held for produce_timeout_ms: the answer is the refusal, not a timeout.
    expect(Date.now() - started).to.be.below(PRODUCE_TIMEOUT_MS);
    expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).to.deep.equal(Array(5).fill('EG_ERR_KAFKA_UNAVAILABLE'));
    const entries = await spooled(spool.path);
    expect(entries.map((e) => e.event)).to.deep.equal(makeEvents(topic, 5).map((e) => JSON.parse(e.value.toString()) as unknown));
  });

  it('hears each librdkafka event once however often it retried connecting (node-rdkafka wires its callbacks again at each connect of a client)', async function () {
    const ring = new bunyan.RingBuffer({ limit: 5000 });
    const metrics = new MemoryMetrics();
    // One connection try per attempt (librdkafka's own reconnects held off), each attempt long
    // enough that librdkafka's line about the refused connection reaches JS before it ends.
    const conf = kafkaConf(`127.0.0.1:${await freePort()}`, { connect_timeout_ms: 1000, conf: { 'reconnect.backoff.ms': 60000, 'reconnect.backoff.max.ms': 60000 } });
    const own = createKafkaSinks(conf, { log: bunyan.createLogger({ name: 'test', streams: [{ type: 'raw', stream: ring, level: 'debug' }] }), metrics, spool });
    const ATTEMPTS = 4;
    const failed = () => metrics.counter('kafka.connect.failed', { producer: 'guaranteed' });
    try {
      void own.guaranteed.start(100).catch(() => undefined);
      await until(() => failed() >= ATTEMPTS, 30000, `${ATTEMPTS} failed attempts`);
    } finally {
      await own.close();
    }
    const attempts = failed();
    // What the log limiter heard: a first line stands for itself, a later one for the repeats it counts.
    const heard = (ring.records as { event?: string; producer?: string; repeated?: number }[])
      .filter((r) => r.event === 'kafka.librdkafka_log' && r.producer === 'guaranteed')
      .reduce((sum, r) => sum + (r.repeated ?? 1), 0);
    const said = `${heard} librdkafka log events over ${attempts} failed attempts`;
    expect(heard, `each attempt was heard: ${said}`).to.be.at.least(attempts);
    // About one line per attempt (its refused connection), and one more for an attempt under way at the close.
    // Callbacks wired again on one client: attempt k is heard k times, (n+1)/2 times per attempt over n.
    expect(heard / attempts, said).to.be.at.most(2);
  });

  it('closes promptly while a connection attempt is still under way', async function () {
    void sinks.start(100).catch(() => undefined);
    const started = Date.now();
    await sinks.close();
    await sinks.close();
    // Well under produce_timeout_ms (10 s): the attempt under way does not hold the close.
    expect(Date.now() - started).to.be.below(5000);
    expect(sinks.guaranteed.notReadyReason()).to.equal('kafka-guaranteed producer is closed');
    const outcomes = await sinks.hasty.produce(makeEvents('t', 1), { requestId: 'late' });
    expect(outcomes[0]).to.include({ ok: false, code: 'EG_ERR_KAFKA_CLOSED' });
  });
});

describe('Kafka sinks when the broker comes, goes and comes back', function () {
  this.timeout(90000);
  let dir: string;
  let spool: FileSpool;
  let sinks: KafkaSinks | undefined;
  let closing: KafkaSinks | undefined;
  let brokerDir: string | undefined;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-kafka-test-'));
    spool = new FileSpool(join(dir, 'failed.ndjson'));
  });

  after(async function () {
    await sinks?.close();
    await closing?.close();
    await spool.close();
    if (brokerDir) await stopBroker(brokerDir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('connects once a broker appears, spools only what a paused broker did not take, refuses at once while it is down, and recovers when it is back', async function () {
    const port = await freePort();
    const bootstrap = `127.0.0.1:${port}`;
    const produceTimeoutMs = 3000;
    const metrics = new MemoryMetrics();
    const ring = new bunyan.RingBuffer({ limit: 2000 });
    sinks = createKafkaSinks(kafkaConf(bootstrap, { connect_timeout_ms: 1000, produce_timeout_ms: produceTimeoutMs, flush_timeout_ms: 1000 }), {
      log: bunyan.createLogger({ name: 'test', streams: [{ type: 'raw', stream: ring, level: 'info' }] }),
      metrics,
      spool,
    });
    const live = sinks;
    expect(codeOf(await rejection(live.start(300)))).to.equal('EG_ERR_KAFKA_CONNECT');

    // The broker appears: the producers' retries connect them.
    brokerDir = (await startBroker({ port })).dir;
    const brokerPid = Number(readFileSync(join(brokerDir, 'pid'), 'utf8'));
    await until(() => live.guaranteed.notReadyReason() === undefined && live.hasty.notReadyReason() === undefined, 20000, 'both producers ready');
    const topic = uniqueTopic('outage');
    const first = await live.guaranteed.produce(makeEvents(topic, 5), { requestId: 'up' });
    expect(first.every((o) => o.ok)).to.equal(true);

    // A second pair, to be closed while the broker hangs.
    closing = createKafkaSinks(kafkaConf(bootstrap, { produce_timeout_ms: 30000, flush_timeout_ms: 500 }), {
      log: silentLogger(),
      metrics: new MemoryMetrics(),
      spool,
    });
    await closing.start(10000);

    // The broker hangs (SIGSTOP): the call is answered at its deadline, but an
    // event goes to the spool only once librdkafka reports it undelivered;
    // one Kafka takes late is in the topic and not in the spool.
    const lateOk = () => metrics.counter('kafka.produce.late', { producer: 'guaranteed', ok: 'true' });
    process.kill(brokerPid, 'SIGSTOP');
    let paused = true;
    try {
      const slow = makeEvents(topic, 10).map((e, i) => ({ ...e, value: Buffer.from(JSON.stringify({ slow: i })) }));
      const started = Date.now();
      const outcomes = await live.guaranteed.produce(slow, { requestId: 'slow' });
      const took = Date.now() - started;
      // At the deadline, not at librdkafka's message timeout (5 min): room above it for a paused JVM on a shared machine.
      expect(took).to.be.within(produceTimeoutMs - 100, 3 * produceTimeoutMs);
      expect(outcomes.map((o) => (o.ok ? 'ok' : o.code))).to.deep.equal(Array(10).fill('EG_ERR_KAFKA_TIMEOUT'));

      // Closing flushes for flush_timeout_ms, then answers and spools what Kafka has not acknowledged.
      const pendingTopic = uniqueTopic('closed');
      const pending = closing.hasty.produce(makeEvents(pendingTopic, 4), { requestId: 'closing' });
      await closing.close();
      expect((await pending).map((o) => (o.ok ? 'ok' : o.code))).to.deep.equal(Array(4).fill('EG_ERR_KAFKA_CLOSED'));
      expect((await spooled(spool.path)).filter((e) => e.topic === pendingTopic)).to.have.length(4);

      process.kill(brokerPid, 'SIGCONT');
      paused = false;
      // Every slow event gets its fate: delivered late, or reported undelivered and spooled.
      const spooledSlow = async () => (await spooled(spool.path)).filter((e) => (e.event as { slow?: number }).slow !== undefined);
      let inSpool: SpoolEntry[] = [];
      await until(async () => (inSpool = await spooledSlow()).length + lateOk() === 10, 30000, 'a fate for each of the 10 slow events');
      const delivered = (await consumeAll(topic, 5 + lateOk(), 20000, bootstrap)).filter((m) => m.headers['x-request-id'] === 'slow');
      const inTopic = delivered.map((m) => (JSON.parse(m.value?.toString() ?? '{}') as { slow: number }).slow);
      const spooledIds = inSpool.map((e) => (e.event as { slow: number }).slow);
      expect([...inTopic, ...spooledIds].sort((a, b) => a - b), 'each slow event in the topic or the spool, none in both').to.deep.equal([...Array(10).keys()]);
      // The hang (a few seconds) is far shorter than message.timeout.ms (5 min): the broker took every
      // slow event once it resumed, so none may be in the spool (a spooled one would be replayed twice).
      expect(spooledIds, 'slow events spooled').to.deep.equal([]);
      expect(lateOk(), 'slow events Kafka took late').to.equal(10);
    } finally {
      if (paused) process.kill(brokerPid, 'SIGCONT');
    }

    // The broker goes away: once librdkafka's broker states show no connection
    // up, calls are refused at once rather than after produce_timeout_ms.
    await haltBroker(brokerDir);
    await until(() => /no broker connection is up/.test(live.guaranteed.notReadyReason() ?? ''), 15000, 'brokers known to be down');
    const lost = makeEvents(topic, 10).map((e, i) => ({ ...e, value: Buffer.from(JSON.stringify({ lost: i })) }));
    const started = Date.now();
    const refused = await live.guaranteed.produce(lost, { requestId: 'down' });
    expect(Date.now() - started).to.be.below(produceTimeoutMs);
    expect(refused.map((o) => (o.ok ? 'ok' : o.code))).to.deep.equal(Array(10).fill('EG_ERR_KAFKA_UNAVAILABLE'));
    const entries = (await spooled(spool.path)).filter((e) => (e.event as { lost?: number }).lost !== undefined);
    expect(entries.map((e) => e.event)).to.deep.equal(lost.map((_, i) => ({ lost: i })));

    // The broker is back: ready again, and events flow.
    const downAt = ring.records.length;
    await resumeBroker(brokerDir);
    await until(() => live.guaranteed.notReadyReason() === undefined, 20000, 'ready again');
    // Ready once librdkafka's broker states show the partition leader's connection up, not on
    // a metadata answer (which can come over the bootstrap connection while the leader's is
    // still down): with no traffic meanwhile, what showed it is a statistics document.
    const back = (ring.records.slice(downAt) as { event?: string; producer: string; via?: string }[]).filter(
      (r) => r.event === 'kafka.brokers_up' && r.producer === 'guaranteed',
    );
    expect(back.map((r) => r.via), 'what made the producer ready again').to.deep.equal(['stats']);
    const again = await live.guaranteed.produce(makeEvents(topic, 5), { requestId: 'back' });
    expect(again.every((o) => o.ok)).to.equal(true);
    const messages = await consumeAll(topic, 10 + lateOk(), 20000, bootstrap);
    expect(messages.map((m) => m.headers['x-request-id']).filter((id) => id !== 'slow')).to.deep.equal([...Array<string>(5).fill('up'), ...Array<string>(5).fill('back')]);
  });
});
