import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchPool, PoolRequest } from '../../lib/batch/pool';
import { validateConfig } from '../../lib/config/load';
import { eventLimitsOf } from '../../lib/event/scan';
import type { Answer } from '../../lib/answer/answer';
import { finishAnswer } from '../../lib/answer/packed';
import { buildValidator } from '../../lib/gate/build';
import { errorEventOptionsOf } from '../../lib/gate/error-events';
import { prepareBody, type PreparedBatch } from '../../lib/pipeline/prepare';
import type { OutboundEvent } from '../../lib/sink/sink';
import { silentLogger } from '../../lib/log';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { buildApp } from '../../lib/service';
import { ROOT } from '../helpers/service';
import { COMMON_CONF, mixedBody, POOL_ALWAYS } from '../helpers/batch-pair';

type App = Awaited<ReturnType<typeof buildApp>>;

/** What a sink would get, comparable with deep equality (Buffers as text). */
function plain(outbound: readonly OutboundEvent[]): unknown {
  return outbound.map((o) => ({ ...o, value: o.value.toString(), key: o.key ? o.key.toString('utf8') : o.key }));
}

/** An answer comparable with deep equality (a body as text). */
function text(a: Answer): unknown {
  return { ...a, body: a.body?.toString() };
}

/** The answer of a prepared batch once the sink refused `failures`. */
function answerOf(p: PreparedBatch, failures: Parameters<typeof finishAnswer>[2], maxBytes = Infinity): Answer {
  return finishAnswer(p.answer, p.count, failures, p.outbound, p.outboundIndex, maxBytes);
}

async function startApp(conf: Record<string, unknown>, dir = ROOT): Promise<App> {
  const config = validateConfig({ services: [{ conf: { schema_file_extension: '.yaml', output_path: join(tmpdir(), 'eventgate-batch-unused.ndjson'), ...conf } }] });
  return buildApp({ config, dir }, { log: silentLogger(), metrics: new MemoryMetrics(), workers: 1 });
}

function poolOf(app: App): BatchPool {
  if (!app.pool) throw new Error('the app has no pool');
  return app.pool;
}

const REQUEST: PoolRequest = { headers: { 'user-agent': 'pool-test', 'x-request-id': 'r-1' }, query: new URLSearchParams('stream=test.event') };

