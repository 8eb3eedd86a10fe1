import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_FILE, loadConfigFile, parseConfigText, parseSize, substituteEnv } from '../../lib/config/load';
import { logStreamOf } from '../../lib/config/outputs';
import { EventGateError } from '../../lib/errors';
import { ROOT } from '../helpers/paths';
import { codedRejection, rejection } from '../helpers/rejection';


function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, env);
  } catch (err) {
    expect(err).to.be.instanceOf(EventGateError);
    expect((err as EventGateError).code).to.equal('EG_ERR_CONFIG_INVALID');
    return (err as EventGateError).details as string[];
  }
  throw new Error('config was accepted');
}

describe('config loading', () => {
  it('accepts config.dev.yaml and config.yaml as shipped', async () => {
    for (const file of ['config.dev.yaml', 'config.yaml']) {
      const loaded = await loadConfigFile(join(ROOT, file), {});
      expect(loaded.dir).to.equal(ROOT);
      expect(loaded.config.services[0].conf.port).to.equal(8192);
    }
  });

  it('fills every default from the schema for an empty mapping', () => {
    const config = parseConfigText('{}', {});
    expect(config.num_workers).to.equal(0);
    expect(config.logging.level).to.equal('info');
    const conf = config.services[0].conf;
    expect(conf.schema_uri_field).to.equal('$schema');
    expect(conf.stream_field).to.equal('meta.stream');
    expect(conf.max_body_size).to.equal('10mb');
    expect(conf.allow_absolute_schema_uris).to.equal(false);
    expect(conf.allow_insecure_schemas).to.equal(false);
    expect(conf.output_path).to.equal('stdout');
  });

  it('refuses an empty file, and one of comments only, with one problem that says so', () => {
    for (const text of ['', '\n\n', '# nothing here yet\n', '---\n']) expect(problemsOf(text), JSON.stringify(text)).to.deep.equal([EMPTY_FILE]);
  });

  it('refuses logging.stream stdout when the events go to stdout, and sends logs to stderr by default then', () => {
    expect(problemsOf('logging: {stream: stdout}')).to.deep.equal([
      'logging.stream: stdout would mix log lines into the events on stdout (output_path: stdout); use stderr, or another output_path',
    ]);
    expect(logStreamOf(parseConfigText('{}', {}))).to.equal('stderr');
    expect(logStreamOf(parseConfigText('services: [{conf: {output_path: events.ndjson}}]', {}))).to.equal('stdout');
    expect(logStreamOf(parseConfigText('logging: {stream: stderr}\nservices: [{conf: {output_path: events.ndjson}}]', {}))).to.equal('stderr');
  });

  it('returns a frozen config', () => {
    const config = parseConfigText('services: [{conf: {port: 1}}]', {});
    expect(Object.isFrozen(config)).to.equal(true);
    expect(Object.isFrozen(config.services[0].conf)).to.equal(true);
  });

  it('names the path of an unknown key', () => {
    expect(problemsOf('services: [{conf: {prot: 1}}]')).to.deep.equal(['services[0].conf.prot: unknown key; did you mean port?']);
    expect(problemsOf('colour: blue')).to.deep.equal(['colour: unknown key']);
  });

  it('names the path of a wrong type', () => {
    expect(problemsOf('services: [{conf: {port: "eighty"}}]')).to.deep.equal(['services[0].conf.port: must be integer']);
  });

  it('lists every problem, not only the first', () => {
    const problems = problemsOf('logging: {level: loud}\nservices: [{conf: {port: -1, allow_insecure_schemas: maybe}}]');
    expect(problems).to.have.length(3);
    expect(problems.join('\n')).to.match(/logging\.level: must be one of "trace"/);
    expect(problems.join('\n')).to.match(/services\[0\]\.conf\.port: must be >= 0/);
    expect(problems.join('\n')).to.match(/services\[0\]\.conf\.allow_insecure_schemas: must be boolean/);
  });

  it('sends no Kafka header by default, as EventGate, x-request-id when asked, and takes no header name it does not know, nor one twice', () => {
    const conf = parseConfigText('services: [{conf: {kafka: {conf: {metadata.broker.list: "k:9092"}}}}]', {}).services[0].conf;
    expect(conf.kafka?.message_headers).to.deep.equal([]);
    const asked = parseConfigText('services: [{conf: {kafka: {message_headers: [x-request-id]}}}]', {}).services[0].conf;
    expect(asked.kafka?.message_headers).to.deep.equal(['x-request-id']);
    expect(problemsOf('services: [{conf: {kafka: {message_headers: [x-trace]}}}]')).to.deep.equal([
      'services[0].conf.kafka.message_headers[0]: must be one of "content-type", "x-request-id"',
    ]);
    expect(problemsOf('services: [{conf: {kafka: {message_headers: [content-type, content-type]}}}]')).to.deep.equal([
      'services[0].conf.kafka.message_headers: must NOT have duplicate items (items ## 0 and 1 are identical)',
    ]);
  });

  it('takes statsd and prometheus metrics targets at once, and refuses a prometheus one without its port', () => {
    const config = parseConfigText('metrics: [{type: statsd}, {type: prometheus, port: 9102, host: 0.0.0.0}]', {});
    expect(config.metrics).to.deep.equal([
      { type: 'statsd', host: 'localhost', port: 8125, prefix: 'eventgate', batch: { max_size: 1500, max_delay: 1000 } },
      { type: 'prometheus', host: '0.0.0.0', port: 9102, prefix: 'eventgate', batch: { max_size: 1500, max_delay: 1000 } },
    ]);
    expect(problemsOf('metrics: [{type: prometheus}]').join('\n')).to.match(/metrics\[0\].*port/);
  });

  it('explains a value that fits none of the allowed forms', () => {
    expect(problemsOf('num_workers: lots')).to.deep.equal(['num_workers: must be a whole number, ncpu, or arithmetic of ncpu such as ncpu*2 or ncpu/2']);
  });

  it('refuses text that is not YAML', () => {
    expect(problemsOf('services: [{conf: {port: 1}')[0]).to.match(/^not valid YAML/);
  });

  it('refuses an unreadable file with EG_ERR_CONFIG_READ', async () => {
    await codedRejection(loadConfigFile('/nonexistent/eventgate.yaml', {}), 'EG_ERR_CONFIG_READ');
  });

  it('names the file in the problems of an invalid file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eg-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'services: [{conf: {port: x}}]\n');
    const err = await rejection(loadConfigFile(file, {}));
    expect((err as Error).message).to.contain(file).and.to.contain('services[0].conf.port');
  });

  it('refuses a max_body_size that is not a size', () => {
    expect(problemsOf('services: [{conf: {max_body_size: huge}}]')).to.deep.equal([
      'services[0].conf.max_body_size: must match pattern "^\\s*\\d+(\\.\\d+)?\\s*(b|kb|mb|gb)?\\s*$"',
    ]);
  });
});

