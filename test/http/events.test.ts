import { expect } from 'chai';
import { post } from '../helpers/http';
import { freePort } from '../helpers/ports';
import { startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';

const SCHEMA = '/test/event/1.0.0';

function event(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { $schema: SCHEMA, meta: { stream: 'test.event', dt: '2026-01-01T00:00:00.000Z', id: `id-${n}` }, n, ...extra };
}

/** Fails validation of the bundled test schema: meta.stream is required. */
function invalidEvent(n: number): Record<string, unknown> {
  return { $schema: SCHEMA, meta: { dt: '2026-01-01T00:00:00.000Z' }, n };
}

interface Item {
  status: string;
  event: Record<string, unknown>;
  context: { errors?: unknown[]; errorsText?: string; message?: string };
}

describe('POST /v1/events', () => {
  let svc: TestService;
  // A schema base that refuses connections: schemas only it could have are `error`.
  let deadBase: string;

  before(async () => {
    deadBase = `http://127.0.0.1:${await freePort()}/`;
    svc = await startTestService({ schema_base_uris: ['./schemas', deadBase], schema_negative_cache_ttl_ms: 0 });
  });
  after(() => svc.close());

  it('answers 201 with EventGate reason phrase and no body when every event is accepted', async () => {
    const r = await post(svc.port, [event(1), event(2)]);
    expect(r.status).to.equal(201);
    expect(r.reason).to.equal('All 2 out of 2 events were accepted.');
    expect(r.text).to.equal('');
  });

  it('takes a single event object as a batch of one', async () => {
    const r = await post(svc.port, event(1));
    expect(r.status).to.equal(201);
    expect(r.reason).to.equal('All 1 out of 1 events were accepted.');
  });

  it('answers 400 with every invalid event, its ajv errors and errorsText when all are invalid', async () => {
    const r = await post(svc.port, [invalidEvent(1), invalidEvent(2)]);
    expect(r.status).to.equal(400);
    expect(r.reason).to.equal('2 out of 2 events were invalid and not accepted.');
    const body = r.json as { invalid: Item[]; error?: Item[] };
    expect(body.invalid).to.have.length(2);
    expect(body.invalid.map((i) => i.event.n)).to.deep.equal([1, 2]);
    for (const item of body.invalid) {
      expect(item.status).to.equal('invalid');
      expect(item.context.errors).to.be.an('array').that.is.not.empty;
      expect(item.context.errorsText).to.match(/stream/);
    }
  });

  it('answers 207 with invalid and error arrays in input order for a mixed batch', async () => {
    const unknownSchema = { $schema: '/no/such/schema/1.0.0', meta: { stream: 'test.event' }, n: 4 };
    const r = await post(svc.port, [event(0), invalidEvent(1), event(2), unknownSchema, invalidEvent(5)]);
    expect(r.status).to.equal(207);
    expect(r.reason).to.equal('2 out of 5 events were accepted, but 3 failed (2 invalid and 1 errored).');
    const body = r.json as { invalid: Item[]; error: Item[] };
    expect(body.invalid.map((i) => i.event.n)).to.deep.equal([1, 5]);
    expect(body.error.map((i) => i.event.n)).to.deep.equal([4]);
    expect(body.error[0].status).to.equal('error');
    expect(body.error[0].context.message).to.contain('/no/such/schema/1.0.0');
  });

  it('answers 500 when nothing was accepted and some events errored', async () => {
    const unknownSchema = { $schema: '/no/such/schema/2.0.0', meta: { stream: 'test.event' }, n: 1 };
    const r = await post(svc.port, [unknownSchema, invalidEvent(2)]);
    expect(r.status).to.equal(500);
    expect(r.reason).to.equal('2 out of 2 events had failures and were not accepted. (1 invalid and 1 errored).');
    const body = r.json as { invalid: Item[]; error: Item[] };
    expect(body.invalid).to.have.length(1);
    expect(body.error).to.have.length(1);
  });

  it('refuses an event without a schema URI as invalid, saying which field is missing', async () => {
    const r = await post(svc.port, [{ meta: { stream: 'test.event' } }]);
    expect(r.status).to.equal(400);
    const item = (r.json as { invalid: Item[] }).invalid[0];
    expect(item.context.errorsText).to.equal('Event has no schema URI in $schema.');
  });

  it('refuses an array element that is not an object as invalid', async () => {
    const r = await post(svc.port, [event(1), 'not an event', 7]);
    expect(r.status).to.equal(207);
    expect((r.json as { invalid: Item[] }).invalid.map((i) => i.context.errorsText)).to.deep.equal([
      'Event must be a JSON object.',
      'Event must be a JSON object.',
    ]);
  });

  it('refuses a number that does not fit a double instead of writing null', async () => {
    const before = svc.written().length;
    const r = await post(svc.port, `[${JSON.stringify(event(1)).replace(/}$/, ',"big":1e400}')}]`);
    expect(r.status).to.equal(400);
    expect((r.json as { invalid: Item[] }).invalid[0].context.errorsText).to.equal('Event holds a number that does not fit a double.');
    expect(svc.written()).to.have.length(before);
  });

  it('answers 202 at once for hasty=true and still produces the events', async () => {
    const marker = `hasty-${Date.now()}`;
    const r = await post(svc.port, [event(1, { marker }), event(2, { marker })], '/v1/events?hasty=true');
    expect(r.status).to.equal(202);
    expect(r.reason).to.equal('2 events hastily received.');
    await until(() => svc.written().filter((e) => (e as { marker?: string }).marker === marker).length === 2, 5000, 'hasty events');
  });

  it('treats hasty=1 as hasty and hasty=false or hasty=0 as not hasty', async () => {
    expect((await post(svc.port, [event(1)], '/v1/events?hasty=1')).status).to.equal(202);
    expect((await post(svc.port, [event(1)], '/v1/events?hasty=false')).status).to.equal(201);
    expect((await post(svc.port, [event(1)], '/v1/events?hasty=0')).status).to.equal(201);
  });

  it('keeps __proto__ keys as data and pollutes no prototype', async () => {
    const sent = event(1, { meta: { stream: 'test.event', dt: '2026-01-01T00:00:00.000Z', id: 'proto-keys' } });
    const hostile = `[${JSON.stringify(sent).replace(/}$/, ',"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}')}]`;
    const r = await post(svc.port, hostile);
    expect(r.status, r.text).to.equal(201);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    expect(Object.prototype).to.not.have.property('polluted');
    // What was written holds both keys as plain data, the way they were sent.
    const written = (svc.written() as Record<string, unknown>[]).filter((e) => (e.meta as { id?: string }).id === 'proto-keys');
    expect(written).to.have.length(1);
    const [got] = written;
    expect(Object.getPrototypeOf(got)).to.equal(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(got, '__proto__')?.value).to.deep.equal({ polluted: 'yes' });
    expect(got.constructor).to.deep.equal({ prototype: { polluted: 'yes' } });
    expect(got.n).to.equal(1);
  });

  it('counts events per stream and requests per route and status in the metrics', async () => {
    const accepted = svc.metrics.counter('events.accepted', { stream: 'test.event' });
    const invalid = svc.metrics.counter('events.invalid', { stream: 'unknown' });
    await post(svc.port, [event(1), event(2), invalidEvent(3)]);
    expect(svc.metrics.counter('events.accepted', { stream: 'test.event' })).to.equal(accepted + 2);
    expect(svc.metrics.counter('events.invalid', { stream: 'unknown' })).to.equal(invalid + 1);
    const timings = svc.metrics.timings.get('http.request{method=POST,route=/v1/events,status=207}');
    expect(timings).to.be.an('array').that.is.not.empty;
  });
});

describe('POST /v1/events file sink output', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(() => svc.close());

  it('writes exactly the accepted events, with schema defaults filled in, and nothing else', async () => {
    const batch = [event(1), invalidEvent(2), event(3), event(4)];
    const r = await post(svc.port, batch);
    expect(r.status).to.equal(207);
    const written = svc.written() as Record<string, unknown>[];
    expect(written.map((e) => e.n)).to.deep.equal([1, 3, 4]);
    for (const [i, n] of [1, 3, 4].entries()) {
      // The bundled schema gives `test` a default; meta.request_id is the id the answer carries.
      const e = event(n);
      expect(written[i]).to.deep.equal({ ...e, meta: { ...(e.meta as object), request_id: r.headers['x-request-id'] }, test: 'default value' });
    }
  });
});

