import bunyan from 'bunyan';
import { expect } from 'chai';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { EventGateError } from '../../lib/errors';
import { silentLogger } from '../../lib/log';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { StreamRegistry, type StreamRegistryOptions } from '../../lib/stream/registry';
import { until } from '../helpers/until';
import { configServer, recordingLogger, STREAM_FIXTURES, type ConfigServer } from '../helpers/stream-config';

function options(uri: string, more: Partial<StreamRegistryOptions> = {}): StreamRegistryOptions {
  return {
    uri,
    configDir: STREAM_FIXTURES,
    ttlSeconds: 0,
    retries: 0,
    timeoutMs: 2000,
    serviceName: 'eventgate',
    log: silentLogger(),
    metrics: new MemoryMetrics(),
    retryDelayMs: 5,
    ...more,
  };
}

async function startFailure(opts: StreamRegistryOptions): Promise<EventGateError> {
  try {
    const registry = await StreamRegistry.start(opts);
    registry.close();
  } catch (err) {
    expect(err).to.be.instanceOf(EventGateError);
    return err as EventGateError;
  }
  throw new Error('StreamRegistry.start resolved, expected it to fail');
}

const STREAMS = {
  'test.event': { schema_title: 'test/event' },
  '/^mediawiki\\.job\\..+/': { schema_title: 'mediawiki/job' },
};

