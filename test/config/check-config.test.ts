/**
 * `eventgate --check-config` as an operator moving a config over runs it (a
 * real child process): every problem in one run, each with its config path,
 * and the accepted keys with no effect as notes that do not fail it.
 */
import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventgate } from '../helpers/kafka-service';
import { withTempDir } from '../helpers/tempdir';

/** The indented lines of one part of the report. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('  '))
    .map((l) => l.trim());
}

describe('eventgate --check-config', function () {
  this.timeout(30000);
  const tempDir = withTempDir('eventgate-check-config-');

  it('lists schema problems, a log stream it cannot serve, librdkafka properties and missing schema folders together, each with its path', async function () {
    const dir = tempDir();
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'num_workres: 2',
        'logging: {streams: [{type: gelf, host: logs.example.org}]}',
        'services:',
        '  - conf:',
        '      max_body_sise: 4mb',
        '      schema_base_uris: [./schemas, "file:///no/such/folder/"]',
        '      kafka:',
        '        conf: {metadata.broker.list: [k1:9092, k2:9092], lingr.ms: 5, compression.codec: zip}',
        '        hasty: {conf: {batch.num.mesages: 10}}',
        '',
      ].join('\n'),
    );
    const exit = await eventgate(['--check-config', '-c', config]).exited(20000);
    expect(exit.code, exit.stderr).to.equal(1);
    const problems = lines(exit.stderr);
    expect(problems.slice(0, 2)).to.deep.equal(['num_workres: unknown key; did you mean num_workers?', 'services[0].conf.max_body_sise: unknown key; did you mean max_body_size?']);
    // Found past the schema, on a config the schema refused: not held back until the typos are fixed.
    expect(problems[2]).to.match(/^logging\.streams\[0\]\.type: "gelf": /);
    expect(problems[3]).to.equal('services[0].conf.kafka.conf.lingr.ms: not a librdkafka property; did you mean linger.ms?');
    expect(problems[4]).to.match(/^services\[0\]\.conf\.kafka\.conf\.compression\.codec: /);
    expect(problems[5]).to.equal('services[0].conf.kafka.hasty.conf.batch.num.mesages: not a librdkafka property; did you mean batch.num.messages?');
    expect(problems.slice(6)).to.deep.equal([
      `services[0].conf.schema_base_uris[0]: ./schemas: no such folder (resolved: ${join(dir, 'schemas')})`,
      'services[0].conf.schema_base_uris[1]: file:///no/such/folder/: no such folder (resolved: /no/such/folder/)',
    ]);
  });

  it('exits 0 on a config whose only findings are notes, and lists them on stdout', async function () {
    const dir = tempDir();
    mkdirSync(join(dir, 'schemas'));
    const config = join(dir, 'config.yaml');
    writeFileSync(config, ['metrics: [{type: log}]', 'services:', '  - module: ./app.js', '    conf: {schema_base_uris: [./schemas], output_path: stdout}', ''].join('\n'));
    const exit = await eventgate(['--check-config', '-c', config]).exited(20000);
    expect(exit.code, exit.stderr).to.equal(0);
    expect(exit.stderr).to.equal('');
    expect(lines(exit.stdout).map((l) => l.split(':')[1].trim())).to.deep.equal(['metrics[0].type', 'services[0].module']);
  });
});
