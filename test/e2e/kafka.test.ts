/**
 * End to end over HTTP against the real broker of test/kafka/fixture.ts:
 * what a client POSTs is what a Kafka consumer reads, in guaranteed and hasty
 * mode, and invalid events end up as error events, not in their stream.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumeAll } from '../helpers/kafka';
import {
  ERROR_SCHEMA,
  expectContains,
  expectDelivered,
  makeEvents,
  parse,
  postEvents,
  startKafkaService,
  TEST_SCHEMA,
  UUID,
  type KafkaService,
  type Sent,
} from '../helpers/kafka-service';

const STREAM = 'test.event';

describe('POST /v1/events with Kafka', function () {
  this.timeout(60000);
  let svc: KafkaService | undefined;

  afterEach(async function () {
    await svc?.close();
    svc = undefined;
  });

  it('answers 201 to single events only once Kafka holds each as posted, with defaults, enrichment, timestamp and headers', async function () {
    svc = await startKafkaService();
    const sent: Sent[] = [];
    // Events 0..2 cover the three shapes of makeEvents: nothing, only dt, both id and dt given.
    for (const event of makeEvents(STREAM, 3)) {
      const requestId = `single-${event.test_int}`;
      const from = Date.now();
      const r = await postEvents(svc.port, event, requestId);
      expect(r.status, r.text).to.equal(201);
      expect(r.reason).to.equal('All 1 out of 1 events were accepted.');
      expect(r.headers['x-request-id']).to.equal(requestId);
      sent.push({ event, requestId, from, to: Date.now() });
    }
    expectDelivered(await consumeAll(svc.topic(STREAM), sent.length), sent);
  });

  for (const n of [1, 100, 5000]) {
    it(`answers 201 to a batch of ${n} and Kafka holds every event of it, in order`, async function () {
      svc = await startKafkaService();
      const events = makeEvents(STREAM, n);
      const requestId = `batch-${n}`;
      const from = Date.now();
      const r = await postEvents(svc.port, events, requestId, { ms: 30000 });
      expect(r.status, r.text).to.equal(201);
      expect(r.reason).to.equal(`All ${n} out of ${n} events were accepted.`);
      const to = Date.now();
      const messages = await consumeAll(svc.topic(STREAM), n);
      expectDelivered(
        messages,
        events.map((event) => ({ event, requestId, from, to })),
      );
    });
  }

  it('keys each message by the stream config message_key_fields', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'eventgate-e2e-streams-'));
    try {
      const streamConfig = join(dir, 'streams.json');
      writeFileSync(streamConfig, JSON.stringify({ [STREAM]: { schema_title: 'test/event', message_key_fields: { id: 'meta.id', n: 'test_int' } } }));
      svc = await startKafkaService({ conf: { stream_config_uri: streamConfig } });
      const events = makeEvents(STREAM, 6);
      const r = await postEvents(svc.port, events, 'keyed');
      expect(r.status, r.text).to.equal(201);
      const messages = await consumeAll(svc.topic(STREAM), events.length);
      expect(messages.map((m) => parse(m).test_int)).to.deep.equal(events.map((e) => e.test_int));
      for (const m of messages) {
        const got = parse(m) as { meta: { id: string }; test_int: number };
        expect(m.key?.toString('utf8'), `key of event ${got.test_int}`).to.equal(JSON.stringify({ id: got.meta.id, n: got.test_int }));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers 202 to ?hasty=true, and the events then arrive in Kafka', async function () {
    svc = await startKafkaService();
    const events = makeEvents(STREAM, 50);
    const from = Date.now();
    const r = await postEvents(svc.port, events, 'hasty-1', { hasty: true });
    expect(r.status, r.text).to.equal(202);
    expect(r.reason).to.equal('50 events hastily received.');
    const messages = await consumeAll(svc.topic(STREAM), events.length);
    // Enrichment runs after the answer: an enriched meta.dt lies between the request and the consume.
    expectDelivered(
      messages,
      events.map((event) => ({ event, requestId: 'hasty-1', from, to: Date.now() })),
    );
  });
});

describe('Invalid events with Kafka and an error_stream', function () {
  this.timeout(60000);
  const ERROR_STREAM = 'eventgate.error.validation';
  let svc: KafkaService | undefined;

  afterEach(async function () {
    await svc?.close();
    svc = undefined;
  });

  it('answers 400, puts nothing in the stream topic and one error event per invalid event in the error topic', async function () {
    // x-request-id on each message ties an error event to its request.
    svc = await startKafkaService({ conf: { error_stream: ERROR_STREAM }, kafka: { message_headers: ['x-request-id'] } });
    const invalid: Record<string, unknown>[] = [
      { $schema: TEST_SCHEMA, meta: { stream: STREAM, id: 'bad-int' }, test_int: 'not an integer' },
      { $schema: TEST_SCHEMA, meta: { stream: STREAM, id: 'bad-test' }, test: 5, test_int: 1 },
      { $schema: TEST_SCHEMA, meta: { id: 'no-stream' }, test_int: 2 },
      { meta: { stream: STREAM, id: 'no-schema' }, test_int: 3 },
    ];
    const sentAs = invalid.map((e) => JSON.stringify(e));
    const from = Date.now();
    const r = await postEvents(svc.port, invalid, 'invalid-1');
    expect(r.status, r.text).to.equal(400);
    expect(r.reason).to.equal('4 out of 4 events were invalid and not accepted.');
    const body = r.json as { invalid: { event: unknown; context: { errorsText: string } }[] };
    expect(body.invalid).to.have.length(4);

    // A later invalid event: its error event coming right after the four shows there is one each, no more.
    const sentinel = { $schema: TEST_SCHEMA, meta: { stream: STREAM, id: 'sentinel' }, test_int: 1.5 };
    const s = await postEvents(svc.port, sentinel, 'invalid-sentinel');
    expect(s.status, s.text).to.equal(400);

    const errors = await consumeAll(svc.topic(ERROR_STREAM), 5);
    const got = errors.map((m) => parse(m) as Record<string, unknown> & { meta: Record<string, unknown> });
    const rawIds = got.map((e) => (JSON.parse(e.raw_event as string) as { meta: { id: string } }).meta.id);
    expect(rawIds).to.deep.equal(['bad-int', 'bad-test', 'no-stream', 'no-schema', 'sentinel']);
    expect(errors[4].headers['x-request-id']).to.equal('invalid-sentinel');
    got.slice(0, 4).forEach((e, i) => {
      const item = body.invalid[i];
      expect(e.$schema).to.equal(ERROR_SCHEMA);
      expect(e.meta.stream).to.equal(ERROR_STREAM);
      expect(e.meta.id).to.be.a('string').that.matches(UUID);
      expect(Date.parse(e.meta.dt as string)).to.be.within(from, Date.now());
      expect(Date.parse(e.dt as string)).to.be.within(from, Date.now());
      expect(e.emitter_id).to.equal('eventgate');
      // The raw event is the client's event (plus what eventgate filled in before validating).
      const raw = JSON.parse(e.raw_event as string) as Record<string, unknown>;
      expectContains(raw, JSON.parse(sentAs[i]), `raw_event ${i}`);
      expect(raw).to.deep.equal(item.event);
      expect(e.message).to.equal(item.context.errorsText).and.not.equal('');
      expect(e.errored_schema_uri).to.equal(i === 3 ? '' : TEST_SCHEMA);
      expect(e.error_code).to.equal(i === 3 ? 'EG_ERR_SCHEMA_URI_MISSING' : 'EG_ERR_EVENT_INVALID');
      expect(e.errored_stream_name).to.equal(i === 2 ? '' : STREAM);
      expect(errors[i].headers).to.deep.equal({ 'x-request-id': 'invalid-1' });
    });
    expect(got[0].message).to.match(/test_int must be integer/);
    expect(got[1].message).to.match(/test must be string/);
    expect(got[2].message).to.match(/required property 'stream'/);
    expect(got[3].message).to.equal('Event has no schema URI in $schema.');

    // Then a valid event: the first and only message of the stream topic.
    const valid = makeEvents(STREAM, 1, 7);
    const v = await postEvents(svc.port, valid, 'valid-sentinel');
    expect(v.status, v.text).to.equal(201);
    const stream = await consumeAll(svc.topic(STREAM), 1);
    expect(stream[0].offset).to.equal(0);
    expect(parse(stream[0]).test_int).to.equal(7);
  });
});
