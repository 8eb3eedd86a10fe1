/** GET /v1/stream-configs[/:streams] through the real service. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { load } from 'js-yaml';
import { call, type Reply } from '../helpers/http';
import { ROOT, startTestService, type TestService } from '../helpers/service';

const STREAMS_FILE = './test/fixtures/e2e-streams/streams.yaml';
const REGEX_KEY = '/^test\\.regex\\..+$/';

type Configs = Record<string, Record<string, unknown>>;

function get(svc: TestService, path: string): Promise<Reply> {
  return call(svc.port, { path });
}

function expectJson(r: Reply, status: number): void {
  expect(r.status, r.text).to.equal(status);
  expect(r.headers['content-type']).to.match(/^application\/json/);
}

describe('GET /v1/stream-configs', () => {
  let svc: TestService;
  let file: Configs;

  before(async () => {
    file = load(readFileSync(resolve(ROOT, STREAMS_FILE), 'utf8')) as Configs;
    svc = await startTestService({ service_name: 'eventgate-e2e', stream_config_uri: STREAMS_FILE });
  });
  after(() => svc?.close());

  it('answers the whole stream config in use, as loaded, /regex/ keys included', async () => {
    const r = await get(svc, '/v1/stream-configs');
    expectJson(r, 200);
    expect(r.json).to.deep.equal(file);
    expect(r.json).to.have.property(REGEX_KEY);
  });

  it('answers just the comma-separated streams asked for, a concrete name with the settings of the /regex/ key it matches', async () => {
    const r = await get(svc, '/v1/stream-configs/test.event,test.regex.abc');
    expectJson(r, 200);
    expect(r.json).to.deep.equal({ 'test.event': file['test.event'], 'test.regex.abc': file[REGEX_KEY] });
  });

  it('takes | as a separator too, raw or URL-encoded', async () => {
    const expected = { 'test.event': file['test.event'], 'test.keyed': file['test.keyed'] };
    for (const path of ['/v1/stream-configs/test.event|test.keyed', '/v1/stream-configs/test.event%7Ctest.keyed', '/v1/stream-configs/test.event%7ctest.keyed']) {
      const r = await get(svc, path);
      expectJson(r, 200);
      expect(r.json, path).to.deep.equal(expected);
    }
  });

  it('answers a /regex/ key asked for by its own (URL-encoded) name', async () => {
    const r = await get(svc, `/v1/stream-configs/${encodeURIComponent(REGEX_KEY)}`);
    expectJson(r, 200);
    expect(r.json).to.deep.equal({ [REGEX_KEY]: file[REGEX_KEY] });
  });

  it('leaves out streams it does not serve: unknown names and streams of another destination_event_service', async () => {
    const r = await get(svc, '/v1/stream-configs/test.here,test.nowhere,test.elsewhere,test.regex.');
    expectJson(r, 200);
    expect(r.json).to.deep.equal({ 'test.here': file['test.here'] });
    const none = await get(svc, '/v1/stream-configs/test.nowhere');
    expectJson(none, 200);
    expect(none.json).to.deep.equal({});
  });
});

describe('GET /v1/stream-configs without stream config', () => {
  let svc: TestService;

  before(async () => {
    svc = await startTestService();
  });
  after(() => svc?.close());

  it('answers 404 JSON with EG_ERR_NOT_FOUND, for all configs and for named streams', async () => {
    for (const path of ['/v1/stream-configs', '/v1/stream-configs/test.event', '/v1/stream-configs/a|b']) {
      const r = await get(svc, path);
      expectJson(r, 404);
      const body = r.json as { code: string; message: string };
      expect(body.code, path).to.equal('EG_ERR_NOT_FOUND');
      expect(body.message).to.contain('stream_config_uri');
    }
  });
});