describe('config env substitution', () => {
  it('gives the default as a number when the variable is unset', () => {
    const config = parseConfigText('services: [{conf: {port: {env(PORT, 8192)}}}]', {});
    expect(config.services[0].conf.port).to.equal(8192);
  });

  it('gives the variable as a number when it is set', () => {
    const config = parseConfigText('services: [{conf: {port: {env(PORT, 8192)}}}]', { PORT: '9001' });
    expect(config.services[0].conf.port).to.equal(9001);
  });

  it('substitutes inside a longer string', () => {
    const config = parseConfigText('services: [{conf: {topic_prefix: "{env(DC)}."}}]', { DC: 'eqiad' });
    expect(config.services[0].conf.topic_prefix).to.equal('eqiad.');
  });

  it('reports an unset variable with no default, with its line', () => {
    const problems: string[] = [];
    substituteEnv('a: 1\nport: {env(NO_SUCH_VAR)}\n', {}, problems);
    expect(problems).to.deep.equal(['line 2: environment variable NO_SUCH_VAR is not set and {env(NO_SUCH_VAR)} has no default']);
  });

  it('validates the substituted value', () => {
    expect(problemsOf('services: [{conf: {port: {env(PORT)}}}]', { PORT: 'http' })).to.deep.equal([
      'services[0].conf.port: must be integer',
    ]);
  });
});

describe('parseSize', () => {
  it('reads sizes as body-parser does', () => {
    expect(parseSize(1234)).to.equal(1234);
    expect(parseSize('1mb')).to.equal(1048576);
    expect(parseSize('10kb')).to.equal(10240);
    expect(parseSize('1.5 MB')).to.equal(1572864);
    expect(() => parseSize('lots')).to.throw(/not a size/);
  });
});

describe('eventgate --check-config', () => {
  it('exits 0 for a good file and 1 listing every problem for a bad one', async () => {
    const { spawnSync } = await import('node:child_process');
    const bin = join(ROOT, 'bin/eventgate');
    const good = spawnSync(process.execPath, [bin, '--check-config', '-c', join(ROOT, 'config.dev.yaml')], { encoding: 'utf8' });
    expect(good.status, good.stderr).to.equal(0);
    expect(good.stdout).to.contain('config is valid');
    const dir = mkdtempSync(join(tmpdir(), 'eg-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'colour: blue\nservices: [{conf: {port: x}}]\n');
    const bad = spawnSync(process.execPath, [bin, '--check-config', '-c', file], { encoding: 'utf8' });
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.contain('colour: unknown key').and.to.contain('services[0].conf.port: must be integer');
  });
});
