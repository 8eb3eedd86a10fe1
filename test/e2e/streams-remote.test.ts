/**
 * Stream config from a remote URL, through the real service: a real HTTP
 * server in the test serves the MediaWiki EventStreamConfig answer shape
 * (`{streams: {...}}`), fails, stalls and changes its answer.
 */
import { expect } from 'chai';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateConfig } from '../../lib/config/load';
import { silentLogger } from '../../lib/log';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { startService } from '../../lib/service';
import { call, post, type Reply } from '../helpers/http';
import { ROOT, startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';

const SCHEMA = '/test/event/1.0.0';

/** What the config server answers one request: a status and a JSON body, or no answer at all. */
type Answer = { status: number; body: unknown } | 'hang';

interface ConfigServer {
  readonly url: string;
  /** Headers of every request received, in order. */
  readonly requests: IncomingHttpHeaders[];
  /** Decides the answer to request number `n` (0-based); replaceable mid-test. */
  respond: (n: number) => Answer;
  close(): Promise<void>;
}

async function configServer(respond: (n: number) => Answer): Promise<ConfigServer> {
  const requests: IncomingHttpHeaders[] = [];
  const hanging: ServerResponse[] = [];
  const state = { respond };
  const server = createServer((req, res) => {
    const answer = state.respond(requests.length);
    requests.push(req.headers);
    if (answer === 'hang') {
      hanging.push(res);
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/w/api.php?action=streamconfigs&format=json&all_settings=true`,
    requests,
    get respond() {
      return state.respond;
    },
    set respond(fn: (n: number) => Answer) {
      state.respond = fn;
    },
    close: () =>
      new Promise<void>((done) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** An EventStreamConfig API answer holding `streams`. */
function apiAnswer(streams: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}): Answer {
  return { status: 200, body: { streams, ...extra } };
}

const STREAMS = {
  'test.remote': { stream: 'test.remote', schema_title: 'test/event', destination_event_service: 'eventgate-e2e' },
  '/^test\\.remote-regex\\..+$/': { schema_title: 'test/event' },
};

function event(stream: string, n: number): Record<string, unknown> {
  return { $schema: SCHEMA, meta: { stream }, n };
}

function invalidItems(r: Reply): { event: { n?: number }; context: { errorsText: string } }[] {
  return (r.json as { invalid: { event: { n?: number }; context: { errorsText: string } }[] }).invalid;
}

function remoteConf(url: string, conf: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    service_name: 'eventgate-e2e',
    stream_config_uri: url,
    stream_config_object_path: 'streams',
    stream_config_timeout_ms: 2000,
    ...conf,
  };
}

/** Starts the service with `conf` where it must fail; resolves with the failure. */
async function startupFailure(conf: Record<string, unknown>): Promise<unknown> {
  const config = validateConfig({ services: [{ name: 'eventgate', conf: { port: 0, interface: '127.0.0.1', ...conf } }] });
  try {
    const running = await startService({ config, dir: ROOT }, { log: silentLogger(), metrics: new MemoryMetrics() });
    await running.close();
  } catch (err) {
    return err;
  }
  throw new Error('the service started');
}

describe('stream config from a remote URL', function () {
  let server: ConfigServer | undefined;
  let svc: TestService | undefined;

  afterEach(async () => {
    await svc?.close();
    await server?.close();
    svc = undefined;
    server = undefined;
  });

  it('loads an EventStreamConfig answer at stream_config_object_path, sending the stream_config_uri_options headers', async () => {
    server = await configServer(() => apiAnswer(STREAMS, { warnings: { main: { '*': 'Unrecognized parameter: all_settings.' } } }));
    svc = await startTestService(
      remoteConf(server.url, { stream_config_uri_options: { headers: { 'authorization': 'Bearer e2e', 'x-client': 'eventgate-e2e' } } }),
    );
    expect(server.requests).to.have.length(1);
    expect(server.requests[0]).to.include({ 'authorization': 'Bearer e2e', 'x-client': 'eventgate-e2e' });

    const r = await post(svc.port, [event('test.remote', 1), event('test.remote-regex.a', 2), event('test.event', 3)]);
    expect(r.status).to.equal(207);
    const [item] = invalidItems(r);
    expect(item.event.n).to.equal(3);
    expect(item.context.errorsText).to.contain('"test.event"');
    expect(svc.written().map((e) => (e as { n: number }).n)).to.have.members([1, 2]);

    const configs = await call(svc.port, { path: '/v1/stream-configs' });
    expect(configs.json).to.deep.equal(STREAMS);
  });

  it('starts once a config server that answered 500 recovers within stream_config_retries', async () => {
    server = await configServer((n) => (n === 0 ? { status: 500, body: { error: 'down' } } : apiAnswer(STREAMS)));
    svc = await startTestService(remoteConf(server.url, { stream_config_retries: 2 }));
    expect(server.requests).to.have.length(2);
    expect(svc.metrics.counter('stream_config.load.failed', { code: 'EG_ERR_STREAM_CONFIG_FETCH' })).to.equal(1);
    const r = await post(svc.port, event('test.remote', 1));
    expect(r.status, r.text).to.equal(201);
  });

  it('retries a config server that does not answer within stream_config_timeout_ms', async () => {
    server = await configServer((n) => (n === 0 ? 'hang' : apiAnswer(STREAMS)));
    svc = await startTestService(remoteConf(server.url, { stream_config_retries: 1, stream_config_timeout_ms: 200 }));
    expect(server.requests).to.have.length(2);
    const r = await post(svc.port, event('test.remote', 1));
    expect(r.status, r.text).to.equal(201);
  });

  it('refuses to start when the config server still fails after stream_config_retries, with the reason', async () => {
    server = await configServer(() => ({ status: 500, body: { error: 'down' } }));
    const failure = await startupFailure(remoteConf(server.url, { stream_config_retries: 1 }));
    expect(failure).to.be.an('error').with.property('code', 'EG_ERR_STREAM_CONFIG_FETCH');
    expect((failure as Error).message).to.contain('2 attempt(s)').and.to.contain('HTTP 500');
    expect(server.requests).to.have.length(2);
  });

  it('refuses to start on an EventStreamConfig answer that holds an error', async () => {
    server = await configServer(() => ({ status: 200, body: { error: { code: 'badvalue', info: 'Unrecognized value for parameter "action".' } } }));
    const failure = await startupFailure(remoteConf(server.url, { stream_config_retries: 0 }));
    expect(failure).to.be.an('error').with.property('code', 'EG_ERR_STREAM_CONFIG_INVALID');
    expect((failure as Error).message).to.contain('badvalue');
  });

  it('applies a rule changed on the server to the next POST after a stream_config_ttl refresh', async () => {
    const before = { 'test.refresh': { schema_title: 'test/event' } };
    const after = { 'test.refresh': { schema_title: 'other/title' }, 'test.added': { schema_title: 'test/event' } };
    server = await configServer(() => apiAnswer(before));
    svc = await startTestService(remoteConf(server.url, { stream_config_ttl: 1 }));
    const port = svc.port;
    expect((await post(port, event('test.refresh', 1))).status).to.equal(201);
    expect((await post(port, event('test.added', 2))).status).to.equal(400);

    server.respond = () => apiAnswer(after);
    await until(async () => (await call(port, { path: '/v1/stream-configs' })).text === JSON.stringify(after), 5000, 'the refreshed config');

    const refused = await post(port, event('test.refresh', 3));
    expect(refused.status).to.equal(400);
    expect(invalidItems(refused)[0].context.errorsText).to.contain('"test.refresh"').and.to.contain('"other/title"');
    expect((await post(port, event('test.added', 4))).status).to.equal(201);
  });

  it('keeps the last good config when a refresh fails', async () => {
    server = await configServer(() => apiAnswer(STREAMS));
    svc = await startTestService(remoteConf(server.url, { stream_config_ttl: 1 }));
    const metrics = svc.metrics;
    server.respond = () => ({ status: 500, body: { error: 'down' } });
    await until(() => metrics.counter('stream_config.refresh.failed', { code: 'EG_ERR_STREAM_CONFIG_FETCH' }) >= 1, 5000, 'a failed refresh');
    server.respond = () => ({ status: 200, body: 'not an api answer' });
    await until(() => metrics.counter('stream_config.refresh.failed', { code: 'EG_ERR_STREAM_CONFIG_INVALID' }) >= 1, 5000, 'an unusable refresh');

    const r = await post(svc.port, [event('test.remote', 1), event('test.remote-regex.b', 2)]);
    expect(r.status, r.text).to.equal(201);
    expect((await call(svc.port, { path: '/v1/stream-configs' })).json).to.deep.equal(STREAMS);
  });
});
