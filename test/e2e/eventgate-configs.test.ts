/**
 * EventGate's own configs, as deployed (test/fixtures/eventgate-configs/,
 * README there says where each comes from), start eventgate unchanged: only
 * the strings in FIXTURES are replaced (ports, the broker, absolute paths of
 * the image, the topic prefix so that each run has its own topics). Each is
 * run as an operator would, `eventgate -c` in a child process, against the
 * real broker where it names Kafka; what a consumer reads back is what
 * EventGate would have produced: the event as validated (schema defaults
 * filled), no key, the event time as the Kafka timestamp, no headers.
 */
import { expect } from 'chai';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import yaml from 'js-yaml';
import { call, type Reply } from '../helpers/http';
import { ROOT } from '../helpers/paths';
import { freePort } from '../helpers/ports';
import { withTempDir } from '../helpers/tempdir';
import { until } from '../helpers/until';
import { consumeAll, kafkaBootstrap, uniqueTopic, type ConsumedMessage } from '../helpers/kafka';
import { eventgate, UUID, type Child } from '../helpers/kafka-service';

const FIXTURES_DIR = join(ROOT, 'test', 'fixtures', 'eventgate-configs');
const WMF_SCHEMAS = join(FIXTURES_DIR, 'schemas', 'mediawiki-event-schemas');

/** What a run substitutes: ports are free ones, `prefix` a unique topic prefix. */
interface Place {
  readonly dir: string;
  readonly port: number;
  readonly metricsPort: number;
  readonly prefix: string;
}

interface Fixture {
  readonly file: string;
  /** Exact strings of the file and what replaces each; each must occur. */
  readonly replace: (p: Place) => readonly (readonly [string, string])[];
  /** Files placed beside the config in the temporary folder: [fixture path, path there]. */
  readonly beside?: readonly (readonly [string, string])[];
  /** The stream of test_events, when the config has them. */
  readonly testStream?: string;
  /** A valid event to POST (meta.dt set by the test), its stream, and whether it goes to Kafka. */
  readonly post: { readonly stream: string; readonly event: Record<string, unknown>; readonly defaults: Record<string, unknown> };
  readonly kafka: boolean;
}

const CHART_REPLACE = (p: Place): [string, string][] => [
  ['port: 8192', `port: ${p.port}`],
  ['- kafka.default.svc.cluster.local:31092', `- ${kafkaBootstrap()}`],
  ['file:///srv/service/schemas/event/primary/jsonschema/', pathToFileURL(WMF_SCHEMAS).href + '/'],
  ['stream_config_uri: /etc/eventgate/stream-config.yaml', `stream_config_uri: ${join(p.dir, 'stream-config.yaml')}`],
  ['topic_prefix: datacenter1.', `topic_prefix: ${p.prefix}`],
];

const TEST_EVENT_1 = {
  $schema: '/test/event/1.0.0',
  meta: { stream: 'eventgate.test.event', id: '12345678-1234-5678-1234-567812345678', domain: 'wikimedia.org', request_id: 'migrate-1' },
  test_map: { key1: 'val1' },
};

const FIXTURES: readonly Fixture[] = [
  {
    file: 'eventgate-1.8.4.config.yaml',
    replace: (p) => [['port: 8192', `port: ${p.port}`]],
    beside: [['schemas/eventgate-test', 'test/schemas']],
    testStream: 'test_events',
    post: {
      stream: 'test_events',
      event: { $schema: '/test/0.0.1', meta: { stream: 'test_events', id: '12345678-1234-5678-1234-567812345678' }, test: 'posted' },
      defaults: { test_default: 'default_value' },
    },
    kafka: false,
  },
  {
    file: 'eventgate-2019.config.wikimedia.yaml',
    replace: (p) => [
      ['port: 8192', `port: ${p.port}`],
      ["metadata.broker.list: 'localhost:9092'", `metadata.broker.list: '${kafkaBootstrap()}'`],
      ['schema_base_uris: [../event-schemas/jsonschema/]', `schema_base_uris: [${JSON.stringify(WMF_SCHEMAS + '/')}]`],
      ["topic_prefix: 'datacenter1.'", `topic_prefix: '${p.prefix}'`],
    ],
    beside: [['config/wikimedia-stream-config.yaml', 'config/wikimedia-stream-config.yaml']],
    post: {
      stream: 'test.event',
      event: { $schema: '/test/event/0.0.2', meta: { stream: 'test.event', id: '12345678-1234-5678-1234-567812345678', domain: 'wikimedia.org', request_id: 'migrate-2' } },
      defaults: { test: 'default test value' },
    },
    kafka: true,
  },
  {
    file: 'chart-0.16.9.config.yaml',
    replace: (p) => [...CHART_REPLACE(p), ['port: 9102', `port: ${p.metricsPort}`]],
    beside: [['chart.stream-config.yaml', 'stream-config.yaml']],
    testStream: 'eventgate.test.event',
    post: { stream: 'eventgate.test.event', event: TEST_EVENT_1, defaults: { test: 'default value' } },
    kafka: true,
  },
  {
    file: 'chart-0.2.14.config.yaml',
    replace: CHART_REPLACE,
    beside: [['chart.stream-config.yaml', 'stream-config.yaml']],
    testStream: 'eventgate.test.event',
    post: { stream: 'eventgate.test.event', event: TEST_EVENT_1, defaults: { test: 'default value' } },
    kafka: true,
  },
];

