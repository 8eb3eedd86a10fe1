/**
 * Property: when the sink refuses some valid events, the pooled answer (the
 * thread's, redone on the main thread with an item per refused event) is
 * byte-identical to the inline one, max_answer_bytes trimming included.
 * The sink is the real Kafka producer against the test broker, and what it
 * refuses is real: events larger than the producer's message.max.bytes,
 * which librdkafka refuses at produce time (and eventgate spools).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';
import { kafkaBootstrap, uniqueTopic } from '../helpers/kafka';
import { COMMON_CONF, expectSameAnswer, POOL_ALWAYS, POOL_OFF, type Pair } from '../helpers/batch-pair';

/** A refused event's whole item (about 2.4 KB) fits, but two or three use it up: they move where trimming starts. */
const MAX_ANSWER_BYTES = 6000;
const MAX_MESSAGE_BYTES = 2000;
const KINDS = ['valid', 'tooLarge', 'invalid', 'unknown', 'notObject'] as const;
type Kind = (typeof KINDS)[number];
const DT = new Date(Date.now() - 60_000).toISOString();

function eventText(kind: Kind, id: string): string {
  const meta = (stream = true) => JSON.stringify(stream ? { stream: 'test.event', id, dt: DT } : { id, dt: DT });
  const base = (schema: string, stream = true) => `{"$schema":"${schema}","meta":${meta(stream)}`;
  switch (kind) {
    case 'valid':
      return `${base('/test/event/1.0.0')},"n":1}`;
    case 'tooLarge':
      return `${base('/test/event/1.0.0')},"n":3,"padding":"${'x'.repeat(MAX_MESSAGE_BYTES + 100)}"}`;
    case 'invalid':
      return `${base('/test/event/1.0.0', false)},"n":2}`;
    case 'unknown':
      return `${base('/no/such/schema/1.0.0')}}`;
    case 'notObject':
      return `["${id}"]`;
  }
}

async function startKafkaPair(): Promise<Pair> {
  const dir = mkdtempSync(join(tmpdir(), 'eventgate-batch-kafka-'));
  const started: TestService[] = [];
  const closeAll = async () => {
    await Promise.all(started.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  };
  const conf = (name: string) => ({
    ...COMMON_CONF,
    max_answer_bytes: MAX_ANSWER_BYTES,
    topic_prefix: `${uniqueTopic(`batch-${name}`)}.`,
    failed_events_path: join(dir, `${name}-failed.ndjson`),
    kafka: {
      connect_timeout_ms: 5000,
      conf: { 'metadata.broker.list': kafkaBootstrap(), 'log_level': 3, 'message.max.bytes': MAX_MESSAGE_BYTES },
    },
  });
  try {
    started.push(await startTestService({ ...conf('pool'), ...POOL_ALWAYS }));
    started.push(await startTestService({ ...conf('inline'), ...POOL_OFF }));
    for (const s of started) await until(async () => (await call(s.port, { path: '/readyz' })).status === 200, 20000, '/readyz 200');
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { pool: started[0], inline: started[1], produced: () => ({ pool: '', inline: '' }), close: closeAll };
}

interface Item {
  status: string;
  event: { meta?: { id?: string } } | null;
  context: { code: string; index?: number; trimmed?: boolean };
}

describe('pooled answers when Kafka refuses some events (property)', function () {
  this.timeout(120000);
  let pair: Pair;
  before(async () => {
    pair = await startKafkaPair();
  });
  after(() => pair?.close());

  it('are byte-identical to inline answers, with an error item per refused event in input order and the same trimming', async () => {
    let run = 0;
    let sawTrimmedAfterRefused = false;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...KINDS), { minLength: 1, maxLength: 24 }), async (kinds) => {
        run++;
        const ids = kinds.map((_, i) => `k${run}-${i}`);
        const body = `[${kinds.map((k, i) => eventText(k, ids[i])).join(',')}]`;
        const reply = await expectSameAnswer(pair, { body, headers: { 'x-request-id': `kafka-prop-${run}` } });
        const refused = kinds.flatMap((k, i) => (k === 'tooLarge' ? [i] : []));
        const accepted = kinds.filter((k) => k === 'valid').length;
        if (refused.length + accepted === kinds.length && refused.length === 0) {
          expect(reply.status).to.equal(201);
          return;
        }
        const answer = reply.json as { invalid: Item[]; error?: Item[] };
        const errors = answer.error ?? [];
        expect(errors.map((e) => e.context.code), 'one error item per refused event').to.deep.equal(refused.map(() => 'EG_ERR_KAFKA_DELIVERY'));
        // Whole items carry their event, trimmed ones their index: either way, the refused event.
        expect(errors.map((e) => e.event?.meta?.id ?? ids[e.context.index ?? -1])).to.deep.equal(refused.map((i) => ids[i]));
        if (errors.some((e) => !e.context.trimmed) && answer.invalid.some((e) => e.context.trimmed)) sawTrimmedAfterRefused = true;
      }),
      { numRuns: 40 },
    );
    // The runs covered what this test is for: whole items of refused events in an answer that had to trim.
    expect(sawTrimmedAfterRefused).to.equal(true);
  });
});
