/**
 * lib/answer/ alone: the answer's statuses, reasons, body layout and
 * trimming, and the one promise that lets a pool thread build an answer
 * before the sink has spoken: an answer finished after sink refusals is
 * the answer, byte for byte, of the same results known from the start.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import type { ErrorCode } from '../../lib/errors';
import { finishAnswer, packAnswer, type SinkFailure } from '../../lib/answer/packed';
import type { Answer } from '../../lib/answer/answer';
import type { EventResult } from '../../lib/gate/result';
import type { OutboundEvent } from '../../lib/sink/sink';

const invalid = (text: string): EventResult => ({ status: 'invalid', code: 'EG_ERR_EVENT_INVALID', context: { errors: [{ message: text }], errorsText: text } });
const errored = (code: ErrorCode, message: string): EventResult => ({ status: 'error', code, context: { message } });
const ACCEPTED: EventResult = { status: 'accepted' };

const eventOf = (i: number) => ({ $schema: '/test/event/1.0.0', meta: { stream: 'test.event', id: `id-${i}` }, i, text: 'x'.repeat(i % 7) });

/** The outbound events of the accepted results, as the validator serializes them. */
function outboundOf(events: readonly unknown[], results: readonly EventResult[]): { outbound: OutboundEvent[]; index: number[] } {
  const index: number[] = [];
  results.forEach((r, i) => r.status === 'accepted' && index.push(i));
  return { outbound: index.map((i) => ({ stream: 'test.event', topic: 'test.event', value: JSON.stringify(events[i]), key: null })), index };
}

/** The answer of results known from the start: packed as a thread packs them, with no refusal to add. */
function answerOf(events: readonly unknown[], results: readonly EventResult[], maxBytes = Infinity): Answer {
  const { outbound, index } = outboundOf(events, results);
  return finishAnswer(packAnswer(events, results, maxBytes), results.length, [], outbound, index, maxBytes);
}

const bodyOf = (a: Answer) => JSON.parse(String(a.body)) as { invalid: { status: string; event: unknown; context: Record<string, unknown> }[]; error?: { context: Record<string, unknown> }[] };

describe('the answer (lib/answer)', () => {
  it('answers a batch all accepted 201 with no body, the same answer each time for a size', () => {
    const events = [eventOf(0), eventOf(1)];
    const a = answerOf(events, [ACCEPTED, ACCEPTED]);
    expect(a).to.include({ status: 201, reason: 'All 2 out of 2 events were accepted.', retryable: false, failed: 0, invalid: 0 });
    expect(a.body).to.equal(undefined);
    expect(answerOf(events, [ACCEPTED, ACCEPTED])).to.equal(a);
  });

  it('answers all invalid 400 with only an invalid list, items in input order with their code', () => {
    const events = [eventOf(0), eventOf(1)];
    const a = answerOf(events, [invalid('first'), invalid('second')]);
    expect(a).to.include({ status: 400, reason: '2 out of 2 events were invalid and not accepted.', retryable: false, failed: 2, invalid: 2 });
    const body = bodyOf(a);
    expect(Object.keys(body)).to.deep.equal(['invalid']);
    expect(body.invalid.map((x) => x.context.errorsText)).to.deep.equal(['first', 'second']);
    expect(body.invalid[1]).to.deep.include({ status: 'invalid', event: events[1] });
    expect(body.invalid[1].context.code).to.equal('EG_ERR_EVENT_INVALID');
  });

  it('answers a mix 207 with both lists, and nothing accepted for want of Kafka 503 retryable, else 500', () => {
    const events = [eventOf(0), eventOf(1), eventOf(2)];
    const mixed = answerOf(events, [ACCEPTED, invalid('bad'), errored('EG_ERR_KAFKA_DELIVERY', 'refused')]);
    expect(mixed).to.include({ status: 207, reason: '1 out of 3 events were accepted, but 2 failed (1 invalid and 1 errored).', failed: 2, invalid: 1 });
    expect(Object.keys(bodyOf(mixed))).to.deep.equal(['invalid', 'error']);
    const unavailable = answerOf(events.slice(0, 2), [invalid('bad'), errored('EG_ERR_KAFKA_QUEUE_FULL', 'full')]);
    expect(unavailable).to.include({ status: 503, retryable: true });
    const failed = answerOf(events.slice(0, 2), [invalid('bad'), errored('EG_ERR_KAFKA_DELIVERY', 'refused')]);
    expect(failed).to.include({ status: 500, retryable: false });
  });

  it('keeps items whole while max_answer_bytes lasts and trims every one from the first that does not fit', () => {
    const events = [eventOf(0), eventOf(1), eventOf(2)];
    const results = [invalid('a'.repeat(50)), invalid('b'.repeat(500)), invalid('c')];
    const whole = answerOf(events, results);
    const firstLength = JSON.stringify(bodyOf(whole).invalid[0]).length;
    const body = bodyOf(answerOf(events, results, firstLength + 10));
    expect(body.invalid[0]).to.deep.equal(bodyOf(whole).invalid[0]);
    // The third would fit the budget left, but trimming, once begun, goes on: the order of items stays readable.
    for (const [k, item] of body.invalid.slice(1).entries()) {
      expect(item.event).to.equal(null);
      expect(item.context).to.include({ code: 'EG_ERR_EVENT_INVALID', index: k + 1, trimmed: true });
    }
    expect(String(body.invalid[1].context.errorsText)).to.have.length(200);
  });

  it('finishes after sink refusals with the answer the same results give from the start, byte for byte (property)', () => {
    const outcome = fc.constantFrom<'accepted' | 'invalid' | 'refused' | 'full'>('accepted', 'invalid', 'refused', 'full');
    fc.assert(
      fc.property(fc.array(outcome, { minLength: 1, maxLength: 40 }), fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 3000 })), (kinds, maxBytes) => {
        const events = kinds.map((_, i) => eventOf(i));
        // What the thread knew: refused events were valid.
        const known = kinds.map((k, i) => (k === 'invalid' ? invalid(`bad ${i} ${'e'.repeat(i * 13)}`) : ACCEPTED));
        const { outbound, index } = outboundOf(events, known);
        const failures: SinkFailure[] = [];
        index.forEach((i, at) => {
          if (kinds[i] === 'refused') failures.push({ at, code: 'EG_ERR_KAFKA_DELIVERY', message: `refused ${i}` });
          if (kinds[i] === 'full') failures.push({ at, code: 'EG_ERR_KAFKA_QUEUE_FULL', message: `full ${i}` });
        });
        const finished = finishAnswer(packAnswer(events, known, maxBytes), events.length, failures, outbound, index, maxBytes);
        // The same results had the sink's refusals been known from the start.
        const final = known.map((r, i) => {
          const f = failures.find((x) => index[x.at] === i);
          return f ? errored(f.code, f.message) : r;
        });
        const direct = answerOf(events, final, maxBytes);
        expect({ ...finished, body: finished.body?.toString() }).to.deep.equal({ ...direct, body: direct.body?.toString() });
      }),
      { numRuns: 300 },
    );
  });
});
