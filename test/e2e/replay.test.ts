/**
 * `eventgate replay FILE -c config` as an operator runs it (a real child
 * process) on a spool with events that go in, one that no longer validates
 * and a line cut short by a crash.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatSpoolLines, type SpoolEntry } from '../../lib/sink/spool';
import { freePort } from '../helpers/ports';
import { ROOT } from '../helpers/service';
import { consumeAll, kafkaBootstrap } from '../helpers/kafka';
import { eventgate, makeEvents, parse, postEvents, replayReport, startKafkaService, TEST_SCHEMA, type KafkaService, type TestEvent } from '../helpers/kafka-service';
import { withTempDir } from '../helpers/tempdir';
import { spooled } from '../helpers/spool';

const STREAM = 'test.event';

describe('eventgate replay', function () {
  this.timeout(60000);
  let svc: KafkaService | undefined;
  const tempDir = withTempDir('eventgate-e2e-replay-');

  afterEach(async function () {
    await svc?.close();
    svc = undefined;
  });

  function spoolOf(dir: string): string {
    const spool = join(dir, 'failed-events.ndjson');
    const event = { ...makeEvents(STREAM, 1)[0], meta: { stream: STREAM, id: 'replay-down', dt: '2024-05-01T00:00:00.000Z' } };
    writeFileSync(
      spool,
      formatSpoolLines([{ event: { topic: STREAM, stream: STREAM, value: Buffer.from(JSON.stringify(event)), key: null, timestamp: 0 }, error: { code: 'EG_ERR_KAFKA_TIMEOUT', message: 'x' } }]),
    );
    return spool;
  }

  it('gives up after kafka.connect_timeout_ms when the broker port is closed: one JSON report with EG_ERR_KAFKA_CONNECT on stdout, logs on stderr, exit 1', async function () {
    const dir = tempDir();
    const spool = spoolOf(dir);
    const closed = await freePort();
    const connectTimeoutMs = 1500;
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        services: [
          {
            conf: {
              schema_base_uris: [join(ROOT, 'schemas')],
              schema_file_extension: '.yaml',
              kafka: { conf: { 'metadata.broker.list': `127.0.0.1:${closed}` }, connect_timeout_ms: connectTimeoutMs },
            },
          },
        ],
      }),
    );
    const started = Date.now();
    // The 30 s wait this replaces would run past this bound; a slow machine does not get near it.
    const exit = await eventgate(['replay', spool, '-c', config]).exited(25000);
    const elapsed = Date.now() - started;
    expect(exit.code, exit.stderr).to.equal(1);
    const report = replayReport(exit);
    expect(report).to.deep.include({ file: spool, read: 0, produced: 0, failed: 0 });
    const error = report.error as { code: string; message: string };
    expect(error.code).to.equal('EG_ERR_KAFKA_CONNECT');
    expect(error.message).to.contain(`kafka.connect_timeout_ms (${connectTimeoutMs} ms)`);
    const logs = exit.stderr.split('\n').filter((l) => l.length > 0);
    expect(logs.length).to.be.greaterThan(0);
    for (const l of logs) expect(() => JSON.parse(l) as unknown, l).to.not.throw();
    expect(logs.map((l) => JSON.parse(l) as { event?: string; code?: string }).find((l) => l.event === 'replay.failed')).to.include({ code: 'EG_ERR_KAFKA_CONNECT' });
    expect(elapsed).to.be.below(20000);
    expect(readFileSync(spool, 'utf8').split('\n')).to.have.length(2);
  });

  it('reports a config it cannot read as one JSON report with the error on stdout, exit 1', async function () {
    const dir = tempDir();
    const spool = spoolOf(dir);
    const exit = await eventgate(['replay', spool, '-c', join(dir, 'no-such-config.yaml')]).exited(15000);
    expect(exit.code).to.equal(1);
    const report = replayReport(exit);
    expect(report).to.deep.include({ file: spool, read: 0, produced: 0 });
    expect((report.error as { code: string }).code).to.equal('EG_ERR_CONFIG_READ');
    expect(exit.stderr).to.contain('no-such-config.yaml');
  });

  it('produces the events that still validate, writes the others to a new file, skips a broken line, exits 1 and leaves the spool as it was', async function () {
    svc = await startKafkaService();
    const dir = tempDir();
    const topic = svc.topic(STREAM);
    const events = makeEvents(STREAM, 4).map((e, i): TestEvent & { meta: { dt: string } } => ({
      ...e,
      meta: { ...e.meta, id: `replay-${i}`, dt: `2024-05-0${i + 1}T00:00:00.000Z` },
    }));
    // Event 2 no longer validates (say, its schema was made stricter since).
    const stale = { ...events[2], test_int: 'two' };
    // And Kafka refuses one: larger than the replay's message.max.bytes.
    const large = { ...events[0], meta: { ...events[0].meta, id: 'replay-4' }, test_int: 4, test: 'x'.repeat(3000) };
    const spooledEvents = [events[0], events[1], stale, events[3], large];
    const lines = formatSpoolLines(
      spooledEvents.map((e) => ({
        event: { topic, stream: STREAM, value: Buffer.from(JSON.stringify(e)), key: null, timestamp: Date.parse(e.meta.dt) },
        error: { code: 'EG_ERR_KAFKA_TIMEOUT', message: 'no delivery report within 3000 ms' },
      })),
    ).split('\n');
    // A crash in the middle of an append: the last line is cut short.
    const text = `${lines.slice(0, 5).join('\n')}\n${lines[3].slice(0, 40)}`;
    const spool = join(dir, 'failed-events.ndjson');
    writeFileSync(spool, text);
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'logging: {level: warn}',
        'services:',
        '  - name: eventgate',
        '    conf:',
        `      schema_base_uris: [${JSON.stringify(join(ROOT, 'schemas'))}]`,
        '      schema_file_extension: .yaml',
        `      topic_prefix: ${JSON.stringify(svc.prefix)}`,
        `      kafka: {message_headers: [x-request-id], conf: {metadata.broker.list: ${JSON.stringify(kafkaBootstrap())}, log_level: 3, message.max.bytes: 2000}}`,
        '',
      ].join('\n'),
    );

    const exit = await eventgate(['replay', spool, '-c', config]).exited(45000);
    expect(exit.code, exit.stderr + exit.stdout).to.equal(1);
    const report = replayReport(exit);
    expect(report).to.deep.include({ file: spool, read: 5, produced: 3, invalid: 1, failed: 1, skipped_lines: 1 });
    expect(report.failed_file).to.be.a('string').that.matches(/failed-events\.replay-failed-\d+\.ndjson$/);

    // The spool was only read; the failures went to the new file, and only there.
    expect(readFileSync(spool, 'utf8')).to.equal(text);
    expect(readdirSync(dir).sort()).to.deep.equal(['config.yaml', 'failed-events.ndjson', basename(report.failed_file as string)].sort());
    const failed = await spooled(report.failed_file as string);
    const byCode = new Map(failed.map((e) => [e.error.code, e]));
    expect(failed).to.have.length(2);
    expect([...byCode.keys()].sort()).to.deep.equal(['EG_ERR_EVENT_INVALID', 'EG_ERR_KAFKA_DELIVERY']);
    const invalid = byCode.get('EG_ERR_EVENT_INVALID') as SpoolEntry;
    expect(invalid).to.deep.include({ topic, stream: STREAM });
    expect(invalid.error.message).to.match(/test_int must be integer/);
    expect(invalid.event).to.deep.include({ $schema: TEST_SCHEMA, test_int: 'two' });
    const refused = byCode.get('EG_ERR_KAFKA_DELIVERY') as SpoolEntry;
    expect(refused).to.deep.include({ topic, stream: STREAM });
    expect(refused.event).to.deep.include({ test_int: 4, test: large.test });

    // The topic holds the three valid events, as spooled, and nothing else: a later event comes right after them.
    const s = await postEvents(svc.port, makeEvents(STREAM, 1, 99), 'after-replay');
    expect(s.status, s.text).to.equal(201);
    const messages = await consumeAll(topic, 4);
    expect(messages.map((m) => parse(m).test_int)).to.deep.equal([0, 1, 3, 99]);
    for (const [i, m] of messages.slice(0, 3).entries()) {
      const sent = [events[0], events[1], events[3]][i];
      const got = parse(m);
      expect(got).to.deep.include({ $schema: TEST_SCHEMA, test_int: sent.test_int, test_map: sent.test_map });
      expect(got.meta).to.deep.equal(sent.meta);
      expect(m.timestamp).to.equal(Date.parse(sent.meta.dt));
      expect(m.headers).to.deep.equal({ 'x-request-id': 'replay-failed-events.ndjson' });
    }
  });
});
