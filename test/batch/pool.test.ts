import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchPool, PoolRequest } from '../../lib/batch/pool';
import { validateConfig } from '../../lib/config/load';
import { eventLimitsOf } from '../../lib/event/scan';
import { answerFor, type Answer } from '../../lib/gate/answer';
import { buildValidator } from '../../lib/gate/build';
import { countByStream } from '../../lib/gate/gate';
import type { EventResult } from '../../lib/gate/result';
import type { OutboundEvent } from '../../lib/sink/sink';
import { parseEvents } from '../../lib/event/parse';
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

  it('gives the values, keys, topics, timestamps, counts and answer the in-thread validator gives', async () => {
    const { validator } = buildValidator(app.conf, ROOT, { log: silentLogger(), metrics: new MemoryMetrics(), streams: app.streams });
    for (const body of [mixedBody(80), mixedBody(500, true)]) {
      const { events } = parseEvents(Buffer.from(body), eventLimitsOf(app.conf));
      const inline = await validator.validate(events, REQUEST);
      const pooled = await poolOf(app).validate(Buffer.from(body), REQUEST);
      expect(plain(pooled.prepared.outbound)).to.deep.equal(plain(inline.outbound));
      expect([...pooled.outboundIndex]).to.deep.equal(inline.outboundIndex);
      expect(pooled.count).to.equal(events.length);
      expect(pooled.prepared.outbound.some((o) => o.key !== null)).to.equal(true);
      expect(pooled.prepared.outbound.every((o) => o.topic === `dc1.${o.stream}`)).to.equal(true);
      expect(pooled.prepared.counts).to.deep.equal(countByStream(inline.streams, inline.results));
      // The answer shows the failed events enriched and defaulted in the thread as in-thread.
      expect(text(pooled.answerAfter([]))).to.deep.equal(text(answerFor(events, inline.results, app.conf.max_answer_bytes)));
    }
  });

  it('answers a valid event the sink refused with an item holding the event read back from the bytes it produced', async () => {
    const body = JSON.stringify([{ $schema: '/test/event/1.0.0', meta: { stream: 'test.event', id: 'a', dt: '2026-01-01T00:00:00Z' }, n: 1 }]);
    const pooled = await poolOf(app).validate(Buffer.from(body), REQUEST);
    const refused: EventResult[] = [{ status: 'error', code: 'EG_ERR_SINK_WRITE', context: { message: 'disk full' } }];
    const event: unknown = JSON.parse(pooled.prepared.outbound[0].value.toString('utf8'));
    const answer = pooled.answerAfter([{ at: 0, code: 'EG_ERR_SINK_WRITE', message: 'disk full' }]);
    expect(answer.status).to.equal(500);
    expect(text(answer)).to.deep.equal(text(answerFor([event], refused)));
  });

  it('rejects a body that is not events with the code in-thread parsing gives, as an EventGateError', async () => {
    for (const [body, code] of [
      ['  ', 'EG_ERR_BODY_EMPTY'],
      ['[1,', 'EG_ERR_BODY_MALFORMED'],
      ['true', 'EG_ERR_BODY_NOT_EVENTS'],
    ]) {
      const err = await poolOf(app).validate(Buffer.from(body), REQUEST).then(
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
    const first = await poolOf(app).validate(Buffer.from(body), REQUEST);
    expect(String(first.answerAfter([]).body)).to.contain('"code":"EG_ERR_STREAM_NOT_CONFIGURED"');
    writeFileSync(join(dir, 'streams.yaml'), 'test.event: {schema_title: test/event}\nlater.event: {topic_prefix: "late."}\n');
    expect(await app.streams?.refresh()).to.equal(true);
    const second = await poolOf(app).validate(Buffer.from(body), REQUEST);
    expect(second.answerAfter([]).status).to.equal(201);
    expect(second.prepared.outbound[0].topic).to.equal('late.later.event');
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
    await Promise.all(Array.from({ length: 8 }, (_, i) => pool.validate(Buffer.from(body), REQUEST).then(() => done.push(i))));
    expect(done).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
