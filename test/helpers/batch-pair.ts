import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reply } from '../helpers/http';
import { call } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';

/** Service conf shared by both sides of a comparison: fixtures' schemas, stream config, deterministic enrichment. */
export const COMMON_CONF: Record<string, unknown> = {
  schema_base_uris: ['./schemas', './test/fixtures/schemas'],
  stream_config_uri: './test/batch/fixtures/streams.yaml',
  topic_prefix: 'dc1.',
  stream_query_param: 'stream',
};

/** Every request goes to the pool (no body is under 1 byte). */
export const POOL_ALWAYS = { batch: { thread_pool: { min_bytes: 1, min_events: 1 } } };
export const POOL_OFF = { batch: { thread_pool: { enabled: false } } };

/** An hour before the run: inside timestamp_max_past_ms, so meta.dt is the Kafka timestamp on both paths. */
const DT = new Date(Date.now() - 3_600_000).toISOString();

/** Valid for /test/event/1.0.0, with meta.id and meta.dt given so enrichment adds nothing random. */
export function testEvent(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { $schema: '/test/event/1.0.0', meta: { stream: 'test.event', id: `id-${n}`, dt: DT }, n, ...extra };
}

/**
 * One of every kind of event, by index: valid, schema-invalid, no schema URI,
 * unknown schema, insecure schema, $ref schemas (valid, invalid, relative,
 * chained), a non-object, a stream not configured, a stream served by
 * another service, a schema title that does not match the stream, unicode.
 */
export function mixedEvent(i: number): unknown {
  const meta = { id: `id-${i}`, dt: DT };
  switch (i % 16) {
    case 0:
      return testEvent(i);
    case 1:
      return { $schema: '/test/event/1.0.0', meta: { ...meta }, n: i };
    case 2:
      return { meta: { ...meta, stream: 'test.event' }, n: i };
    case 3:
      return { $schema: '/no/such/schema/1.0.0', meta: { ...meta, stream: 'test.event' }, n: i };
    case 4:
      return { $schema: '/insecure/event/1.0.0', meta: { ...meta, stream: 'open.insecure' }, name: 'aaa' };
    case 5:
      return { $schema: '/ref/event/1.0.0', meta: { ...meta, stream: 'ref.event', chained: 7 }, n: i };
    case 6:
      return { $schema: '/ref/event/1.0.0', meta: { ...meta, stream: 'ref.event', chained: 1000 }, n: i };
    case 7:
      return { $schema: '/ref/relative/1.0.0', meta: { ...meta, stream: 'open.relative' }, n: i };
    case 8:
      return i % 32 === 8 ? 42 : null;
    case 9:
      return testEvent(i, { meta: { ...meta, stream: 'not.configured' } });
    case 10:
      return testEvent(i, { meta: { ...meta, stream: 'elsewhere.event' } });
    case 11:
      return { $schema: '/ref/event/1.0.0', meta: { ...meta, stream: 'test.event' }, n: i };
    case 12:
      return testEvent(i, { text: 'caf\u00e9 \u{1f600} \u2028 "quoted" \\ back', test: 'given, not defaulted' });
    case 13:
      return { $schema: '/insecure/ref/1.0.0', meta: { ...meta, stream: 'open.insecure' }, email: 'a@b.c' };
    case 14:
      // No stream field: filled from ?stream= when the request has it.
      return { $schema: '/test/event/1.0.0', meta: { id: `id-${i}`, dt: DT }, n: i };
    default:
      return testEvent(i, { nested: { list: [1, 2.5, -0, 1e21, 'x', null, true], deep: { a: { b: { c: i } } } } });
  }
}

/** A body of `n` mixed events; with `huge`, one of them holds 1e400. */
export function mixedBody(n: number, huge = false): string {
  const events = Array.from({ length: n }, (_, i) => JSON.stringify(mixedEvent(i)));
  if (huge && n > 0) events[0] = events[0].replace(/}$/, ',"big":1e400}');
  return `[${events.join(',')}]`;
}

export interface Pair {
  readonly pool: TestService;
  readonly inline: TestService;
  /** The bytes each file sink has written so far. */
  produced(): { pool: string; inline: string };
  close(): Promise<void>;
}

function readOr(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** Two services on the same conf: one sends every request to the pool, the other has no pool. */
export async function startPair(conf: Record<string, unknown> = {}): Promise<Pair> {
  const dir = mkdtempSync(join(tmpdir(), 'eventgate-batch-'));
  const outputs = { pool: join(dir, 'pool.ndjson'), inline: join(dir, 'inline.ndjson') };
  const started: TestService[] = [];
  const closeAll = async () => {
    await Promise.all(started.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    started.push(await startTestService({ ...COMMON_CONF, ...conf, ...POOL_ALWAYS, output_path: outputs.pool }));
    started.push(await startTestService({ ...COMMON_CONF, ...conf, ...POOL_OFF, output_path: outputs.inline }));
  } catch (err) {
    await closeAll();
    throw err;
  }
  return {
    pool: started[0],
    inline: started[1],
    produced: () => ({ pool: readOr(outputs.pool), inline: readOr(outputs.inline) }),
    close: closeAll,
  };
}

export interface Sent {
  readonly path?: string;
  readonly body: string | Buffer;
  readonly headers?: Record<string, string>;
}

const COMPARED_HEADERS = ['content-type', 'content-length', 'retry-after', 'x-request-id'];

function comparable(r: Reply): unknown {
  const headers: Record<string, unknown> = {};
  for (const h of COMPARED_HEADERS) headers[h] = r.headers[h];
  return { status: r.status, reason: r.reason, headers, text: r.text };
}

/** Sends the same request to both services and expects the same answer, byte for byte. */
export async function expectSameAnswer(pair: Pair, sent: Sent): Promise<Reply> {
  const headers = { 'content-type': 'application/json', 'user-agent': 'batch-test/1.0', 'x-request-id': 'req-same', ...sent.headers };
  const c = { method: 'POST', path: sent.path ?? '/v1/events', body: sent.body, headers };
  const [fromPool, fromInline] = await Promise.all([call(pair.pool.port, c), call(pair.inline.port, c)]);
  expect(comparable(fromPool)).to.deep.equal(comparable(fromInline));
  return fromPool;
}
