/**
 * Property: for any batch of valid, invalid, deep, unknown-schema,
 * non-object, out-of-range and large events, inline and pooled answers are
 * byte-identical, and the sink holds an event if and only if the answer says
 * it was accepted (a 413 for too many events writes nothing). fast-check
 * makes the batches; a failure prints the smallest batch that breaks it.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { expectSameAnswer, startPair, type Pair } from '../helpers/batch-pair';

const LIMITS = { max_event_depth: 8, max_events_per_request: 24, max_answer_bytes: 8192 };
const KINDS = ['valid', 'large', 'invalid', 'deep', 'unknown', 'notObject', 'outOfRange'] as const;
type Kind = (typeof KINDS)[number];
const ACCEPTED_KINDS: ReadonlySet<Kind> = new Set(['valid', 'large']);
const DT = new Date(Date.now() - 60_000).toISOString();

/** The text of one event: raw, since 1e400 and deep nesting cannot come from JSON.stringify. */
function eventText(kind: Kind, id: string): string {
  const meta = (stream = true) => JSON.stringify(stream ? { stream: 'test.event', id, dt: DT } : { id, dt: DT });
  const base = (schema: string, stream = true) => `{"$schema":"${schema}","meta":${meta(stream)}`;
  switch (kind) {
    case 'valid':
      return `${base('/test/event/1.0.0')},"n":1}`;
    case 'large':
      return `${base('/test/event/1.0.0')},"padding":"${'x'.repeat(20000)}"}`;
    case 'invalid':
      return `${base('/test/event/1.0.0', false)},"n":2}`;
    case 'deep':
      return `${base('/test/event/1.0.0')},"d":${'['.repeat(12)}${']'.repeat(12)}}`;
    case 'unknown':
      return `${base('/no/such/schema/1.0.0')}}`;
    case 'notObject':
      return `["${id}"]`;
    case 'outOfRange':
      return `${base('/test/event/1.0.0')},"big":1e400}`;
  }
}

interface Item {
  event: { meta?: { id?: string } } | null;
  context: { code: string };
}

describe('answers match the sink (property)', function () {
  this.timeout(120000);
  let pair: Pair;
  before(async () => {
    pair = await startPair(LIMITS);
  });
  after(() => pair?.close());

  it('for random mixed batches, inline and pooled: same answer, and exactly the accepted events written', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 30 }), async (kinds) => {
        run++;
        const ids = kinds.map((_, i) => `p${run}-${i}`);
        const body = `[${kinds.map((k, i) => eventText(k, ids[i])).join(',')}]`;
        const before = pair.produced();
        const reply = await expectSameAnswer(pair, { body, headers: { 'x-request-id': `prop-${run}` } });
        const after = pair.produced();
        const written = {
          pool: after.pool.slice(before.pool.length),
          inline: after.inline.slice(before.inline.length),
        };
        expect(written.pool, 'both sinks got the same bytes').to.equal(written.inline);
        const writtenIds = written.pool
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => (JSON.parse(l) as { meta: { id: string } }).meta.id);
        if (kinds.length > LIMITS.max_events_per_request) {
          expect(reply.status).to.equal(413);
          expect(writtenIds).to.deep.equal([]);
          return;
        }
        const expected = ids.filter((_, i) => ACCEPTED_KINDS.has(kinds[i]));
        expect(writtenIds, 'the sink holds exactly the accepted events, in order').to.deep.equal(expected);
        const accepted = expected.length;
        const failed = kinds.length - accepted;
        if (failed === 0) {
          expect(reply.status).to.equal(201);
          return;
        }
        expect(reply.status).to.equal(accepted > 0 ? 207 : 400);
        const answer = reply.json as { invalid: Item[]; error?: Item[] };
        const items = answer.invalid;
        expect(items, 'one item per failed event').to.have.length(failed);
        expect(answer.error ?? [], 'the file sink failed nothing').to.deep.equal([]);
        const wantCodes = kinds
          .filter((k) => !ACCEPTED_KINDS.has(k))
          .map((k) => ({ invalid: 'EG_ERR_EVENT_INVALID', deep: 'EG_ERR_EVENT_TOO_DEEP', unknown: 'EG_ERR_SCHEMA_NOT_FOUND', notObject: 'EG_ERR_EVENT_NOT_OBJECT', outOfRange: 'EG_ERR_EVENT_NUMBER_RANGE' })[k as Exclude<Kind, 'valid' | 'large'>]);
        expect(items.map((i) => i.context.code)).to.deep.equal(wantCodes);
      }),
      { numRuns: 60 },
    );
  });
});