describe('stream registry', () => {
  const registries: StreamRegistry[] = [];
  const servers: ConfigServer[] = [];

  async function start(opts: StreamRegistryOptions): Promise<StreamRegistry> {
    const registry = await StreamRegistry.start(opts);
    registries.push(registry);
    return registry;
  }

  async function serve(...args: Parameters<typeof configServer>): Promise<ConfigServer> {
    const server = await configServer(...args);
    servers.push(server);
    return server;
  }

  afterEach(async () => {
    for (const r of registries.splice(0)) r.close();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  describe('from a local file', () => {
    it('loads a YAML file relative to the config directory', async () => {
      const registry = await start(options('streams.yaml'));
      expect(registry.get('test.event')).to.deep.equal({ schema_title: 'test/event', message_key_fields: { id: 'meta.id' } });
      expect(registry.get('mediawiki.job.refreshLinks')).to.deep.equal({ schema_title: 'mediawiki/job' });
      expect(registry.get('nope')).to.equal(undefined);
    });

    it('loads a JSON file in the EventStreamConfig shape through a file:// URL and stream_config_object_path', async () => {
      const uri = pathToFileURL(join(STREAM_FIXTURES, 'eventstreamconfig.json')).href;
      const registry = await start(options(uri, { objectPath: 'streams' }));
      expect(registry.get('test.event')?.topic_prefixes).to.deep.equal(['eqiad.', 'codfw.']);
      expect(Object.keys(registry.all())).to.deep.equal(['test.event', '/^mediawiki\\.job\\..+/']);
    });

    it('fails clearly when the file does not exist, after the configured retries', async () => {
      const metrics = new MemoryMetrics();
      const err = await startFailure(options('missing.yaml', { retries: 2, metrics }));
      expect(err.code).to.equal('EG_ERR_STREAM_CONFIG_FETCH');
      expect(err.message).to.contain('missing.yaml').and.contain('ENOENT').and.contain('3 attempt(s)');
      expect(metrics.counter('stream_config.load.failed', { code: 'EG_ERR_STREAM_CONFIG_FETCH' })).to.equal(3);
    });

    it('fails with EG_ERR_STREAM_CONFIG_INVALID on a file that is not YAML, naming the line', async () => {
      const err = await startFailure(options('broken.yaml'));
      expect(err.code).to.equal('EG_ERR_STREAM_CONFIG_INVALID');
      expect(err.message).to.contain('broken.yaml').and.match(/line \d+/);
    });

    it('fails when stream_config_object_path names nothing in the document', async () => {
      const err = await startFailure(options('eventstreamconfig.json', { objectPath: 'result.streams' }));
      expect(err.code).to.equal('EG_ERR_STREAM_CONFIG_INVALID');
      expect(err.message).to.contain("'result.streams'");
    });
  });

  describe('from an HTTP server', () => {
    it('loads the EventStreamConfig answer and sends the headers of stream_config_uri_options', async () => {
      const server = await serve({ body: { streams: STREAMS } });
      const registry = await start(
        options(server.url, { objectPath: 'streams', uriOptions: { headers: { 'user-agent': 'eventgate-test', 'x-token': 'abc' } } }),
      );
      expect(registry.get('test.event')).to.deep.equal({ schema_title: 'test/event' });
      expect(server.requests).to.have.length(1);
      expect(server.requests[0]['user-agent']).to.equal('eventgate-test');
      expect(server.requests[0]['x-token']).to.equal('abc');
    });

    it('logs the warnings of an EventStreamConfig answer and still uses its streams', async () => {
      const { log, records } = recordingLogger();
      const warnings = { main: { '*': 'Unrecognized parameter: foo.' } };
      const server = await serve({ body: { warnings, streams: STREAMS } });
      const registry = await start(options(server.url, { objectPath: 'streams', log }));
      expect(registry.get('test.event')).to.not.equal(undefined);
      const warned = records.find((r) => r.event === 'stream_config.warnings');
      expect(warned?.warnings).to.deep.equal(warnings);
    });

    it('fails a load whose answer body holds an error, with the error code and info in the message', async () => {
      const server = await serve({ body: { error: { code: 'badvalue', info: 'Unrecognized value for parameter "constraints".' } } });
      const err = await startFailure(options(server.url, { objectPath: 'streams' }));
      expect(err.code).to.equal('EG_ERR_STREAM_CONFIG_INVALID');
      expect(err.message).to.contain('badvalue: Unrecognized value for parameter "constraints".');
    });

    it('takes a stream called error in a plain stream map as a stream, not as an API error', async () => {
      const server = await serve({ body: { error: { schema_title: 'error/1' } } });
      const registry = await start(options(server.url));
      expect(registry.get('error')).to.deep.equal({ schema_title: 'error/1' });
    });

    it('gives up on a server that does not answer within stream_config_timeout_ms', async () => {
      const server = await serve('hang');
      const started = Date.now();
      const err = await startFailure(options(server.url, { timeoutMs: 150 }));
      expect(err.code).to.equal('EG_ERR_STREAM_CONFIG_FETCH');
      expect(err.message).to.contain('timed out after 150 ms');
      // Ended by the 150 ms timeout, not by the server (which never answers): room for a loaded machine.
      expect(Date.now() - started).to.be.below(8000);
    });

    it('retries a 500 with back-off, then fails clearly', async () => {
      const server = await serve({ status: 500, body: 'oops' });
      const err = await startFailure(options(server.url, { retries: 2 }));
      expect(server.requests).to.have.length(3);
      expect(err.code).to.equal('EG_ERR_STREAM_CONFIG_FETCH');
      expect(err.message).to.contain('HTTP 500').and.contain('3 attempt(s)').and.contain(server.url);
    });

    it('succeeds when a retry at startup gets an answer after a 500', async () => {
      const server = await serve({ status: 500, body: 'oops' });
      const metrics = new MemoryMetrics();
      const pending = start(options(server.url, { retries: 5, retryDelayMs: 50, objectPath: 'streams', metrics }));
      await until(() => server.requests.length >= 1, 2000, 'the first attempt');
      server.answer = { body: { streams: STREAMS } };
      const registry = await pending;
      expect(registry.get('test.event')).to.not.equal(undefined);
      expect(metrics.counter('stream_config.load.failed', { code: 'EG_ERR_STREAM_CONFIG_FETCH' })).to.be.at.least(1);
    });

    it('refuses a config with a broken regex key or mistyped settings, listing every problem', async () => {
      const server = await serve({ body: { '/(unclosed/': {}, 'a.stream': { schema_title: 3, topic_prefixes: 'eqiad.' } } });
      const err = await startFailure(options(server.url));
      expect(err.code).to.equal('EG_ERR_STREAM_CONFIG_INVALID');
      expect(err.message)
        .to.contain('/(unclosed/: not a valid regular expression')
        .and.contain('a.stream.schema_title: must be a string')
        .and.contain('a.stream.topic_prefixes: must be a list of strings');
    });
  });

  describe('refreshing', () => {
    it('applies a changed rule on the next stream_config_ttl refresh', async () => {
      const server = await serve({ body: { streams: STREAMS } });
      const registry = await start(options(server.url, { objectPath: 'streams', ttlSeconds: 0.05 }));
      expect(registry.get('mediawiki.job.x')?.schema_title).to.equal('mediawiki/job');
      server.answer = { body: { streams: { ...STREAMS, '/^mediawiki\\.job\\..+/': { schema_title: 'mediawiki/job/v2' } } } };
      await until(() => registry.get('mediawiki.job.x')?.schema_title === 'mediawiki/job/v2', 3000, 'the refreshed rule');
    });

    it('keeps the last good config when a background refresh fails, and logs and counts the failure', async () => {
      const { log, records } = recordingLogger();
      const metrics = new MemoryMetrics();
      const server = await serve({ body: { streams: STREAMS } });
      const registry = await start(options(server.url, { objectPath: 'streams', ttlSeconds: 0.05, log, metrics }));
      server.answer = { status: 503, body: 'down' };
      await until(() => metrics.counter('stream_config.refresh.failed', { code: 'EG_ERR_STREAM_CONFIG_FETCH' }) >= 2, 3000, 'failed refreshes');
      expect(registry.get('test.event')).to.deep.equal({ schema_title: 'test/event' });
      expect(records.some((r) => r.event === 'stream_config.refresh_failed' && r.level === bunyan.ERROR)).to.equal(true);
    });

    it('answers refresh() with false on failure and true once the source is back, swapping the config', async () => {
      const server = await serve({ body: STREAMS });
      const registry = await start(options(server.url));
      server.answer = { body: 'streams: [not, a, map' };
      expect(await registry.refresh()).to.equal(false);
      expect(registry.get('test.event')).to.deep.equal({ schema_title: 'test/event' });
      server.answer = { body: { 'other.stream': {} } };
      expect(await registry.refresh()).to.equal(true);
      expect(registry.get('test.event')).to.equal(undefined);
      expect(registry.get('other.stream')).to.deep.equal({});
    });

    it('shares one load between concurrent refreshes', async () => {
      const server = await serve({ body: STREAMS });
      const registry = await start(options(server.url));
      const before = server.requests.length;
      const results = await Promise.all([registry.refresh(), registry.refresh(), registry.refresh()]);
      expect(results).to.deep.equal([true, true, true]);
      expect(server.requests.length - before).to.equal(1);
    });

    it('keeps the same table, and its cache, when a refresh brings the same config', async () => {
      const server = await serve({ body: STREAMS });
      const registry = await start(options(server.url));
      const table = registry.table;
      expect(await registry.refresh()).to.equal(true);
      expect(registry.table).to.equal(table);
    });

    it('stops refreshing once closed', async () => {
      const server = await serve({ body: STREAMS });
      const registry = await start(options(server.url, { ttlSeconds: 0.02 }));
      await until(() => server.requests.length >= 3, 3000, 'background refreshes');
      registry.close();
      registry.close();
      // A refresh in flight at close may still land; after that, nothing. The window is measured
      // by an open registry with the same TTL: once it has refreshed five times, so would this one have.
      const settled = server.requests.length;
      const witnessServer = await serve({ body: STREAMS });
      const witness = await start(options(witnessServer.url, { ttlSeconds: 0.02 }));
      const from = witnessServer.requests.length;
      await until(() => witnessServer.requests.length >= from + 5, 3000, 'the open registry refreshing');
      witness.close();
      expect(server.requests.length).to.be.at.most(settled + 1);
    });
  });
});
