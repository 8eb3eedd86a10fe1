/**
 * The validator on its own (lib/gate/validate.ts), with the bundled schemas:
 * one typed result per event, the serialized valid events, and the Kafka
 * timestamp, without HTTP.
 */
import { expect } from 'chai';
import { validateConfig } from '../../lib/config/load';
import { buildValidator } from '../../lib/gate/build';
import type { EventValidator, RequestInfo, Validated } from '../../lib/gate/validate';
import { silentLogger } from '../../lib/log';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { ROOT } from '../helpers/paths';

const SCHEMA = '/test/event/1.0.0';
const REQUEST = { headers: { 'x-request-id': 'rq-1', 'user-agent': 'unit/1.0' } };

function validator(conf: Record<string, unknown> = {}): EventValidator {
  const config = validateConfig({ services: [{ conf: { schema_base_uris: ['./schemas'], schema_file_extension: '.yaml', topic_prefix: 'dc1.', ...conf } }] });
  return buildValidator(config.services[0].conf, ROOT, { log: silentLogger(), metrics: new MemoryMetrics() }).validator;
}

const validate = async (v: EventValidator, events: unknown[], request: RequestInfo = REQUEST): Promise<Validated> => v.validate(events, request);

describe('EventValidator', () => {
  const v = validator();

  it('accepts a valid event and serializes it, defaults and enrichment filled, for the topic of its stream', async () => {
    const dt = new Date(Date.now() - 60_000).toISOString();
    const out = await validate(v, [{ $schema: SCHEMA, meta: { stream: 'test.event', dt, id: 'e-1' } }]);
    expect(out.results).to.deep.equal([{ status: 'accepted' }]);
    expect(out.outboundIndex).to.deep.equal([0]);
    const [o] = out.outbound;
    expect(o.topic).to.equal('dc1.test.event');
    expect(o.stream).to.equal('test.event');
    expect(o.timestamp).to.equal(Date.parse(dt));
    const value = JSON.parse(String(o.value)) as { test?: string; meta: Record<string, string>; http?: unknown };
    expect(value.test).to.equal('default value');
    expect(value.meta).to.include({ id: 'e-1', dt, request_id: 'rq-1' });
  });

  it('answers each failing event with its own code, in input order, and keeps the valid ones between them', async () => {
    const events = [
      { $schema: SCHEMA, meta: {} },
      'not an object',
      { meta: { stream: 'test.event' } },
      { $schema: '/no/such/schema/1.0.0', meta: { stream: 'test.event' } },
      { $schema: SCHEMA, meta: { stream: 'test.event' } },
      { $schema: SCHEMA, meta: { stream: 'test.event' }, big: Infinity },
    ];
    const out = await validate(v, events);
    const codes = out.results.map((r) => (r.status === 'accepted' ? 'accepted' : r.code));
    expect(codes).to.deep.equal([
      'EG_ERR_EVENT_INVALID',
      'EG_ERR_EVENT_NOT_OBJECT',
      'EG_ERR_SCHEMA_URI_MISSING',
      'EG_ERR_SCHEMA_NOT_FOUND',
      'accepted',
      'EG_ERR_EVENT_NUMBER_RANGE',
    ]);
    expect(out.outboundIndex).to.deep.equal([4]);
    const invalid = out.results[0];
    expect(invalid.status).to.equal('invalid');
    if (invalid.status === 'invalid') {
      expect(invalid.context.errorsText).to.equal("data/meta must have required property 'stream'");
      expect(invalid.context.errors).to.have.length(1);
    }
  });

  it('refuses the events the body scan found too deep, by index', async () => {
    const out = await validate(v, [null, { $schema: SCHEMA, meta: { stream: 'test.event' } }], { ...REQUEST, tooDeep: new Set([0]) });
    expect(out.results.map((r) => (r.status === 'accepted' ? 'accepted' : r.code))).to.deep.equal(['EG_ERR_EVENT_TOO_DEEP', 'accepted']);
  });

  it('answers synchronously once every schema of the batch is cached', async () => {
    const event = { $schema: SCHEMA, meta: { stream: 'test.event' } };
    await validate(v, [event]);
    const again = v.validate([{ ...event, meta: { ...event.meta } }], REQUEST);
    expect(again).to.not.be.instanceOf(Promise);
  });

  it('takes the Kafka timestamp from meta.dt only inside the window around receipt', async () => {
    const w = validator({ timestamp_max_past_ms: 60_000, timestamp_max_future_ms: 1000 });
    const from = Date.now();
    const dts = [new Date(from - 30_000), new Date(from - 3_600_000), new Date(from + 3_600_000)].map((d) => d.toISOString());
    const out = await validate(w, dts.map((dt) => ({ $schema: SCHEMA, meta: { stream: 'test.event', dt } })));
    const to = Date.now();
    const [inside, past, future] = out.outbound.map((o) => o.timestamp);
    expect(inside).to.equal(Date.parse(dts[0]));
    expect(past).to.be.within(from, to);
    expect(future).to.be.within(from, to);
    // The event itself keeps its time.
    expect((JSON.parse(String(out.outbound[2].value)) as { meta: { dt: string } }).meta.dt).to.equal(dts[2]);
  });
});
