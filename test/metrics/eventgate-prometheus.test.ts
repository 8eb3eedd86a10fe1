/**
 * The Prometheus endpoint's EventGate series against what the real
 * statsd_exporter, on the chart's mapping, makes of the same samples sent
 * over statsd: same names, labels and values.
 */
import { expect } from 'chai';
import Kafka from 'node-rdkafka';
import { silentLogger } from '../../lib/log';
import { createMetrics } from '../../lib/metrics/factory';
import type { Metrics } from '../../lib/metrics/metrics';
import { PrometheusMetrics, render } from '../../lib/metrics/prometheus';
import { kafkaBootstrap, uniqueTopic } from '../helpers/kafka';
import { until } from '../helpers/until';
import { FIRST_PRODUCER_ONLY, nameOf, parseExposition, startExporter, type Exporter, type Exposition } from '../helpers/statsd-exporter';

const SERVICE = 'eventgate-analytics';

/** A real librdkafka statistics document: of a producer that has sent one message to `topic`. */
async function statisticsDocument(topic: string): Promise<unknown> {
  const producer = new Kafka.Producer({ 'metadata.broker.list': kafkaBootstrap(), 'statistics.interval.ms': 100, dr_cb: true }, {});
  try {
    await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(new Error(err.message)) : resolve())));
    producer.setPollInterval(10);
    const delivered = new Promise<void>((resolve, reject) => producer.once('delivery-report', (err) => (err ? reject(new Error(err.message)) : resolve())));
    producer.produce(topic, null, Buffer.from('{}'));
    await delivered;
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no statistics document counted the message within 20 s')), 20000);
      producer.on('event.stats', (e: { message: string }) => {
        const doc = JSON.parse(e.message) as { topics?: Record<string, { partitions?: Record<string, { txmsgs?: number }> }> };
        if (doc.topics?.[topic]?.partitions?.['0']?.txmsgs !== 1) return;
        clearTimeout(timer);
        resolve(doc);
      });
    });
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}

/** The same samples, as the service reports them. */
function report(m: Metrics, stats: unknown): void {
  const tags = { stream: 'test.event', schema_uri: '/test/0.0.1' };
  m.increment('events.produced', 6, tags);
  m.increment('events.validation_errors', 2, tags);
  m.gauge('process.heap_rss_bytes', 90000000);
  m.gauge('process.heap_used_bytes', 12000000);
  m.gauge('process.heap_total_bytes', 30000000);
  m.kafkaStatistics!('guaranteed', stats);
  m.kafkaStatistics!('hasty', stats);
}

/** EventGate's series: what the chart's mapping names (not the summaries it makes up for unmapped names, not eventgate's own). */
const EVENTGATE = /^(eventgate_rdkafka_producer_|eventgate_events_produced_total|eventgate_validation_errors_total|service_runner_)/;

function eventgateSeries(e: Exposition): Map<string, number> {
  return new Map([...e.samples].filter(([key]) => EVENTGATE.test(key)));
}