/** The fixture in a fresh folder, its substitutions made; returns the config's path. */
function place(f: Fixture, p: Place): string {
  let text = readFileSync(join(FIXTURES_DIR, f.file), 'utf8');
  for (const [from, to] of f.replace(p)) {
    expect(text, `${f.file} holds ${from}`).to.contain(from);
    text = text.split(from).join(to);
  }
  for (const [from, to] of f.beside ?? []) cpSync(join(FIXTURES_DIR, from), join(p.dir, to), { recursive: true });
  const path = join(p.dir, 'config.yaml');
  writeFileSync(path, text);
  return path;
}

/** Lines of a stream of JSON lines that parse (events on stdout, or log lines). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function expectEventGateMessage(m: ConsumedMessage, want: Record<string, unknown>): void {
  const got = JSON.parse((m.value as Buffer).toString('utf8')) as Record<string, unknown>;
  expect(got).to.deep.equal(want);
  expect(m.key, 'no key, as EventGate').to.equal(null);
  expect(m.timestamp, 'the event time as the Kafka timestamp').to.equal(Date.parse((want.meta as { dt: string }).dt));
  expect(m.headers, 'no headers, as EventGate').to.deep.equal({});
}

describe('EventGate configs, unchanged', function () {
  this.timeout(90000);
  const tempDir = withTempDir('eventgate-configs-');
  let child: Child | undefined;

  afterEach(async function () {
    await child?.kill();
    child = undefined;
  });

  for (const f of FIXTURES) {
    it(`${f.file}: passes --check-config, serves test_events and takes a valid event as EventGate would`, async function () {
      const p: Place = { dir: tempDir(), port: await freePort(), metricsPort: await freePort(), prefix: `${uniqueTopic('migrate')}.` };
      const config = place(f, p);

      const check = await eventgate(['--check-config', '-c', config]).exited(30000);
      expect(check.code, check.stderr + check.stdout).to.equal(0);

      const running = eventgate(['-c', config]);
      child = running;
      await until(
        async () => {
          if (running.process.exitCode !== null) throw new Error(`eventgate exited ${running.process.exitCode}: ${running.stderr()} ${running.stdout()}`);
          return (await call(p.port, { path: '/readyz' }).catch(() => undefined))?.status === 200;
        },
        30000,
        '/readyz 200',
      );

      const from = Date.now();
      if (f.testStream !== undefined) {
        const t: Reply = await call(p.port, { path: '/v1/_test/events' });
        expect(t.status, t.text).to.equal(201);
      }
      const dt = new Date(Date.now() - 60_000).toISOString();
      const event = { ...f.post.event, meta: { ...(f.post.event.meta as object), dt } };
      const r = await call(p.port, { method: 'POST', path: '/v1/events', body: event, headers: { 'x-request-id': 'migrate-request' } });
      expect(r.status, r.text).to.equal(201);
      const want = { ...event, ...f.post.defaults };

      if (!f.kafka) {
        // The example config writes events to stdout, log lines to stderr.
        await until(() => jsonLines(running.stdout()).length >= 2, 10000, 'both events on stdout');
        const [testEvent, posted] = jsonLines(running.stdout());
        expect(testEvent).to.deep.equal({ ...(readTestEvents(config)[0] as object), test_default: 'default_value' });
        expect(posted).to.deep.equal(want);
        return;
      }
      if (f.testStream !== undefined) {
        const [t, m] = await consumeAll(p.prefix + f.testStream, 2);
        const meta = (JSON.parse((t.value as Buffer).toString('utf8')) as { meta: { id: string; dt: string } }).meta;
        expect(meta.id, 'meta.id filled in').to.match(UUID);
        expect(Date.parse(meta.dt), 'meta.dt filled in: the time of receipt').to.be.within(from, Date.now());
        expect(t.timestamp).to.equal(Date.parse(meta.dt));
        expect(t.headers).to.deep.equal({});
        expectEventGateMessage(m, want);
      } else {
        const [m] = await consumeAll(p.prefix + f.post.stream, 1);
        expectEventGateMessage(m, want);
      }
      // logging.streams with named_levels: the level by name on stdout, as service-runner writes it.
      const logs = jsonLines(running.stdout());
      if (readFileSync(config, 'utf8').includes('named_levels: true')) {
        expect(logs.length).to.be.greaterThan(0);
        for (const l of logs) expect(l.level).to.be.oneOf(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']);
        expect(logs.some((l) => l.event === 'config_notes')).to.equal(true);
      }
    });
  }
});

/** services[0].conf.test_events of a config file, as it gives them. */
function readTestEvents(config: string): unknown[] {
  const doc = yaml.load(readFileSync(config, 'utf8')) as { services: { conf: { test_events: unknown[] } }[] };
  return doc.services[0].conf.test_events;
}
