/**
 * `eventgate --check-config` refuses what start refuses: for each config
 * below, the check and a real start both exit 1 and name the same problem.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './helpers/service';

const BIN = join(ROOT, 'bin/eventgate');
const BASE = { port: 0, interface: '127.0.0.1', schema_base_uris: [join(ROOT, 'schemas')], schema_file_extension: '.yaml' };

const REFUSED: readonly { readonly name: string; readonly conf: Record<string, unknown>; readonly problem: RegExp }[] = [
  { name: 'a schema_base_uris entry with an unsupported scheme', conf: { schema_base_uris: ['ftp://schemas.example/'] }, problem: /ftp:\/\/schemas\.example\/ has an unsupported scheme/ },
  {
    name: 'an unknown librdkafka property',
    conf: { kafka: { conf: { 'metadata.broker.list': '127.0.0.1:9', 'no.such.property': 1 } } },
    // check-config names it by its path (kafka.conf.no.such.property), start with librdkafka's words.
    problem: /no\.such\.property/,
  },
  {
    name: 'a librdkafka property with a bad value',
    conf: { kafka: { conf: { 'metadata.broker.list': '127.0.0.1:9' }, topic_conf: { acks: 'banana' } } },
    problem: /Invalid value for configuration property/,
  },
  {
    name: 'a security.protocol librdkafka does not know',
    conf: { kafka: { conf: { 'metadata.broker.list': '127.0.0.1:9', 'security.protocol': 'tls' } } },
    problem: /Invalid value \\?"tls\\?" for configuration property \\?"security\.protocol/,
  },
  { name: 'a cors /regex/ that does not compile', conf: { cors: ['https://a.example', '/https://(.*\\.example$/'] }, problem: /is not a valid regular expression/ },
  { name: 'a schema in schema_precache_uris that cannot be loaded', conf: { schema_precache_uris: ['/test/event/1.0.0', '/no/such/1.0.0'] }, problem: /\/no\/such\/1\.0\.0/ },
  {
    name: 'a schema in schema_precache_uris that is found but insecure',
    conf: { schema_base_uris: [join(ROOT, 'test/fixtures/schemas')], schema_precache_uris: ['/insecure/event/1.0.0'] },
    problem: /\/insecure\/event\/1\.0\.0 \(EG_ERR_SCHEMA_INSECURE/,
  },
];

describe('eventgate --check-config against start', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'eventgate-preflight-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function configFile(name: string, conf: Record<string, unknown>): string {
    const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    // JSON is YAML: the file is exactly the object.
    writeFileSync(file, JSON.stringify({ logging: { level: 'warn' }, services: [{ name: 'eventgate', conf: { ...BASE, ...conf } }] }));
    return file;
  }

  for (const c of REFUSED) {
    it(`refuses ${c.name}, as start does`, () => {
      const file = configFile(c.name, c.conf);
      const check = spawnSync(process.execPath, [BIN, '--check-config', '-c', file], { encoding: 'utf8', timeout: 15000 });
      expect(check.status, check.stdout).to.equal(1);
      expect(check.stderr).to.match(c.problem);
      const start = spawnSync(process.execPath, [BIN, '-c', file], { encoding: 'utf8', timeout: 15000 });
      expect(start.status, 'start exits 1 by itself').to.equal(1);
      expect(start.stdout + start.stderr).to.match(c.problem);
    });
  }

  it('refuses an empty config file, as start does', () => {
    const file = join(dir, 'empty.yaml');
    writeFileSync(file, '# to be filled in by the deploy\n');
    const check = spawnSync(process.execPath, [BIN, '--check-config', '-c', file], { encoding: 'utf8', timeout: 15000 });
    expect(check.status, check.stdout).to.equal(1);
    expect(check.stderr).to.contain('the file holds no YAML document');
    const start = spawnSync(process.execPath, [BIN, '-c', file], { encoding: 'utf8', timeout: 15000 });
    expect(start.status, 'start exits 1 by itself').to.equal(1);
    expect(start.stderr).to.contain(`${file}: Config is invalid:\n  the file holds no YAML document`);
  });

  it('passes a config start takes, with Kafka settings and precached schemas', () => {
    const file = configFile('good', { kafka: { conf: { 'metadata.broker.list': '127.0.0.1:9', 'linger.ms': 2 } }, schema_precache_uris: ['/test/event/1.0.0'] });
    const check = spawnSync(process.execPath, [BIN, '--check-config', '-c', file], { encoding: 'utf8', timeout: 15000 });
    expect(check.status, check.stderr).to.equal(0);
    expect(check.stdout).to.contain('config is valid');
  });

  it('passes TLS and SASL/SCRAM settings whose secrets come from {env(...)}', () => {
    const file = join(dir, 'secure.yaml');
    writeFileSync(
      file,
      [
        'services:',
        '  - name: eventgate',
        '    conf:',
        `      schema_base_uris: [${JSON.stringify(join(ROOT, 'schemas'))}]`,
        '      kafka:',
        '        conf:',
        '          metadata.broker.list: "{env(KAFKA_BROKERS)}"',
        '          security.protocol: sasl_ssl',
        '          ssl.ca.location: "{env(KAFKA_CA)}"',
        '          sasl.mechanisms: SCRAM-SHA-512',
        '          sasl.username: "{env(KAFKA_SASL_USERNAME)}"',
        '          sasl.password: "{env(KAFKA_SASL_PASSWORD)}"',
        '',
      ].join('\n'),
    );
    const env = { ...process.env, KAFKA_BROKERS: '127.0.0.1:9', KAFKA_CA: join(dir, 'ca.pem'), KAFKA_SASL_USERNAME: 'eventgate', KAFKA_SASL_PASSWORD: 's3cret,=[]' };
    const check = spawnSync(process.execPath, [BIN, '--check-config', '-c', file], { encoding: 'utf8', timeout: 15000, env });
    expect(check.status, check.stderr).to.equal(0);
    expect(check.stdout).to.contain('config is valid');
  });
});
