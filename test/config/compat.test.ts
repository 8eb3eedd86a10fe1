/**
 * service-runner / EventGate 1.8 / eventgate-wikimedia config shapes: what
 * each becomes here (lib/config/normalize.ts), what is a note
 * (lib/config/notes.ts) and what is refused, by its path.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkConfig, parseConfigDocument, parseConfigText } from '../../lib/config/load';
import { evaluateWorkers } from '../../lib/config/normalize';
import type { EventGateError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { until } from '../helpers/until';
import { withTempDir } from '../helpers/tempdir';

const KAFKA = 'kafka: {conf: {metadata.broker.list: "k:9092"}}';

function checked(text: string, dir?: string): ReturnType<typeof checkConfig> {
  const problems: string[] = [];
  return checkConfig(parseConfigDocument(text, {}, problems), problems, dir);
}

function problemsOf(text: string): string[] {
  try {
    parseConfigText(text, {});
  } catch (err) {
    expect((err as EventGateError).code).to.equal('EG_ERR_CONFIG_INVALID');
    return (err as EventGateError).details as string[];
  }
  throw new Error('config was accepted');
}

describe('EventGate and service-runner config shapes', function () {
  const tempDir = withTempDir('eventgate-compat-');

  it('takes metrics as one object, as the helm chart renders it, keeping service-runner\'s name for EventGate\'s series', function () {
    const config = parseConfigText('metrics: {name: eventgate-main, host: localhost, port: 9125, type: statsd}', {});
    expect(config.metrics).to.deep.equal([
      { type: 'statsd', name: 'eventgate-main', host: 'localhost', port: 9125, prefix: 'eventgate', batch: { max_size: 1500, max_delay: 1000 } },
    ]);
    const prometheus = parseConfigText('metrics: {name: eventgate, type: prometheus, port: 9102}', {});
    expect(prometheus.metrics[0]).to.include({ type: 'prometheus', name: 'eventgate', host: '0.0.0.0', port: 9102 });
    const own = parseConfigText('metrics: [{type: statsd, prefix: mine, batch: false}]', {});
    expect(own.metrics[0]).to.include({ prefix: 'mine', batch: false }).and.not.have.property('name');
  });

  it('takes metrics: with every entry commented out (null) as no metrics', function () {
    expect(parseConfigText('metrics:\n  #type: statsd\n', {}).metrics).to.deep.equal([]);
  });

  it('accepts metrics of type log and leaves them out, with a note', function () {
    const c = checked('metrics: [{type: log}, {type: statsd}]');
    expect(c.config?.metrics.map((m) => m.type)).to.deep.equal(['statsd']);
    expect(c.notes.map((n) => n.path)).to.include('metrics[0].type');
  });

  it('writes logging.streams to stdout with named levels, to stderr and to a file, and refuses gelf by its key', async function () {
    const dir = tempDir();
    const config = parseConfigText(
      `logging: {level: info, streams: [{type: stdout, named_levels: true}, {type: stderr, level: error}, {type: file, path: logs.json, named_levels: true}, {path: plain.json}]}\nservices: [{conf: {${KAFKA}}}]`,
      {},
      dir,
    );
    expect(config.logging.streams).to.deep.equal([
      { type: 'stdout', level: undefined, named_levels: true },
      { type: 'stderr', level: 'error', named_levels: false },
      { type: 'file', path: join(dir, 'logs.json'), level: undefined, named_levels: true },
      { type: 'file', path: join(dir, 'plain.json'), level: undefined, named_levels: false },
    ]);
    const onlyFiles = { ...config.logging, streams: config.logging.streams.slice(2) };
    createLogger(onlyFiles, { worker_id: 0 }).info({ event: 'probe' }, 'probe');
    const lines = async (file: string): Promise<Record<string, unknown>[]> => {
      let text = '';
      await until(() => existsSync(join(dir, file)) && (text = readFileSync(join(dir, file), 'utf8')).endsWith('\n'), 5000, `${file} written`);
      return text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    expect((await lines('logs.json'))[0]).to.include({ event: 'probe', level: 'INFO', worker_id: 0 });
    expect((await lines('plain.json'))[0]).to.include({ event: 'probe', level: 30 });

    expect(problemsOf(`logging: {streams: [{type: stdout}, {type: gelf, host: logstash, port: 12201}, {type: syslog}]}\nservices: [{conf: {${KAFKA}}}]`)).to.deep.equal([
      `logging.streams[1].type: "gelf": eventgate writes logs to stdout, stderr, file only; ship stdout with the platform's log collector (gelf, syslog and the like are not built in)`,
      `logging.streams[2].type: "syslog": eventgate writes logs to stdout, stderr, file only; ship stdout with the platform's log collector (gelf, syslog and the like are not built in)`,
    ]);
    expect(problemsOf('logging: {streams: [{type: stdout}]}')[0]).to.match(/^logging\.streams\[0\]: stdout would mix/);
    const debug = checked(`logging: {streams: [{type: debug}]}\nservices: [{conf: {${KAFKA}}}]`);
    expect(debug.config?.logging.streams).to.deep.equal([{ type: 'stdout', level: undefined, named_levels: false }]);
    expect(debug.notes.map((n) => n.path)).to.deep.equal(['logging.streams[0].type']);
  });

  it("works out service-runner's num_workers arithmetic of ncpu, floored, and keeps eventgate's own specs", function () {
    expect(evaluateWorkers('ncpu/2', 7)).to.equal(3);
    expect(evaluateWorkers('(ncpu - 1) * 2', 4)).to.equal(6);
    expect(evaluateWorkers('ncpu * 0.5 + 1', 3)).to.equal(2);
    expect(evaluateWorkers('ncpu ** 2', 3)).to.equal(undefined);
    expect(parseConfigText('num_workers: ncpu*2', {}).num_workers).to.equal('ncpu*2');
    expect(parseConfigText('num_workers: 3', {}).num_workers).to.equal(3);
    expect(parseConfigText('num_workers: "1+1"', {}).num_workers).to.equal(2);
  });

  it('takes worker_heartbeat_timeout: false as no heartbeat check', function () {
    expect(parseConfigText('worker_heartbeat_timeout: false', {}).worker_heartbeat_timeout).to.be.at.least(Number.MAX_SAFE_INTEGER);
    expect(parseConfigText('worker_heartbeat_timeout: 5000', {}).worker_heartbeat_timeout).to.equal(5000);
  });

  it('takes output_path: null with Kafka, and refuses it with no sink left', function () {
    expect(parseConfigText(`services: [{conf: {output_path: null, ${KAFKA}}}]`, {}).services[0].conf.output_path).to.be.a('string');
    expect(problemsOf('services: [{conf: {output_path: null}}]')[0]).to.match(/^services\[0\]\.conf\.output_path: /);
  });

  it("takes EventGate's and eventgate-wikimedia's factory modules, and refuses any other by its key", function () {
    for (const m of ['../lib/factories/default-eventgate', '../lib/factories/wikimedia-eventgate', '/srv/service/eventgate-wikimedia.js', '@wikimedia/eventgate-wikimedia']) {
      expect(() => parseConfigText(`services: [{conf: {eventgate_factory_module: ${JSON.stringify(m)}}}]`, {}), m).to.not.throw();
    }
    expect(problemsOf('services: [{conf: {eventgate_factory_module: ./my-factory.js}}]')[0]).to.match(/^services\[0\]\.conf\.eventgate_factory_module: "\.\/my-factory\.js": /);
  });

  it("fills nothing into events when the config names EventGate's default factory, unless it sets the fields itself", function () {
    const named = parseConfigText("services: [{conf: {eventgate_factory_module: '../lib/factories/default-eventgate'}}]", {}).services[0].conf;
    expect([named.id_field, named.dt_field, named.http_request_headers_to_fields]).to.deep.equal(['', '', {}]);
    const own = parseConfigText("services: [{conf: {eventgate_factory_module: '../lib/factories/default-eventgate', dt_field: meta.dt}}]", {}).services[0].conf;
    expect(own.dt_field).to.equal('meta.dt');
    const wikimedia = parseConfigText("services: [{conf: {eventgate_factory_module: '/srv/service/eventgate-wikimedia.js'}}]", {}).services[0].conf;
    expect([wikimedia.id_field, wikimedia.dt_field]).to.deep.equal(['meta.id', 'meta.dt']);
  });

  it("takes EventGate's early schema_base_uri as the one schema base, unless schema_base_uris is set", function () {
    expect(parseConfigText('services: [{conf: {schema_base_uri: ./test/schemas}}]', {}).services[0].conf.schema_base_uris).to.deep.equal(['./test/schemas']);
    const both = checked('services: [{conf: {schema_base_uri: ./a, schema_base_uris: [./b]}}]');
    expect(both.config?.services[0].conf.schema_base_uris).to.deep.equal(['./b']);
    expect(both.notes.map((n) => n.path)).to.deep.equal(['services[0].conf.schema_base_uri']);
  });

  it('reads the first of a list of stream fields, with a note for the others', function () {
    const c = checked('services: [{conf: {stream_field: [meta.stream, meta.topic]}}]');
    expect(c.config?.services[0].conf.stream_field).to.equal('meta.stream');
    expect(c.notes.map((n) => n.path)).to.deep.equal(['services[0].conf.stream_field']);
  });

  it('sends user_agent as the User-Agent of stream config fetches, unless the options name one', function () {
    const conf = parseConfigText('services: [{conf: {user_agent: eventgate-main}}]', {}).services[0].conf;
    expect(conf.stream_config_uri_options?.headers).to.deep.equal({ 'user-agent': 'eventgate-main' });
    const own = parseConfigText("services: [{conf: {user_agent: a, stream_config_uri_options: {headers: {User-Agent: b, Host: meta}}}}]", {}).services[0].conf;
    expect(own.stream_config_uri_options?.headers).to.deep.equal({ 'User-Agent': 'b', Host: 'meta' });
  });

  it('accepts the keys that do nothing here and lists each as a note with its path, csp: false and cors: false among them', function () {
    const c = checked(
      [
        'service_name: eventgate-main',
        'startup_concurrency: 2',
        'worker_heartbeat_timeout: false',
        'ratelimiter: {type: memory}',
        'dns_cache: {ttl: 5, size: 100}',
        'app_base_path: /srv/service',
        'info: {name: x}',
        'version: 1.0.0',
        'logging: {level: info, sampled_levels: {trace/webrequest: 0.2}}',
        'services:',
        '  - name: eventgate-main',
        '    module: eventgate',
        '    entrypoint: app',
        '    app_base_path: /srv/service',
        '    conf:',
        '      cors: false',
        '      csp: false',
        '      compression_level: 3',
        '      log_header_whitelist: [user-agent]',
        '      proxy: http://proxy:8080',
        '      no_proxy_list: [localhost]',
        '      spec: ./spec.yaml',
        '      transforms: [eventgateWikimediaDefaults, testKitchen]',
        '      test_kitchen: {ua_denylist: [bot]}',
        '      id_field: meta.id',
        `      ${KAFKA}`,
      ].join('\n'),
    );
    expect(c.problems).to.deep.equal([]);
    expect(c.config?.services[0].conf.cors).to.equal(false);
    expect(c.notes.map((n) => n.path)).to.deep.equal([
      'service_name',
      'startup_concurrency',
      'ratelimiter',
      'dns_cache',
      'app_base_path',
      'info',
      'version',
      'logging.sampled_levels',
      'services[0].module',
      'services[0].entrypoint',
      'services[0].app_base_path',
      'services[0].conf.compression_level',
      'services[0].conf.log_header_whitelist',
      'services[0].conf.proxy',
      'services[0].conf.no_proxy_list',
      'services[0].conf.spec',
      'services[0].conf.test_kitchen',
      'services[0].conf.csp',
      'services[0].conf.transforms[1]',
    ]);
    for (const n of c.notes) expect(n.reason, n.path).to.be.a('string').that.is.not.empty;
  });
});
