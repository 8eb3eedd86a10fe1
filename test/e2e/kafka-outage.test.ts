/**
 * The service over HTTP when Kafka is away: a private broker (so the shared
 * one of the fixture is untouched) stopped in the middle of a test and
 * brought back, and a broker that was never there. No request hangs, nothing
 * validated is lost, and `eventgate replay` puts the spool back.
 */
import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Reply } from '../helpers/http';
import { ROOT } from '../helpers/service';
import { until } from '../helpers/until';
import { haltBroker, resumeBroker, startBroker, stopBroker } from '../kafka/fixture';
import { freePort } from '../helpers/ports';
import { consumeAll } from '../helpers/kafka';
import {
  eventgate,
  replayReport,
  makeEvents,
  parse,
  postEvents,
  request,
  spooledInts,
  startKafkaService,
  TEST_SCHEMA,
  type KafkaService,
  type TestEvent,
} from '../helpers/kafka-service';
import { spooled, spoolHolding } from '../helpers/spool';

const STREAM = 'test.event';
const PRODUCE_TIMEOUT_MS = 3000;
/** How late past kafka.produce_timeout_ms an answer may come (spooling, a loaded CI machine). */
const SLACK_MS = 5000;
const KAFKA_503_CODES = ['EG_ERR_KAFKA_TIMEOUT', 'EG_ERR_KAFKA_UNAVAILABLE', 'EG_ERR_KAFKA_QUEUE_FULL'];

interface ErrorItem {
  status: string;
  event: { test_int: number };
  context: { message?: string };
}

/** POSTs, checking the answer came within the produce timeout; returns it with how long it took. */
async function postTimed(svc: KafkaService, events: unknown, requestId: string, hasty = false): Promise<{ reply: Reply; ms: number }> {
  const started = Date.now();
  const reply = await postEvents(svc.port, events, requestId, { hasty, ms: PRODUCE_TIMEOUT_MS + SLACK_MS });
  return { reply, ms: Date.now() - started };
}

/**
 * The events of a non-hasty answer during an outage that were not
 * acknowledged: all of them for 503 (with Retry-After) and 500, the `error`
 * items of a 207. Each failure is a Kafka one, with a message.
 */
function unacknowledged(reply: Reply, sent: readonly TestEvent[]): number[] {
  expect([500, 503, 207], `${reply.status} ${reply.reason}`).to.include(reply.status);
  if (reply.status === 503) expect(reply.headers['retry-after'], 'Retry-After on a 503').to.match(/^\d+$/);
  const body = reply.json as { invalid: ErrorItem[]; error: ErrorItem[] };
  expect(body.invalid, 'no event is invalid').to.deep.equal([]);
  for (const item of body.error) {
    expect(item.status).to.equal('error');
    expect(item.context.message, 'an error says why').to.be.a('string').that.is.not.empty;
  }
  const failed = body.error.map((i) => i.event.test_int);
  if (reply.status !== 207) expect(failed).to.deep.equal(sent.map((e) => e.test_int));
  return failed;
}