describe('error events', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService({ error_stream: 'eventgate.error.validation', service_name: 'eventgate-test' });
  });
  after(() => svc.close());

  it('writes one valid error event per invalid event to error_stream, and none for valid ones', async () => {
    const r = await post(svc.port, [invalidEvent(1), event(2), { $schema: SCHEMA, meta: { stream: 'test.event' }, test: 42 }]);
    expect(r.status).to.equal(207);
    const errorEvents = () => (svc.written() as Record<string, unknown>[]).filter((e) => (e.meta as { stream?: string }).stream === 'eventgate.error.validation');
    await until(() => errorEvents().length === 2, 5000, 'two error events');
    const [first, second] = errorEvents();
    expect(first).to.include({ $schema: '/error/1.0.0', emitter_id: 'eventgate-test', errored_schema_uri: SCHEMA, error_code: 'EG_ERR_EVENT_INVALID' });
    expect(JSON.parse(first.raw_event as string)).to.include({ n: 1 });
    expect(first.message).to.match(/stream/);
    expect(first.errored_stream_name).to.equal('');
    expect(second.errored_stream_name).to.equal('test.event');
    expect(second.message).to.equal('data/test must be string');
    expect(svc.metrics.counter('error_events.produced')).to.equal(2);
    expect(svc.metrics.counter('error_events.failed')).to.equal(0);
  });
});