describe('BatchPool', () => {
  let app: App;

  before(async () => {
    app = await startApp({ ...COMMON_CONF, ...POOL_ALWAYS });
  });
  after(() => app?.close());

  it('gives the batch the inline executor prepares: values, keys, topics, timestamps, counts, error events and answer', async () => {
    const { validator } = buildValidator(app.conf, ROOT, { log: silentLogger(), metrics: new MemoryMetrics(), streams: app.streams });
    const deps = { validator, log: silentLogger(), limits: eventLimitsOf(app.conf), errorEvents: errorEventOptionsOf(app.conf), maxAnswerBytes: app.conf.max_answer_bytes };
    for (const body of [mixedBody(80), mixedBody(500, true)]) {
      const inline = await prepareBody(Buffer.from(body), REQUEST, deps);
      const pooled = await poolOf(app).prepare(Buffer.from(body), REQUEST);
      expect(plain(pooled.outbound)).to.deep.equal(plain(inline.outbound));
      expect([...Array.from(pooled.outboundIndex)]).to.deep.equal(Array.from(inline.outboundIndex));
      expect(pooled.count).to.equal(inline.count);
      expect(pooled.holdsNonEvent).to.equal(inline.holdsNonEvent).and.equal(true);
      expect(pooled.outbound.some((o) => o.key !== null)).to.equal(true);
      expect(pooled.outbound.every((o) => o.topic === `dc1.${o.stream}`)).to.equal(true);
      expect(pooled.counts).to.deep.equal(inline.counts);
      expect(pooled.schemaCounts).to.deep.equal(inline.schemaCounts);
      expect(pooled.errorEvents?.made).to.equal(inline.errorEvents?.made);
      // Only inline prepare keeps the per-event results (a replay reads them); the thread does not send them across.
      expect(inline.results).to.have.length(inline.count);
      expect(pooled.results).to.equal(undefined);
      // The answer shows the failed events enriched and defaulted in the thread as inline.
      expect(text(answerOf(pooled, []))).to.deep.equal(text(answerOf(inline, [])));
    }
  });

  it('answers a valid event the sink refused with an item holding the event read back from the bytes it produced', async () => {
    const body = JSON.stringify([{ $schema: '/test/event/1.0.0', meta: { stream: 'test.event', id: 'a', dt: '2026-01-01T00:00:00Z' }, n: 1 }]);
    const pooled = await poolOf(app).prepare(Buffer.from(body), REQUEST);
    const event: unknown = JSON.parse(pooled.outbound[0].value.toString('utf8'));
    const answer = answerOf(pooled, [{ at: 0, code: 'EG_ERR_SINK_WRITE', message: 'disk full' }]);
    expect(answer.status).to.equal(500);
    expect(answer.reason).to.equal('1 out of 1 events had failures and were not accepted. (0 invalid and 1 errored).');
    expect(JSON.parse(String(answer.body))).to.deep.equal({ invalid: [], error: [{ status: 'error', event, context: { message: 'disk full', code: 'EG_ERR_SINK_WRITE' } }] });
  });

  it('rejects a body that is not events with the code in-thread parsing gives, as an EventGateError', async () => {
    for (const [body, code] of [
      ['  ', 'EG_ERR_BODY_EMPTY'],
      ['[1,', 'EG_ERR_BODY_MALFORMED'],
      ['true', 'EG_ERR_BODY_NOT_EVENTS'],
    ]) {
      const err = await poolOf(app).prepare(Buffer.from(body), REQUEST).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, body).to.have.property('code', code);
      expect(err).to.have.property('name', 'EventGateError');
    }
  });
});

describe('BatchPool with a stream config that changes', () => {
  let dir: string;
  let app: App;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-batch-streams-'));
    writeFileSync(join(dir, 'streams.yaml'), 'test.event: {schema_title: test/event}\n');
    app = await startApp({ ...COMMON_CONF, ...POOL_ALWAYS, schema_base_uris: [join(ROOT, 'schemas')], stream_config_uri: './streams.yaml' }, dir);
  });
  after(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('validates against the new stream config in its threads after a refresh', async () => {
    const body = Buffer.from(JSON.stringify({ $schema: '/test/event/1.0.0', meta: { stream: 'later.event', id: 'a', dt: '2026-01-01T00:00:00Z' } }));
    const first = await poolOf(app).prepare(Buffer.from(body), REQUEST);
    expect(String(answerOf(first, []).body)).to.contain('"code":"EG_ERR_STREAM_NOT_CONFIGURED"');
    writeFileSync(join(dir, 'streams.yaml'), 'test.event: {schema_title: test/event}\nlater.event: {topic_prefix: "late."}\n');
    expect(await app.streams?.refresh()).to.equal(true);
    const second = await poolOf(app).prepare(Buffer.from(body), REQUEST);
    expect(answerOf(second, []).status).to.equal(201);
    expect(second.outbound[0].topic).to.equal('late.later.event');
  });
});

describe('BatchPool with one thread and batches waiting', () => {
  let app: App;

  before(async () => {
    app = await startApp({ ...POOL_ALWAYS, batch: { thread_pool: { min_bytes: 1, max_threads: 1 } } });
  });
  after(() => app?.close());

  it('runs waiting batches in the order they came, so none waits behind later ones', async () => {
    const pool = poolOf(app);
    const body = Buffer.from(mixedBody(200));
    const done: number[] = [];
    await Promise.all(Array.from({ length: 8 }, (_, i) => pool.prepare(Buffer.from(body), REQUEST).then(() => done.push(i))));
    expect(done).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