describe('A Kafka broker stopped while the service runs', function () {
  this.timeout(90000);
  let brokerDir: string | undefined;
  let bootstrap: string;
  let svc: KafkaService | undefined;
  let dir: string;
  /** test_int of the events acknowledged before the outage. */
  const acked: number[] = [];
  /** test_int of the events the service answered as not acknowledged, or took hastily, during the outage. */
  const lost: number[] = [];

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-e2e-outage-'));
    const broker = await startBroker();
    brokerDir = broker.dir;
    bootstrap = broker.bootstrap;
    svc = await startKafkaService({
      bootstrap,
      // An event answered at the deadline is spooled once librdkafka reports
      // it undelivered, after message.timeout.ms: short here, so that the
      // spool is complete within the test rather than after librdkafka's 5 min.
      // x-request-id on each message tells which request's events a consumer reads.
      kafka: {
        produce_timeout_ms: PRODUCE_TIMEOUT_MS,
        connect_timeout_ms: 2000,
        flush_timeout_ms: 1000,
        topic_conf: { 'message.timeout.ms': 3000 },
        message_headers: ['x-request-id'],
      },
    });
  });

  after(async function () {
    await svc?.close();
    if (brokerDir) await stopBroker(brokerDir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every request within kafka.produce_timeout_ms with 503 + Retry-After (or 500/207 per event) and spools every event it did not acknowledge', async function () {
    const live = svc as KafkaService;
    const first = makeEvents(STREAM, 10, 0);
    const up = await postTimed(live, first, 'before-outage');
    expect(up.reply.status, up.reply.text).to.equal(201);
    acked.push(...first.map((e) => e.test_int));

    await haltBroker(brokerDir as string);

    const single = makeEvents(STREAM, 1, 10);
    const batch = makeEvents(STREAM, 20, 11);
    const hasty = makeEvents(STREAM, 5, 31);
    const later = makeEvents(STREAM, 10, 36);
    // Concurrent requests, as clients send them: none may wait for another.
    const [a, b, h] = await Promise.all([
      postTimed(live, single[0], 'outage-single'),
      postTimed(live, batch, 'outage-batch'),
      postTimed(live, hasty, 'outage-hasty', true),
    ]);
    // And one after the producers have had time to see the brokers are down.
    const c = await postTimed(live, later, 'outage-later');

    for (const { reply, ms } of [a, b, c]) {
      expect(ms, `${reply.status} came within the produce timeout`).to.be.below(PRODUCE_TIMEOUT_MS + SLACK_MS);
    }
    lost.push(...unacknowledged(a.reply, single), ...unacknowledged(b.reply, batch), ...unacknowledged(c.reply, later));
    expect(h.reply.status, h.reply.text).to.equal(202);
    expect(h.ms, 'a hasty answer does not wait for Kafka').to.be.below(PRODUCE_TIMEOUT_MS);
    lost.push(...hasty.map((e) => e.test_int));
    // With the broker down nothing can have been acknowledged: every event must be answered as failed.
    expect(lost.length, 'events not acknowledged').to.equal(single.length + batch.length + hasty.length + later.length);
    const ready = await request(live.port, { path: '/readyz' });
    expect(ready.status, 'not ready while the brokers are down').to.equal(503);
    expect((ready.json as { reason?: string }).reason).to.match(/all brokers are down/);

    // The hasty events are spooled once their own timeout passes.
    const entries = await spoolHolding(live.spoolPath, lost.length, PRODUCE_TIMEOUT_MS + 10000);
    expect(spooledInts(entries), 'the spool holds exactly the unacknowledged events').to.deep.equal([...lost].sort((x, y) => x - y));
    for (const e of entries) {
      expect(e.topic).to.equal(live.topic(STREAM));
      expect(e.stream).to.equal(STREAM);
      // Refused at once (503 codes), or answered at the deadline and then reported undelivered by librdkafka.
      if (e.error.code === 'EG_ERR_KAFKA_DELIVERY') expect(e.error.message).to.match(/timed out/i);
      else expect(KAFKA_503_CODES, e.error.message).to.include(e.error.code);
      const event = e.event as TestEvent;
      // Spooled as validated: enrichment and defaults applied, ready to produce as is.
      expect(event.$schema).to.equal(TEST_SCHEMA);
      expect(event.meta.id).to.be.a('string');
      expect(e.timestamp).to.equal(Date.parse(event.meta.dt as string));
      expect(event.test).to.be.a('string');
    }
  });

  it('`eventgate replay` puts every spooled event into the topic once the broker is back, without touching the spool', async function () {
    const live = svc as KafkaService;
    expect(lost, 'the outage test spooled events').to.not.be.empty;
    await resumeBroker(brokerDir as string);
    const spool = readFileSync(live.spoolPath, 'utf8');
    const entries = await spooled(live.spoolPath);

    const config = join(dir, 'replay.yaml');
    // JSON is YAML: the config of the running service, as an operator would write it.
    writeFileSync(
      config,
      JSON.stringify({
        logging: { level: 'warn' },
        services: [
          {
            name: 'eventgate',
            conf: {
              schema_base_uris: [join(ROOT, 'schemas')],
              schema_file_extension: '.yaml',
              topic_prefix: live.prefix,
              failed_events_path: live.spoolPath,
              kafka: { conf: { 'metadata.broker.list': bootstrap, 'log_level': 3 }, produce_timeout_ms: 10000, message_headers: ['x-request-id'] },
            },
          },
        ],
      }),
    );
    const replay = eventgate(['replay', live.spoolPath, '-c', config]);
    const exit = await replay.exited(45000);
    expect(exit.code, exit.stderr + exit.stdout).to.equal(0);
    const report = replayReport(exit);
    expect(report).to.deep.equal({ file: live.spoolPath, read: lost.length, produced: lost.length, invalid: 0, failed: 0, skipped_lines: 0 });

    // The spool was only read, and no file of failures was written.
    expect(readFileSync(live.spoolPath, 'utf8')).to.equal(spool);
    expect(readdirSync(join(live.spoolPath, '..'))).to.deep.equal([basename(live.spoolPath)]);

    // The service has recovered too: a last event through it closes the topic's contents.
    await until(async () => (await request(live.port, { path: '/readyz' })).status === 200, 20000, 'the service ready again');
    const sentinel = makeEvents(STREAM, 1, 1000);
    const s = await postEvents(live.port, sentinel, 'after-outage');
    expect(s.status, s.text).to.equal(201);

    const total = acked.length + lost.length + 1;
    const messages = await consumeAll(live.topic(STREAM), total, 30000, bootstrap);
    const ints = messages.map((m) => parse(m).test_int as number);
    expect(ints.slice(0, acked.length), 'what was acknowledged before the outage').to.deep.equal(acked);
    expect(ints[total - 1], 'the last message is the sentinel').to.equal(1000);
    const replayed = messages.slice(acked.length, total - 1);
    expect(replayed.map((m) => parse(m).test_int as number).sort((x, y) => x - y), 'each spooled event, once').to.deep.equal(
      [...lost].sort((x, y) => x - y),
    );
    const byInt = new Map(entries.map((e) => [(e.event as TestEvent).test_int, e]));
    for (const m of replayed) {
      const got = parse(m);
      const entry = byInt.get(got.test_int as number);
      expect(got, `replayed event ${String(got.test_int)}`).to.deep.equal(entry?.event);
      expect(m.timestamp).to.equal(entry?.timestamp);
      expect(m.headers).to.have.property('x-request-id').that.matches(/^replay-/);
    }
  });
});

