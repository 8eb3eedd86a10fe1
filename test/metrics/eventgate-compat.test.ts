/**
 * eventgate with the statsd config of Wikimedia's eventgate chart, sending to
 * a real statsd_exporter on the chart's mapping, against the real broker:
 * every series that EventGate 1.8.4 made through that path (recorded in
 * test/fixtures/eventgate-statsd/, see its README) is there, with the values
 * the requests give. It runs on chart-config.yaml, the chart's own config
 * (unchanged but for {env(...)}).
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, type Reply } from '../helpers/http';
import { freePort } from '../helpers/ports';
import { ROOT } from '../helpers/service';
import { until } from '../helpers/until';
import { FIRST_PRODUCER_ONLY, FIXTURE, nameOf, parseExposition, startExporter, stopChild, type Exporter, type Exposition } from '../helpers/statsd-exporter';

const SERVICE = 'eventgate-analytics';
const ID = '12345678-1234-5678-1234-567812345678';

describe('EventGate series over statsd, through the chart statsd_exporter mapping', function () {
  let exporter: Exporter | undefined;
  let eventgate: ChildProcess | undefined;
  let scrape: Exposition;
  const answers: [string, number][] = [];
  const topicPrefix = `egcompat${randomBytes(4).toString('hex')}`;
  // Read in the hook: the broker fixture publishes its address after the test files are loaded.
  let brokerAddress = '';
  let recorded: Exposition;

  before(async function () {
    // A fresh machine builds statsd_exporter from the Go module proxy first (a minute or two).
    this.timeout(600000);
    brokerAddress = process.env.EVENTGATE_TEST_KAFKA ?? '';
    recorded = parseExposition(
      readFileSync(join(FIXTURE, 'series.txt'), 'utf8')
        .replaceAll('TOPICPREFIX', topicPrefix)
        .replaceAll('BROKERPORT', brokerAddress.slice(brokerAddress.lastIndexOf(':') + 1)),
    );
    expect(brokerAddress, 'EVENTGATE_TEST_KAFKA (test/kafka/fixture.js)').to.match(/:\d+$/);
    exporter = await startExporter();
    const metricsText = exporter.scrape;
    const port = await freePort();
    eventgate = spawn(process.execPath, [join(ROOT, 'bin/eventgate'), '-c', join(FIXTURE, 'chart-config.yaml')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PORT: String(port),
        STATSD_PORT: String(exporter.udpPort),
        SCHEMA_BASE_URI: join(FIXTURE, 'schemas'),
        ERROR_SCHEMA_BASE_URI: join(ROOT, 'schemas'),
        TOPIC_PREFIX: `${topicPrefix}.`,
        KAFKA_BROKER: brokerAddress,
        STATISTICS_INTERVAL_MS: '500',
      },
    });
    // Its log, for the failure message when it does not get ready.
    let output = '';
    for (const stream of [eventgate.stdout!, eventgate.stderr!]) stream.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-4000)));
    const ready = () => call(port, { path: '/readyz', fresh: true, timeoutMs: 2000 }).then((r) => r.status === 200, () => false);
    await until(ready, 30000, 'eventgate to be ready').catch((err: Error) => {
      throw new Error(`${err.message}; its output ended with:\n${output}`);
    });

    // The requests of the reference run (requests.txt), in its order.
    const event = (stream: string, test: unknown) => ({ $schema: '/test/0.0.1', meta: { stream, id: ID }, test });
    const send = async (what: string, r: Promise<Reply>) => answers.push([what, (await r).status]);
    const post = (body: unknown, query = '') => call(port, { method: 'POST', path: `/v1/events${query}`, body, timeoutMs: 10000 });
    await send('1 valid', post(event('test.event', 'x')));
    await send('3 valid', post([event('test.event', 'x'), event('test.event', 'x'), event('other.stream', 'x')]));
    await send('1 invalid', post(event('test.event', 5)));
    await send('1 valid 2 invalid', post([event('test.event', 'x'), event('test.event', 5), event('other.stream', 5)]));
    await send('hasty 2 valid', post([event('test.event', 'x'), event('test.event', 'x')], '?hasty=true'));
    await send('empty', post('[]'));
    await send('malformed', post('{nope'));
    await send('404', call(port, { path: '/nope', timeoutMs: 10000 }));
    await send('test events', call(port, { path: '/v1/_test/events', timeoutMs: 10000 }));
    await send('info', call(port, { path: '/_info', timeoutMs: 10000 }));

    // Counters arrive within a statsd flush; the producers' totals with a later statistics document.
    const settled = (s: Exposition) =>
      [...recorded.samples].every(([key, value]) => !VALUE_CHECKED.test(key) || HASTY_TOTAL.test(key) || s.samples.get(key) === value);
    // until() resolves only with a truthy value: a scrape.
    scrape = (await until(
      async () => {
        const s = parseExposition(await metricsText());
        return settled(s) ? s : undefined;
      },
      20000,
      'the counted series to reach their values',
    )) as Exposition;
  });

  after(async () => {
    await stopChild(eventgate);
    await exporter?.stop();
  });

  /** Series whose values the requests decide: the event counters, and the messages each producer sent. */
  const VALUE_CHECKED = /^eventgate_(events_produced_total|validation_errors_total|rdkafka_producer_(topic_partition_)?txmsgs)\{/;
  /**
   * The hasty producer's total over all topics: eventgate's also holds the
   * error events (error_stream); the stand-in of the reference run made none.
   */
  const HASTY_TOTAL = /^eventgate_rdkafka_producer_txmsgs\{producer_type="hasty"/;
  /** service-runner's request timers: not matched by the mapping, one summary per route, method and status. */
  const ROUTER = /^eventgate_analytics_router_(.+)_(GET|POST)_(\d{3})$/;

  it('answers the requests of the reference run as EventGate did, but for its corrections', () => {
    // EventGate: 500 for malformed JSON (DESIGN.md: eventgate answers 400).
    expect(answers.map(([, status]) => status)).to.deep.equal([201, 201, 400, 207, 202, 400, 400, 404, 201, 200]);
  });

  it('counts produced events and validation errors by service, stream and schema_uri, as EventGate did', () => {
    const counters = [...recorded.samples].filter(([key]) => /^eventgate_(events_produced|validation_errors)_total\{/.test(key));
    expect(counters).to.have.length(5);
    for (const [key, value] of counters) expect(scrape.samples.get(key), key).to.equal(value);
    expect(scrape.types.get('eventgate_events_produced_total')).to.equal('counter');
    expect(scrape.types.get('eventgate_validation_errors_total')).to.equal('counter');
  });

  it('sends the heap gauges of service-runner, in bytes', () => {
    const heap = (what: string) => scrape.samples.get(`service_runner_${what}_heap_kilobytes{service="${SERVICE}"}`);
    for (const what of ['rss', 'used', 'total']) {
      expect(recorded.samples.has(`service_runner_${what}_heap_kilobytes{service="${SERVICE}"}`)).to.equal(true);
      expect(scrape.types.get(`service_runner_${what}_heap_kilobytes`)).to.equal('gauge');
    }
    expect(heap('used')).to.be.above(1e6);
    expect(heap('used')).to.be.at.most(heap('total')!);
    expect(heap('rss')).to.be.above(heap('used')!);
  });

  it('times each request to an EventGate route under its path, method and the status it was answered with', () => {
    const counts = new Map<string, number>();
    for (const [key, value] of scrape.samples) {
      const m = /^(eventgate_analytics_router_.+)_count$/.exec(key);
      if (m) counts.set(m[1], value);
    }
    // 404 is no route of EventGate's; the malformed body (400) reached /v1/events here, never in EventGate.
    expect(Object.fromEntries(counts)).to.deep.equal({
      eventgate_analytics_router_v1_events_POST_201: 2,
      eventgate_analytics_router_v1_events_POST_400: 3,
      eventgate_analytics_router_v1_events_POST_207: 1,
      eventgate_analytics_router_v1_events_POST_202: 1,
      eventgate_analytics_router_v1__test_events_GET_201: 1,
      eventgate_analytics_router__info_GET_200: 1,
    });
    for (const name of counts.keys()) expect(scrape.types.get(name), name).to.equal('summary');
    // Every route and method EventGate timed is timed here (EventGate's statuses are those its handlers had set when they returned).
    const routes = (names: Iterable<string>) => new Set([...names].flatMap((n) => (ROUTER.exec(n) ? [`${ROUTER.exec(n)![1]} ${ROUTER.exec(n)![2]}`] : [])));
    expect([...routes(recorded.types.keys())].filter((r) => !routes(scrape.types.keys()).has(r))).to.deep.equal([]);
  });

  /** Whether the scrape has a recorded series: a broker's windowed sum, of either producer (FIRST_PRODUCER_ONLY). */
  const exposed = (key: string) =>
    scrape.samples.has(key) ||
    (FIRST_PRODUCER_ONLY.test(key) && ['guaranteed', 'hasty'].some((type) => scrape.samples.has(key.replace(/producer_type="[a-z]+"/, `producer_type="${type}"`))));

  it("exposes every series of the producers' librdkafka statistics that EventGate did, with the same labels and message counts", () => {
    const rdkafka = [...recorded.samples.keys()].filter((key) => key.startsWith('eventgate_rdkafka_producer_'));
    expect(rdkafka.length).to.be.above(300);
    expect(rdkafka.filter((key) => !exposed(key))).to.deep.equal([]);
    const families = new Set(rdkafka.map(nameOf));
    expect([...families].filter((name) => scrape.types.get(name) !== recorded.types.get(name))).to.deep.equal([]);
    const values = rdkafka.filter((key) => VALUE_CHECKED.test(key) && !HASTY_TOTAL.test(key));
    expect(values).to.have.length(5);
    expect(values.filter((key) => scrape.samples.get(key) !== recorded.samples.get(key))).to.deep.equal([]);
  });

  it('leaves out no other series EventGate made', () => {
    const covered = (key: string) => ROUTER.test(nameOf(key).replace(/_(sum|count)$/, '')) || exposed(key);
    expect([...recorded.samples.keys()].filter((key) => !covered(key))).to.deep.equal([]);
  });
});