describe('EventGate series on the Prometheus endpoint', function () {
  let exporter: Exporter | undefined;
  let stats: unknown;
  const topic = uniqueTopic('egprom');

  before(async function () {
    // A fresh machine builds statsd_exporter from the Go module proxy first (a minute or two).
    this.timeout(600000);
    exporter = await startExporter();
    stats = await statisticsDocument(topic);
  });

  after(async () => {
    await exporter?.stop();
  });

  it('are the series, labels and values that the chart mapping makes of the same samples sent over statsd', async () => {
    const statsd = createMetrics([{ type: 'statsd', host: '127.0.0.1', port: exporter!.udpPort, prefix: 'eventgate', name: SERVICE }], silentLogger());
    const prometheus = new PrometheusMetrics({ service: SERVICE });
    report(statsd, stats);
    report(prometheus, stats);
    await statsd.close();
    const direct = eventgateSeries(parseExposition(await render([await prometheus.snapshot()])));
    // The brokers' windowed sums of the producer whose lines came second do not pass the exporter; the endpoint has them all.
    const expected = (a: Map<string, number>) => new Map([...direct].filter(([key]) => a.has(key) || !FIRST_PRODUCER_ONLY.test(key)));
    const same = (a: Map<string, number>) => {
      const e = expected(a);
      return a.size === e.size && [...a].every(([key, value]) => e.get(key) === value);
    };
    let viaExporter = new Map<string, number>();
    // The exporter takes a burst of datagrams over a little while; a timeout leaves the difference to the assertion below.
    await until(
      async () => same((viaExporter = eventgateSeries(parseExposition(await exporter!.scrape())))),
      5000,
      'the exporter to show every line sent',
    ).catch(() => undefined);
    const rdkafka = [...viaExporter.keys()].filter((key) => key.startsWith('eventgate_rdkafka_producer_'));
    // Per-partition, per-topic and per-broker series of both producers, and their totals.
    expect(rdkafka.length).to.be.above(200);
    expect(new Set(rdkafka.map(nameOf)).size).to.be.above(100);
    expect(Object.fromEntries(expected(viaExporter))).to.deep.equal(Object.fromEntries(viaExporter));
    expect(direct.size - viaExporter.size, 'the sums only the endpoint has').to.be.within(1, 8);
    expect(direct.get(`eventgate_rdkafka_producer_topic_partition_txmsgs{partition="0",producer_type="hasty",service="${SERVICE}",topic="${topic.replaceAll('.', '_')}"}`)).to.equal(1);
    expect(direct.get(`eventgate_events_produced_total{schema_uri="_test_0.0.1",service="${SERVICE}",stream="test.event"}`)).to.equal(6);
  });

  it('times requests to EventGate routes as service_runner_request_duration_seconds, with the buckets of the chart', async () => {
    const prometheus = new PrometheusMetrics({ service: SERVICE });
    prometheus.timing('http.request', 40, { route: '/v1/events', method: 'POST', status: 201 });
    prometheus.timing('http.request', 400, { route: '/v1/events', method: 'POST', status: 201 });
    prometheus.timing('http.request', 2, { route: '/v1/_test/events', method: 'GET', status: 201 });
    // Not EventGate's routes, or no answer: not timed under its names.
    prometheus.timing('http.request', 1, { route: '/healthz', method: 'GET', status: 200 });
    prometheus.timing('http.request', 1, { route: '/v1/events', method: 'POST', status: 'aborted' });
    const samples = parseExposition(await render([await prometheus.snapshot()])).samples;
    const series = [...samples].filter(([key]) => key.startsWith('service_runner_request_duration_seconds'));
    const labels = (uri: string, method: string, extra = '') => `{${extra}method="${method}",service="${SERVICE}",status="201",uri="${uri}"}`;
    expect(Object.fromEntries(series)).to.deep.include({
      [`service_runner_request_duration_seconds_bucket${labels('v1_events', 'POST', 'le="0.05",')}`]: 1,
      [`service_runner_request_duration_seconds_bucket${labels('v1_events', 'POST', 'le="0.3",')}`]: 1,
      [`service_runner_request_duration_seconds_bucket${labels('v1_events', 'POST', 'le="1",')}`]: 2,
      [`service_runner_request_duration_seconds_count${labels('v1_events', 'POST')}`]: 2,
      [`service_runner_request_duration_seconds_sum${labels('v1_events', 'POST')}`]: 0.44,
      [`service_runner_request_duration_seconds_count${labels('v1_-test_events', 'GET')}`]: 1,
    });
    expect(series.filter(([key]) => key.includes('_count'))).to.have.length(2);
  });

  it("are not made without a service name: eventgate's own series stay as they were", async () => {
    const prometheus = new PrometheusMetrics();
    report(prometheus, stats);
    prometheus.timing('http.request', 40, { route: '/v1/events', method: 'POST', status: 201 });
    const samples = parseExposition(await render([await prometheus.snapshot()])).samples;
    expect([...samples.keys()].filter((key) => /^(eventgate_rdkafka|service_runner)/.test(key))).to.deep.equal([]);
    expect(samples.get('eventgate_events_produced_total{schema_uri="/test/0.0.1",stream="test.event"}')).to.equal(6);
  });
});
