/**
 * The produce step on its own (lib/pipeline/produce.ts): what the sink
 * refused moves from accepted to error in the counts and the answer, and
 * error events go to their own sink in the background.
 */
import { expect } from 'chai';
import { validateConfig } from '../../lib/config/load';
import { eventLimitsOf } from '../../lib/event/scan';
import { buildValidator } from '../../lib/gate/build';
import { errorEventOptionsOf } from '../../lib/gate/error-events';
import { silentLogger } from '../../lib/log';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { prepareEvents, type PrepareDeps } from '../../lib/pipeline/prepare';
import { Gate } from '../../lib/pipeline/produce';
import type { OutboundEvent, ProduceOutcome, Sink } from '../../lib/sink/sink';
import { ROOT } from '../helpers/paths';

const SCHEMA = '/test/event/1.0.0';
const DT = new Date(Date.now() - 60_000).toISOString();
const valid = (n: number) => ({ $schema: SCHEMA, meta: { stream: 'test.event', id: `e-${n}`, dt: DT }, n });
const invalid = { $schema: SCHEMA, meta: { stream: 'test.event', id: 'bad', dt: DT }, test: 42 };

/** A sink that refuses the events whose `n` is in `refuse`, and keeps what it took. */
function sinkRefusing(refuse: number[]): Sink & { taken: OutboundEvent[] } {
  const taken: OutboundEvent[] = [];
  return {
    kind: 'test',
    taken,
    produce(events: readonly OutboundEvent[]): Promise<ProduceOutcome[]> {
      return Promise.resolve(
        events.map((e): ProduceOutcome => {
          const n = (JSON.parse(String(e.value)) as { n?: number }).n;
          if (n !== undefined && refuse.includes(n)) return { ok: false, code: 'EG_ERR_KAFKA_TIMEOUT', message: 'no broker' };
          taken.push(e);
          return { ok: true };
        }),
      );
    },
    notReadyReason: () => undefined,
    close: () => Promise.resolve(),
  };
}

describe('Gate.produce', () => {
  let deps: PrepareDeps;
  before(async () => {
    const config = validateConfig({ services: [{ conf: { schema_base_uris: ['./schemas'], schema_file_extension: '.yaml', error_stream: 'eventgate.error' } }] });
    const c = config.services[0].conf;
    const { validator, schemas } = buildValidator(c, ROOT, { log: silentLogger(), metrics: new MemoryMetrics() });
    await schemas.precache([SCHEMA, '/error/1.0.0']);
    deps = { validator, log: silentLogger(), limits: eventLimitsOf(c), errorEvents: errorEventOptionsOf(c), maxAnswerBytes: c.max_answer_bytes };
  });

  it('answers and counts what the sink refused as errored, and produces the error events of invalid ones', async () => {
    const metrics = new MemoryMetrics();
    const errorSink = sinkRefusing([]);
    const gate = new Gate({ metrics, log: silentLogger(), errorSink, maxAnswerBytes: Infinity });
    const prepared = await prepareEvents([valid(1), invalid, valid(2), valid(3)], { headers: {} }, deps);
    const sink = sinkRefusing([2]);
    const answer = await gate.produce(prepared, sink, { requestId: 'r-1' });
    expect(answer).to.include({ status: 207, failed: 2, invalid: 1 });
    const body = JSON.parse(String(answer.body)) as { invalid: unknown[]; error: { event: { n: number }; context: { code: string } }[] };
    expect(body.invalid).to.have.length(1);
    expect(body.error.map((e) => [e.event.n, e.context.code])).to.deep.equal([[2, 'EG_ERR_KAFKA_TIMEOUT']]);
    expect(sink.taken).to.have.length(2);
    const tags = { stream: 'test.event' };
    expect([metrics.counter('events.received', tags), metrics.counter('events.accepted', tags), metrics.counter('events.invalid', tags), metrics.counter('events.error', tags)]).to.deep.equal([4, 2, 1, 1]);
    expect(metrics.counter('events.produced', { stream: 'test.event', schema_uri: SCHEMA })).to.equal(2);
    await gate.settled();
    expect(errorSink.taken.map((e) => e.stream)).to.deep.equal(['eventgate.error']);
    expect(metrics.counter('error_events.produced')).to.equal(1);
  });

  it('gives the all-accepted answer, one constant, when the sink takes every event', async () => {
    const gate = new Gate({ metrics: new MemoryMetrics(), log: silentLogger(), maxAnswerBytes: Infinity });
    const first = await gate.produce(await prepareEvents([valid(1)], { headers: {} }, deps), sinkRefusing([]), { requestId: 'r-2' });
    const second = await gate.produce(await prepareEvents([valid(2)], { headers: {} }, deps), sinkRefusing([]), { requestId: 'r-3' });
    expect(first).to.deep.equal({ status: 201, reason: 'All 1 out of 1 events were accepted.', retryable: false, failed: 0, invalid: 0 });
    expect(second).to.equal(first);
  });
});
