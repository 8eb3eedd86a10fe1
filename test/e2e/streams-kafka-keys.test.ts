/**
 * Kafka message keys from message_key_fields, through the real service and
 * the real broker of test/kafka/fixture.ts: events are posted, then read
 * back from their topics. A unique topic_prefix per test keeps topics apart.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, post } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';
import { consumeAll, kafkaBootstrap, uniqueTopic, type ConsumedMessage } from '../helpers/kafka';

const STREAMS_FILE = './test/fixtures/e2e-streams/streams.yaml';
const SCHEMA = '/test/event/1.0.0';

function event(stream: string, meta: Record<string, unknown>, n: number): Record<string, unknown> {
  return { $schema: SCHEMA, meta: { stream, ...meta }, n };
}

function keyOf(m: ConsumedMessage): string | null {
  return m.key === null ? null : m.key.toString('utf8');
}

function nOf(m: ConsumedMessage): unknown {
  return (JSON.parse(m.value?.toString('utf8') ?? 'null') as { n?: unknown }).n;
}

describe('Kafka message keys from message_key_fields', function () {
  this.timeout(60000);
  let dir: string;
  let prefix: string;
  let svc: TestService;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-e2e-streams-'));
    prefix = `${uniqueTopic('e2e-streams')}.`;
    svc = await startTestService({
      service_name: 'eventgate-e2e',
      stream_config_uri: STREAMS_FILE,
      topic_prefix: prefix,
      failed_events_path: join(dir, 'failed-events.ndjson'),
      kafka: { conf: { 'metadata.broker.list': kafkaBootstrap() } },
    });
    const port = svc.port;
    await until(async () => (await call(port, { path: '/readyz' })).status === 200, 20000, 'the Kafka producers to connect');
  });

  afterEach(async () => {
    await svc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keys each message with the JSON of its message_key_fields in config order, null for a field the event lacks', async () => {
    const events = [
      event('test.keyed', { domain: 'en.wikipedia.org', id: 'id-1' }, 1),
      event('test.keyed', { id: 'id-2' }, 2),
      event('test.keyed', { id: 'id-3', domain: 'de.wikipedia.org' }, 3),
    ];
    const r = await post(svc.port, events);
    expect(r.status, r.text).to.equal(201);

    const messages = await consumeAll(`${prefix}test.keyed`, 3);
    expect(messages.map((m) => [nOf(m), keyOf(m)])).to.deep.equal([
      [1, '{"id":"id-1","domain":"en.wikipedia.org"}'],
      [2, '{"id":"id-2","domain":null}'],
      [3, '{"id":"id-3","domain":"de.wikipedia.org"}'],
    ]);
  });

  it("keys messages of a stream a /regex/ key matches with that key's fields, read from each event", async () => {
    const r = await post(svc.port, [event('test.keyed-regex.one', {}, 1), event('test.keyed-regex.two', {}, 2)]);
    expect(r.status, r.text).to.equal(201);

    const [one] = await consumeAll(`${prefix}test.keyed-regex.one`, 1);
    const [two] = await consumeAll(`${prefix}test.keyed-regex.two`, 1);
    expect(keyOf(one)).to.equal('{"stream":"test.keyed-regex.one"}');
    expect(keyOf(two)).to.equal('{"stream":"test.keyed-regex.two"}');
  });

  it('keys a field that enrichment filled: meta.id set by eventgate is in the key', async () => {
    const r = await post(svc.port, event('test.keyed', { domain: 'x.org' }, 1));
    expect(r.status, r.text).to.equal(201);

    const [m] = await consumeAll(`${prefix}test.keyed`, 1);
    const value = JSON.parse(m.value?.toString('utf8') ?? 'null') as { meta: { id: string } };
    expect(value.meta.id).to.be.a('string').that.is.not.empty;
    expect(keyOf(m)).to.equal(JSON.stringify({ id: value.meta.id, domain: 'x.org' }));
  });

  it('leaves the messages of a stream without message_key_fields unkeyed', async () => {
    const r = await post(svc.port, [event('test.unkeyed', { id: 'id-1' }, 1), event('test.unkeyed', { id: 'id-2' }, 2)]);
    expect(r.status, r.text).to.equal(201);

    const messages = await consumeAll(`${prefix}test.unkeyed`, 2);
    expect(messages.map((m) => [nOf(m), keyOf(m)])).to.deep.equal([
      [1, null],
      [2, null],
    ]);
  });

  it("produces to the first of a stream's topic_prefixes when the service's topic_prefix is not among them", async () => {
    // A stream name of its own: the topic does not carry the service's unique prefix.
    const stream = `test.prefixed.${uniqueTopic('keys')}`;
    const r = await post(svc.port, event(stream, { id: 'id-1' }, 1));
    expect(r.status, r.text).to.equal(201);

    const [m] = await consumeAll(`eqiad.${stream}`, 1);
    expect(nOf(m)).to.equal(1);
  });
});
