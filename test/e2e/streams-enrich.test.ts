/**
 * Enrichment through the real service: what eventgate fills in before
 * validation, read back from the file sink. Each field only when absent and
 * declared by the event's schema (test/event declares them all; the
 * test/fixtures/e2e-streams schemas declare some or none).
 */
import { expect } from 'chai';
import { post } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';

const STREAMS_FILE = './test/fixtures/e2e-streams/streams.yaml';
const SCHEMA_BASES = ['./schemas', './test/fixtures/e2e-streams/schemas'];
const SCHEMA = '/test/event/1.0.0';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_8601_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

interface Written {
  $schema?: string;
  meta?: { stream?: string; id?: string; dt?: string; request_id?: string };
  http?: { request_headers?: Record<string, string> };
  n?: number;
  [k: string]: unknown;
}

describe('enrichment over HTTP', () => {
  let svc: TestService;

  before(async () => {
    svc = await startTestService({
      service_name: 'eventgate-e2e',
      schema_base_uris: SCHEMA_BASES,
      stream_config_uri: STREAMS_FILE,
      schema_uri_query_param: 'schema_uri',
      stream_query_param: 'stream',
    });
  });
  after(() => svc?.close());

  /** Posts and expects every event accepted; returns what the sink wrote for them (the last `count` lines). */
  async function accepted(body: unknown, headers?: Record<string, string>, path?: string): Promise<Written[]> {
    const before = svc.written().length;
    const r = await post(svc.port, body, path, headers);
    expect(r.status, r.text).to.equal(201);
    const lines = svc.written().slice(before) as Written[];
    expect(lines).to.have.length(Array.isArray(body) ? body.length : 1);
    return lines;
  }

  it('fills an absent meta.id with a UUID and an absent meta.dt with the time of receipt in ISO 8601', async () => {
    const sent = Date.now();
    const [e] = await accepted({ $schema: SCHEMA, meta: { stream: 'test.event' }, n: 1 });
    const answered = Date.now();
    expect(e.meta?.id).to.match(UUID);
    expect(e.meta?.dt).to.match(ISO_8601_UTC);
    expect(Date.parse(e.meta?.dt ?? '')).to.be.within(sent, answered);
  });

  it('gives each event of a batch its own meta.id', async () => {
    const lines = await accepted([1, 2, 3].map((n) => ({ $schema: SCHEMA, meta: { stream: 'test.event' }, n })));
    const ids = lines.map((e) => e.meta?.id);
    ids.forEach((id) => expect(id).to.match(UUID));
    expect(new Set(ids).size).to.equal(3);
  });

  it('keeps the meta.id and meta.dt the client sent', async () => {
    const meta = { stream: 'test.event', id: 'client-chosen-id', dt: '2020-02-02T02:02:02Z' };
    const [e] = await accepted({ $schema: SCHEMA, meta, n: 2 });
    expect(e.meta).to.include(meta);
  });

  it('copies user-agent to http.request_headers.user-agent and x-request-id to meta.request_id', async () => {
    const [e] = await accepted({ $schema: SCHEMA, meta: { stream: 'test.event' }, n: 3 }, { 'user-agent': 'e2e-agent/1.0', 'x-request-id': 'req-abc-123' });
    expect(e.http?.request_headers).to.deep.equal({ 'user-agent': 'e2e-agent/1.0' });
    expect(e.meta?.request_id).to.equal('req-abc-123');
  });

  it('keeps the request header fields the client sent', async () => {
    const event = { $schema: SCHEMA, meta: { stream: 'test.event', request_id: 'from-client' }, http: { request_headers: { 'user-agent': 'from-client' } } };
    const [e] = await accepted(event, { 'user-agent': 'from-header', 'x-request-id': 'from-header' });
    expect(e.meta?.request_id).to.equal('from-client');
    expect(e.http?.request_headers).to.deep.equal({ 'user-agent': 'from-client' });
  });

  it('cuts header values to 400 characters', async () => {
    // e2e/traced allows 1000 characters in both fields: the cut is eventgate's, not the schema's.
    const [e] = await accepted({ $schema: '/e2e/traced/1.0.0', meta: { stream: 'e2e.traced' } }, { 'user-agent': 'u'.repeat(500) });
    expect(e.http?.request_headers?.['user-agent']).to.equal('u'.repeat(400));
  });

  it("fills meta.request_id with the id the answer carries when it made the id: the client sent none, or one over 200 characters", async () => {
    for (const headers of [{ 'x-request-id': 'r'.repeat(500) }, {}] as Record<string, string>[]) {
      const before = svc.written().length;
      const r = await post(svc.port, { $schema: '/e2e/traced/1.0.0', meta: { stream: 'e2e.traced' } }, undefined, headers);
      expect(r.status, r.text).to.equal(201);
      const [e] = svc.written().slice(before) as Written[];
      expect(r.headers['x-request-id']).to.match(UUID);
      expect(e.meta?.request_id).to.equal(r.headers['x-request-id']);
    }
  });

  it('fills only the fields the schema declares: request headers for e2e/traced, no meta.id or meta.dt', async () => {
    const [e] = await accepted({ $schema: '/e2e/traced/1.0.0', meta: { stream: 'e2e.traced' } }, { 'user-agent': 'agent', 'x-request-id': 'rid' });
    expect(e).to.deep.equal({
      $schema: '/e2e/traced/1.0.0',
      meta: { stream: 'e2e.traced', request_id: 'rid' },
      http: { request_headers: { 'user-agent': 'agent' } },
    });
  });

  it('adds nothing to an event whose schema declares none of the fields and forbids others, which stays valid', async () => {
    const event = { $schema: '/e2e/closed/1.0.0', meta: { stream: 'e2e.closed' }, note: 'closed schema' };
    const [e] = await accepted(event, { 'user-agent': 'agent', 'x-request-id': 'rid' });
    expect(e).to.deep.equal(event);
  });

  it('adds nothing to an event whose schema declares none of the fields but allows any', async () => {
    const event = { $schema: '/e2e/open/1.0.0', meta: { stream: 'e2e.open' }, n: 4 };
    const [e] = await accepted(event, { 'user-agent': 'agent', 'x-request-id': 'rid' });
    expect(e).to.deep.equal(event);
  });

  it('fills the schema and stream of a bare body from schema_uri_query_param and stream_query_param', async () => {
    const path = `/v1/events?schema_uri=${encodeURIComponent(SCHEMA)}&stream=test.event`;
    const [e] = await accepted([{ n: 5 }], undefined, path);
    expect(e.$schema).to.equal(SCHEMA);
    expect(e.meta?.stream).to.equal('test.event');
    // The schema the query named is the one enrichment and validation used.
    expect(e.meta?.id).to.match(UUID);
    expect(e.n).to.equal(5);
  });

  it('keeps the schema and stream in the body over those in the query string', async () => {
    const path = `/v1/events?schema_uri=${encodeURIComponent(SCHEMA)}&stream=test.event`;
    const event = { $schema: '/e2e/closed/1.0.0', meta: { stream: 'e2e.closed' } };
    const [e] = await accepted(event, undefined, path);
    expect(e).to.deep.equal(event);
  });

  it('applies the stream rules to a stream taken from the query string', async () => {
    const r = await post(svc.port, { n: 6 }, `/v1/events?schema_uri=${encodeURIComponent(SCHEMA)}&stream=test.nowhere`);
    expect(r.status).to.equal(400);
    const { invalid } = r.json as { invalid: { context: { errorsText: string } }[] };
    expect(invalid[0].context.errorsText).to.contain('"test.nowhere"');
  });
});
