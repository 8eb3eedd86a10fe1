/**
 * The prepare step on its own (lib/pipeline/prepare.ts), inline: what a
 * batch holds before the sink sees it, synchronous on the hot path, and
 * faults kept apart from verdicts.
 */
import { expect } from 'chai';
import { validateConfig } from '../../lib/config/load';
import { EventGateError } from '../../lib/errors';
import { eventLimitsOf } from '../../lib/event/scan';
import { buildValidator } from '../../lib/gate/build';
import { errorEventOptionsOf } from '../../lib/gate/error-events';
import type { EventValidator, Validated } from '../../lib/gate/validate';
import { silentLogger } from '../../lib/log';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { prepareBody, prepareEvents, ValidationFault, type PrepareDeps, type PreparedBatch } from '../../lib/pipeline/prepare';
import { ROOT } from '../helpers/paths';

const SCHEMA = '/test/event/1.0.0';
const DT = new Date(Date.now() - 60_000).toISOString();
const valid = (n: number) => ({ $schema: SCHEMA, meta: { stream: 'test.event', id: `e-${n}`, dt: DT }, n });
const invalid = { $schema: SCHEMA, meta: { stream: 'test.event', id: 'bad', dt: DT }, test: 42 };

async function depsFor(conf: Record<string, unknown> = {}): Promise<PrepareDeps> {
  const config = validateConfig({ services: [{ conf: { schema_base_uris: ['./schemas'], schema_file_extension: '.yaml', topic_prefix: 'dc1.', ...conf } }] });
  const c = config.services[0].conf;
  const { validator, schemas } = buildValidator(c, ROOT, { log: silentLogger(), metrics: new MemoryMetrics() });
  await schemas.precache([SCHEMA, '/error/1.0.0']);
  return { validator, log: silentLogger(), limits: eventLimitsOf(c), errorEvents: errorEventOptionsOf(c), maxAnswerBytes: c.max_answer_bytes };
}

/** A validator whose calls answer in turn with these (a throw, a rejection, or the real validator's answer). */
function scripted(real: EventValidator, script: ('throw' | 'reject' | 'real')[]): EventValidator {
  let call = 0;
  return {
    validate(events: readonly unknown[]): Validated | Promise<Validated> {
      const step = script[call++] ?? 'real';
      if (step === 'throw') throw new RangeError('Maximum call stack size exceeded');
      if (step === 'reject') return Promise.reject(new EventGateError('EG_ERR_SCHEMA_FETCH'));
      return real.validate(events);
    },
  } as EventValidator;
}

describe('prepareEvents', () => {
  let deps: PrepareDeps;
  before(async () => {
    deps = await depsFor({ error_stream: 'eventgate.error' });
  });

  it('is synchronous when every schema is cached, and packs an all-accepted answer without a body', () => {
    const prepared = prepareEvents([valid(1)], { headers: {} }, deps);
    expect(prepared).not.to.be.instanceOf(Promise);
    const p = prepared as PreparedBatch;
    expect(p.count).to.equal(1);
    expect(p.outbound).to.have.length(1);
    expect(p.answer).to.include({ status: 201, bodyLength: -1 });
    expect(p.counts).to.deep.equal([['test.event', { received: 1, accepted: 1, invalid: 0, error: 0 }]]);
    expect(p.errorEvents).to.equal(undefined);
  });

  it('counts, answers and makes error events as if the sink takes every valid event, and keeps the results inline', async () => {
    const p = await prepareEvents([valid(1), invalid, valid(2)], { headers: {} }, deps);
    expect(Array.from(p.outboundIndex)).to.deep.equal([0, 2]);
    expect(p.counts).to.deep.equal([['test.event', { received: 3, accepted: 2, invalid: 1, error: 0 }]]);
    expect(p.answer).to.include({ status: 207, failed: 1, invalid: 1 });
    expect(p.errorEvents?.made).to.equal(1);
    expect(p.errorEvents?.outbound.map((o) => o.stream)).to.deep.equal(['eventgate.error']);
    expect(p.results?.map((r) => r.status)).to.deep.equal(['accepted', 'invalid', 'accepted']);
  });

  it('gives each outbound event the Kafka timestamp it is given, not one from its event time', async () => {
    const p = await prepareEvents([valid(1), invalid, valid(2)], { headers: {} }, deps, { timestamps: [111, 222, null] });
    expect(p.outbound.map((o) => o.timestamp)).to.deep.equal([111, undefined]);
  });

  it('tells a body holding no event by the items the client sent, even where query enrichment fills an empty one', async () => {
    const withQuery = await depsFor({ schema_uri_query_param: 'schema', stream_query_param: 'stream' });
    const query = new URLSearchParams({ schema: SCHEMA, stream: 'test.event' });
    expect((await prepareEvents([valid(1), {}], { headers: {}, query }, withQuery)).holdsNonEvent).to.equal(true);
    expect((await prepareEvents([valid(1), null], { headers: {} }, deps)).holdsNonEvent).to.equal(true);
    expect((await prepareEvents([valid(1), invalid], { headers: {} }, deps)).holdsNonEvent).to.equal(false);
  });

  it('throws a ValidationFault, no EventGateError, when validation throws, and rejects with one when it rejects', async () => {
    const thrown = (() => {
      try {
        void prepareEvents([valid(1)], { headers: {} }, { ...deps, validator: scripted(deps.validator, ['throw']) });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(thrown).to.be.instanceOf(ValidationFault).and.not.be.instanceOf(EventGateError);
    expect(thrown).to.have.property('code', 'EG_ERR_INTERNAL');
    const rejected = await Promise.resolve(prepareEvents([valid(1)], { headers: {} }, { ...deps, validator: scripted(deps.validator, ['reject']) })).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(rejected).to.be.instanceOf(ValidationFault).and.not.be.instanceOf(EventGateError);
    expect(rejected).to.have.property('code', 'EG_ERR_SCHEMA_FETCH');
  });

  it('fails only the error events when validating them throws: the batch is prepared, its error events all failed', async () => {
    const p = await prepareEvents([valid(1), invalid], { headers: {} }, { ...deps, validator: scripted(deps.validator, ['real', 'throw']) });
    expect(p.answer).to.include({ status: 207 });
    expect(p.outbound).to.have.length(1);
    expect(p.errorEvents).to.deep.include({ made: 1, outbound: [] });
    expect(p.errorEvents?.firstInvalid).to.deep.include({ status: 'error', code: 'EG_ERR_INTERNAL' });
  });
});

describe('prepareBody', () => {
  it("throws the body's refusal as an EventGateError, before any validation", async () => {
    const deps = await depsFor();
    for (const [body, code] of [
      ['  ', 'EG_ERR_BODY_EMPTY'],
      ['[1,', 'EG_ERR_BODY_MALFORMED'],
    ]) {
      expect(() => prepareBody(Buffer.from(body), { headers: {} }, { ...deps, validator: scripted(deps.validator, ['throw']) }))
        .to.throw(EventGateError)
        .with.property('code', code);
    }
  });
});