describe('A Kafka broker that was never started', function () {
  this.timeout(60000);
  let svc: KafkaService | undefined;

  before(async function () {
    const port = await freePort();
    svc = await startKafkaService({
      bootstrap: `127.0.0.1:${port}`,
      ready: false,
      kafka: { produce_timeout_ms: PRODUCE_TIMEOUT_MS, connect_timeout_ms: 1000, flush_timeout_ms: 500 },
    });
  });

  after(async function () {
    await svc?.close();
  });

  it('answers /healthz 200 and /readyz 503 with the reason', async function () {
    const live = svc as KafkaService;
    const health = await request(live.port, { path: '/healthz' });
    expect(health.status).to.equal(200);
    expect(health.json).to.deep.equal({ status: 'ok' });
    const ready = await request(live.port, { path: '/readyz' });
    expect(ready.status).to.equal(503);
    expect(ready.json).to.deep.include({ status: 'not ready', code: 'EG_ERR_NOT_READY' });
    expect((ready.json as { reason: string }).reason).to.match(/kafka-(guaranteed|hasty) producer (is connecting|cannot connect)/);
  });

  it('answers POSTs 503 with Retry-After within kafka.produce_timeout_ms and spools their events', async function () {
    const live = svc as KafkaService;
    const single = makeEvents(STREAM, 1, 0);
    const batch = makeEvents(STREAM, 10, 1);
    for (const [events, posted] of [
      [single, single[0]],
      [batch, batch],
    ] as const) {
      const { reply, ms } = await postTimed(live, posted, `never-${events.length}`);
      expect(ms).to.be.below(PRODUCE_TIMEOUT_MS + SLACK_MS);
      expect(reply.status, reply.text).to.equal(503);
      expect(reply.reason).to.equal(`${events.length} out of ${events.length} events had failures and were not accepted. (0 invalid and ${events.length} errored).`);
      expect(reply.headers['retry-after']).to.match(/^\d+$/);
      const body = reply.json as { invalid: ErrorItem[]; error: ErrorItem[] };
      expect(body.error.map((i) => i.event.test_int)).to.deep.equal(events.map((e) => e.test_int));
    }
    const entries = await spoolHolding(live.spoolPath, 11, 5000);
    expect(spooledInts(entries)).to.deep.equal([...single, ...batch].map((e) => e.test_int));
    expect(entries.map((e) => e.topic)).to.deep.equal(Array(11).fill(live.topic(STREAM)));
  });

  it('answers 503 with Retry-After when nothing went in for want of Kafka, invalid events beside, each item with its code, and spools only the valid ones', async function () {
    const live = svc as KafkaService;
    const earlier = (await spooled(live.spoolPath)).length;
    const valid = makeEvents(STREAM, 1, 100)[0];
    const invalid = { $schema: TEST_SCHEMA, meta: { stream: STREAM }, test_int: 'x' };
    const { reply } = await postTimed(live, [valid, invalid], 'never-mixed');
    expect(reply.status, reply.text).to.equal(503);
    expect(reply.reason).to.equal('2 out of 2 events had failures and were not accepted. (1 invalid and 1 errored).');
    expect(reply.headers['retry-after']).to.equal('5');
    const body = reply.json as { invalid: { context: { code: string } }[]; error: { context: { code: string } }[] };
    expect(body.invalid.map((i) => i.context.code)).to.deep.equal(['EG_ERR_EVENT_INVALID']);
    expect(body.error.map((i) => i.context.code)).to.deep.equal(['EG_ERR_KAFKA_UNAVAILABLE']);
    const entries = await spoolHolding(live.spoolPath, earlier + 1, 5000);
    expect(entries.slice(earlier).map((e) => (e.event as TestEvent).test_int)).to.deep.equal([100]);
  });
});
