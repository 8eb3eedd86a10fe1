/**
 * Per-stream rules through the real service, stream config from a local
 * YAML file (test/fixtures/e2e-streams/streams.yaml): which streams are
 * served, which schema each takes, and what a refusal says.
 */
import { expect } from 'chai';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { validateConfig } from '../../lib/config/load';
import { call, post } from '../helpers/http';
import { ROOT, startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';

const STREAMS_FILE = './test/fixtures/e2e-streams/streams.yaml';
const SCHEMA_BASES = ['./schemas', './test/fixtures/e2e-streams/schemas'];
const SCHEMA = '/test/event/1.0.0';

function event(stream: string, n: number): Record<string, unknown> {
  return { $schema: SCHEMA, meta: { stream, id: `id-${n}`, dt: '2026-01-01T00:00:00.000Z' }, n };
}

interface Item {
  status: string;
  event: { n?: number };
  context: { errors: { message: string }[]; errorsText: string };
}

function invalidItems(json: unknown): Item[] {
  return (json as { invalid: Item[] }).invalid;
}

function writtenNumbers(svc: TestService): unknown[] {
  return svc.written().map((e) => (e as { n?: unknown }).n);
}

describe('stream rules over HTTP, with stream config from a local YAML file', () => {
  let svc: TestService;

  before(async () => {
    svc = await startTestService({ service_name: 'eventgate-e2e', schema_base_uris: SCHEMA_BASES, stream_config_uri: STREAMS_FILE });
  });
  after(() => svc?.close());

  it('accepts an event for an exactly named stream whose schema_title is its schema title', async () => {
    const r = await post(svc.port, event('test.event', 1));
    expect(r.status, r.text).to.equal(201);
    expect(writtenNumbers(svc)).to.include(1);
  });

  it('accepts events for every concrete stream a /regex/ key matches', async () => {
    const r = await post(svc.port, [event('test.regex.a', 2), event('test.regex.b.c', 3)]);
    expect(r.status, r.text).to.equal(201);
    expect(writtenNumbers(svc)).to.include.members([2, 3]);
  });

  it('refuses as invalid (400) an event for a stream no key matches, with a message naming the stream', async () => {
    // `test.regex.` has nothing after the dot, so /^test\.regex\..+$/ does not match it.
    const r = await post(svc.port, [event('test.nowhere', 4), event('test.regex.', 5)]);
    expect(r.status).to.equal(400);
    const items = invalidItems(r.json);
    expect(items.map((i) => i.status)).to.deep.equal(['invalid', 'invalid']);
    expect(items[0].context.errorsText).to.contain('"test.nowhere"').and.to.contain('not in the stream config');
    expect(items[1].context.errors[0].message).to.contain('"test.regex."');
    expect(writtenNumbers(svc).filter((n) => n === 4 || n === 5)).to.be.empty;
  });

  it("refuses as invalid an event whose schema title is not its stream's schema_title, naming both titles", async () => {
    const r = await post(svc.port, event('test.titled', 6));
    expect(r.status).to.equal(400);
    const [item] = invalidItems(r.json);
    expect(item.status).to.equal('invalid');
    expect(item.context.errorsText).to.contain('"test.titled"').and.to.contain('"other/title"').and.to.contain('"test/event"');
    expect(writtenNumbers(svc)).not.to.include(6);
  });

  it('refuses an event for a stream whose destination_event_service is another service', async () => {
    const r = await post(svc.port, event('test.elsewhere', 7));
    expect(r.status).to.equal(400);
    expect(invalidItems(r.json)[0].context.errorsText).to.contain('"test.elsewhere"');
  });

  it('accepts an event for a stream whose destination_event_service is this service_name', async () => {
    const r = await post(svc.port, event('test.here', 8));
    expect(r.status, r.text).to.equal(201);
    expect(writtenNumbers(svc)).to.include(8);
  });

  it('accepts the events of served streams in a batch and refuses the others (207)', async () => {
    const r = await post(svc.port, [event('test.event', 9), event('test.nowhere', 10), event('test.regex.x', 11)]);
    expect(r.status).to.equal(207);
    expect(invalidItems(r.json).map((i) => i.event.n)).to.deep.equal([10]);
    expect(writtenNumbers(svc)).to.include.members([9, 11]).and.not.to.include(10);
  });
});

describe('error events for events a stream rule refused', () => {
  let svc: TestService;

  before(async () => {
    svc = await startTestService({
      service_name: 'eventgate-e2e',
      schema_base_uris: SCHEMA_BASES,
      stream_config_uri: STREAMS_FILE,
      error_stream: 'test.error',
    });
  });
  after(() => svc?.close());

  it('go to error_stream (itself a configured stream) carrying the refusal message', async () => {
    const r = await post(svc.port, [event('test.nowhere', 1), event('test.titled', 2)]);
    expect(r.status).to.equal(400);
    type ErrorEvent = { meta: { stream: string }; errored_stream_name: string; error_code?: string; message: string };
    const errorEvents = (): ErrorEvent[] => svc.written().filter((e) => (e as ErrorEvent).meta.stream === 'test.error') as ErrorEvent[];
    await until(() => errorEvents().length === 2, 5000, 'two error events');
    const errors = errorEvents();
    const byStream = Object.fromEntries(errors.map((e) => [e.errored_stream_name, e.message]));
    expect(byStream['test.nowhere']).to.contain('"test.nowhere"').and.to.contain('not in the stream config');
    expect(byStream['test.titled']).to.contain('"other/title"');
    expect(svc.metrics.counter('error_events.failed')).to.equal(0);
  });
});

describe('destination_event_service seen from another service', () => {
  let svc: TestService;

  before(async () => {
    svc = await startTestService({ service_name: 'eventgate-analytics', schema_base_uris: SCHEMA_BASES, stream_config_uri: STREAMS_FILE });
  });
  after(() => svc?.close());

  it('serves the streams destined to its own service_name and refuses those destined to another', async () => {
    const r = await post(svc.port, [event('test.elsewhere', 1), event('test.here', 2), event('test.event', 3)]);
    expect(r.status).to.equal(207);
    const items = invalidItems(r.json);
    expect(items.map((i) => i.event.n)).to.deep.equal([2]);
    expect(items[0].context.errorsText).to.contain('"test.here"');
    expect(writtenNumbers(svc)).to.have.members([1, 3]);
  });
});

describe('without stream config', () => {
  let svc: TestService;

  before(async () => {
    svc = await startTestService({ schema_base_uris: SCHEMA_BASES });
  });
  after(() => svc?.close());

  it('accepts any schema for any stream', async () => {
    const r = await post(svc.port, [event('test.nowhere', 1), event('test.titled', 2), event('test.elsewhere', 3)]);
    expect(r.status, r.text).to.equal(201);
    expect(writtenNumbers(svc)).to.have.members([1, 2, 3]);
  });
});

describe('stream config from a local JSON file in the EventStreamConfig shape, by file:// URL', () => {
  let svc: TestService;

  before(async () => {
    svc = await startTestService({
      service_name: 'eventgate-e2e',
      stream_config_uri: pathToFileURL(resolve(ROOT, 'test/fixtures/e2e-streams/eventstreamconfig.json')).href,
      stream_config_object_path: 'streams',
    });
  });
  after(() => svc?.close());

  it('serves the streams under stream_config_object_path, exact and /regex/, and refuses others', async () => {
    const r = await post(svc.port, [event('test.json', 1), event('test.json-regex.a', 2), event('test.event', 3)]);
    expect(r.status).to.equal(207);
    expect(invalidItems(r.json).map((i) => i.event.n)).to.deep.equal([3]);
    expect(writtenNumbers(svc)).to.have.members([1, 2]);
  });
});

describe('a config reload (what SIGHUP does)', () => {
  let dir: string;
  let streamsFile: string;
  let svc: TestService;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-e2e-streams-'));
    streamsFile = join(dir, 'streams.yaml');
    copyFileSync(resolve(ROOT, STREAMS_FILE), streamsFile);
    svc = await startTestService({ service_name: 'eventgate-e2e', stream_config_uri: streamsFile });
  });
  after(async () => {
    await svc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the stream config file again and applies its new rules', async () => {
    expect((await post(svc.port, event('test.reloaded', 1))).status).to.equal(400);
    writeFileSync(streamsFile, 'test.reloaded:\n  schema_title: test/event\n');
    const conf = {
      port: 0,
      interface: '127.0.0.1',
      service_name: 'eventgate-e2e',
      schema_base_uris: ['./schemas'],
      schema_file_extension: '.yaml',
      stream_config_uri: streamsFile,
      output_path: join(dir, 'out.ndjson'),
    };
    await svc.service.reload({ config: validateConfig({ services: [{ name: 'eventgate', conf }] }), dir: ROOT });

    expect((await post(svc.port, event('test.reloaded', 2))).status).to.equal(201);
    expect((await post(svc.port, event('test.event', 3))).status).to.equal(400);
    expect((await call(svc.port, { path: '/v1/stream-configs' })).json).to.deep.equal({ 'test.reloaded': { schema_title: 'test/event' } });
  });
});
