import { expect } from 'chai';
import { commonDefaults, pollIntervalOf, producerProps, sinkProps } from '../../lib/sink/kafka/config';
import { kafkaConfProblems } from '../../lib/sink/kafka/check';
import { GUARANTEED_DEFAULTS } from '../../lib/sink/kafka/guaranteed';
import { HASTY_DEFAULTS } from '../../lib/sink/kafka/hasty';
import { logLevelOf, recordStats } from '../../lib/sink/kafka/observe';
import { errorKind } from '../../lib/sink/kafka/observe';
import { codeOf } from '../../lib/errors';
import { silentLogger } from '../../lib/log';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { createKafkaSinks } from '../../lib/sink/kafka';
import type * as Kafka from 'node-rdkafka';
import { kafkaConf } from '../helpers/kafka-conf';

describe('Kafka producer settings', function () {
  it('gives the guaranteed producer idempotence and acks=all, and librdkafka a message timeout of 5 min or produce_timeout_ms when longer', function () {
    const props = producerProps(kafkaConf('b:9092'), 'guaranteed', [...commonDefaults('guaranteed', 1234), ...GUARANTEED_DEFAULTS]);
    expect(props.global).to.include({ 'metadata.broker.list': 'b:9092', 'enable.idempotence': true, 'client.id': 'eventgate-producer-guaranteed' });
    expect(props.topic).to.include({ acks: 'all', 'message.timeout.ms': 300000 });
    const long = producerProps(kafkaConf('b:9092'), 'guaranteed', commonDefaults('guaranteed', 600000));
    expect(long.topic).to.include({ 'message.timeout.ms': 600000 });
  });

  it('gives the hasty producer a longer linger and no idempotence of its own', function () {
    const props = producerProps(kafkaConf('b:9092'), 'hasty', [...commonDefaults('hasty', 1000), ...HASTY_DEFAULTS]);
    expect(props.global).to.include({ 'linger.ms': 100, 'client.id': 'eventgate-producer-hasty' });
    expect(props.global).to.not.have.property('enable.idempotence');
  });

  it('lets kafka.conf and kafka.topic_conf override defaults, and per-producer settings override both', function () {
    const kafka = kafkaConf('b:9092', {
      conf: { 'linger.ms': 7, 'statistics.interval.ms': 0 },
      topic_conf: { 'message.timeout.ms': 60000 },
      hasty: { conf: { 'linger.ms': 500 }, topic_conf: { 'request.required.acks': 1 } },
    });
    const hasty = producerProps(kafka, 'hasty', [...commonDefaults('hasty', 1000), ...HASTY_DEFAULTS]);
    expect(hasty.global).to.include({ 'linger.ms': 500, 'statistics.interval.ms': 0 });
    expect(hasty.topic).to.include({ 'message.timeout.ms': 60000, 'request.required.acks': 1 });
    const guaranteed = producerProps(kafka, 'guaranteed', [...commonDefaults('guaranteed', 1000), ...GUARANTEED_DEFAULTS]);
    expect(guaranteed.global).to.include({ 'linger.ms': 7 });
    expect(guaranteed.topic).to.include({ acks: 'all' });
  });

  it('treats a librdkafka alias set in either scope as set, and adds no second name for it', function () {
    const kafka = kafkaConf('b:9092', { conf: { 'queue.buffering.max.ms': 50, 'delivery.timeout.ms': 9000, 'request.required.acks': -1 } });
    const props = producerProps(kafka, 'hasty', [...commonDefaults('hasty', 1000), ...HASTY_DEFAULTS, ...GUARANTEED_DEFAULTS]);
    expect(props.global).to.not.have.property('linger.ms');
    expect(props.topic).to.not.have.property('message.timeout.ms');
    expect(props.topic).to.not.have.property('acks');
  });

  it('hands a topic property written in a conf section to the topic config, where node-rdkafka would otherwise drop it, below that level\'s topic_conf', function () {
    const kafka = kafkaConf('b:9092', {
      conf: { 'message.timeout.ms': 5000, 'request.required.acks': 1, 'compression.codec': 'snappy' },
      hasty: { conf: { 'message.timeout.ms': 7000 }, topic_conf: { 'request.required.acks': 0 } },
    });
    const guaranteed = producerProps(kafka, 'guaranteed', []);
    expect(guaranteed.topic).to.deep.equal({ 'message.timeout.ms': 5000, 'request.required.acks': 1 });
    // compression.codec is a global property too: it stays where librdkafka reads it.
    expect(guaranteed.global).to.deep.equal({ 'metadata.broker.list': 'b:9092', 'compression.codec': 'snappy' });
    const hasty = producerProps(kafka, 'hasty', []);
    expect(hasty.topic).to.deep.equal({ 'message.timeout.ms': 7000, 'request.required.acks': 0 });
  });
});

describe('EventGate kafka sections', function () {
  it('name each producer <user_agent>-producer-<type> as eventgate-wikimedia does, unless client.id is set', function () {
    expect(sinkProps(kafkaConf('b:9092'), 'hasty', HASTY_DEFAULTS, 'eventgate-production').global['client.id']).to.equal('eventgate-production-producer-hasty');
    const own = kafkaConf('b:9092', { conf: { 'client.id': 'mine' } });
    expect(sinkProps(own, 'guaranteed', GUARANTEED_DEFAULTS, 'eventgate-production').global['client.id']).to.equal('mine');
  });

  it('join list values with commas, as librdkafka reads lists', function () {
    const kafka = kafkaConf('unused', { conf: { 'metadata.broker.list': ['k1:9092', 'k2:9092'] }, hasty: { conf: { 'sasl.mechanisms': ['PLAIN'] } } });
    const props = producerProps(kafka, 'hasty', []);
    expect(props.global).to.include({ 'metadata.broker.list': 'k1:9092,k2:9092', 'sasl.mechanisms': 'PLAIN' });
  });

  it("take producer.poll.interval.ms out of librdkafka's settings and make it the poll interval of its producer", function () {
    const kafka = kafkaConf('b:9092', {
      poll_interval_ms: 1,
      conf: { 'producer.poll.interval.ms': 50 },
      guaranteed: { conf: { 'producer.poll.interval.ms': 10 } },
    });
    for (const name of ['guaranteed', 'hasty'] as const) expect(producerProps(kafka, name, []).global).to.not.have.property('producer.poll.interval.ms');
    expect(pollIntervalOf(kafka, 'guaranteed')).to.equal(10);
    expect(pollIntervalOf(kafka, 'hasty')).to.equal(50);
    expect(pollIntervalOf(kafkaConf('b:9092', { poll_interval_ms: 3 }), 'hasty')).to.equal(3);
  });

  it('are checked whole: every unknown property with the nearest known one, every bad value, each with its config path', function () {
    const kafka = kafkaConf('b:9092', {
      conf: { 'lingr.ms': 5, 'compression.codec': 'zip', 'statistics.interval.ms': 30000 },
      topic_conf: { 'request.required.acks': 'most' },
      hasty: { conf: { 'producer.poll.interval.ms': 'often', 'queue.buffering.max.ms': 1000 } },
      guaranteed: { conf: { 'bootstrap.server': 'b:9092' } },
    });
    const problems = kafkaConfProblems(kafka);
    expect(problems).to.have.length(5);
    expect(problems[0]).to.match(/^services\[0\]\.conf\.kafka\.conf\.lingr\.ms: not a librdkafka property; did you mean linger\.ms\?$/);
    expect(problems[1]).to.match(/^services\[0\]\.conf\.kafka\.conf\.compression\.codec: .*compression\.codec/);
    expect(problems[2]).to.match(/^services\[0\]\.conf\.kafka\.topic_conf\.request\.required\.acks: /);
    expect(problems[3]).to.match(/^services\[0\]\.conf\.kafka\.guaranteed\.conf\.bootstrap\.server: not a librdkafka property; did you mean bootstrap\.servers\?$/);
    expect(problems[4]).to.match(/^services\[0\]\.conf\.kafka\.hasty\.conf\.producer\.poll\.interval\.ms: /);
  });

  it("take the helm chart's settings, list of brokers, poll intervals and ssl ciphers included", function () {
    const chart = kafkaConf('unused', {
      conf: {
        'metadata.broker.list': ['kafka.default.svc.cluster.local:31092'],
        'compression.codec': 'snappy',
        'message.max.bytes': 4194304,
        'log.connection.close': false,
        'broker.address.family': 'v4',
        'statistics.interval.ms': 30000,
        'ssl.ca.location': '/etc/ssl/certs/wmf-ca-certificates.crt',
        'ssl.cipher.suites': 'ECDHE-ECDSA-AES256-GCM-SHA384',
        'ssl.curves.list': 'P-256',
        'ssl.sigalgs.list': 'ECDSA+SHA256',
      },
      topic_conf: {},
      hasty: { conf: { 'queue.buffering.max.ms': 1000, 'producer.poll.interval.ms': 100 } },
      guaranteed: { conf: { 'queue.buffering.max.ms': 10, 'producer.poll.interval.ms': 10 } },
    });
    expect(kafkaConfProblems(chart)).to.deep.equal([]);
  });
});

describe('Kafka sinks with settings librdkafka refuses', function () {
  it('throw EG_ERR_CONFIG_INVALID naming the producer and the property, before connecting', function () {
    const create = (): unknown =>
      createKafkaSinks(kafkaConf('127.0.0.1:1', { hasty: { conf: { 'no.such.property': 1 } } }), {
        log: silentLogger(),
        metrics: new MemoryMetrics(),
      });
    let thrown: unknown;
    try {
      create();
    } catch (err) {
      thrown = err;
    }
    expect(codeOf(thrown)).to.equal('EG_ERR_CONFIG_INVALID');
    expect((thrown as Error).message).to.match(/kafka hasty producer: .*no\.such\.property/);
  });
});

describe('librdkafka reports', function () {
  it('maps syslog severities 0-7 to bunyan levels fatal..debug', function () {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(logLevelOf)).to.deep.equal(['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug']);
  });

  it('turns statistics into queue, tx and per-broker rtt gauges, skipping bootstrap entries', function () {
    const metrics = new MemoryMetrics();
    const summary = recordStats(
      metrics,
      { producer: 'guaranteed' },
      JSON.stringify({
        msg_cnt: 3,
        msg_size: 300,
        txmsgs: 42,
        brokers: {
          'h:1/bootstrap': { nodeid: -1, state: 'INIT', rtt: { avg: 0 } },
          'h:1/1': { nodeid: 1, state: 'UP', outbuf_msg_cnt: 2, rtt: { avg: 1500 }, toppars: { 't-0': {} } },
        },
      }),
    );
    expect(summary).to.deep.equal({ leaderUp: true, anyUp: true });
    expect(Object.fromEntries(metrics.gauges)).to.deep.equal({
      'kafka.producer.queue_messages{producer=guaranteed}': 3,
      'kafka.producer.queue_bytes{producer=guaranteed}': 300,
      'kafka.producer.tx_messages{producer=guaranteed}': 42,
      'kafka.broker.rtt_avg_ms{broker=1,producer=guaranteed}': 1.5,
      'kafka.broker.outbuf_messages{broker=1,producer=guaranteed}': 2,
    });
  });

  it('says a leader is up only when a broker that leads partitions is, while another connection (bootstrap) may be up', function () {
    const metrics = new MemoryMetrics();
    const stats = (leader: string, other: string) =>
      JSON.stringify({ brokers: { 'h:1/bootstrap': { nodeid: -1, state: other }, 'h:1/1': { nodeid: 1, state: leader, toppars: { 't-0': {} } }, 'h:2/2': { nodeid: 2, state: 'INIT', toppars: {} } } });
    expect(recordStats(metrics, {}, stats('INIT', 'UP'))).to.deep.equal({ leaderUp: false, anyUp: true });
    expect(recordStats(metrics, {}, stats('DOWN', 'DOWN'))).to.deep.equal({ leaderUp: false, anyUp: false });
    expect(recordStats(metrics, {}, stats('UP', 'DOWN'))).to.deep.equal({ leaderUp: true, anyUp: true });
    expect(recordStats(metrics, {}, '{')).to.equal(undefined);
  });

  it('takes any connection up as a leader up while no broker leads a partition of this producer yet', function () {
    const metrics = new MemoryMetrics();
    const fresh = (state: string) => JSON.stringify({ brokers: { 'h:1/bootstrap': { nodeid: -1, state }, 'h:1/1': { nodeid: 1, state: 'INIT' } } });
    expect(recordStats(metrics, {}, fresh('UP'))).to.deep.equal({ leaderUp: true, anyUp: true });
    expect(recordStats(metrics, {}, fresh('CONNECT'))).to.deep.equal({ leaderUp: false, anyUp: false });
  });

  it('tells fatal and all-brokers-down error events from the rest by what node-rdkafka passes on', function () {
    const error = (e: Partial<Kafka.LibrdKafkaError>): Kafka.LibrdKafkaError => ({ message: '', code: -1, errno: -1, origin: 'local', ...e });
    expect(errorKind(error({ message: 'all broker connections are down' }))).to.equal('all_brokers_down');
    // As node-rdkafka 3.6 passed on librdkafka's gap-less fatal error (test/sink/kafka-fatal.test.ts makes one).
    expect(errorKind(error({ message: 'gap-less ordering would not be guaranteed if proceeding' }))).to.equal('fatal');
    expect(errorKind(error({ origin: 'broker', message: 'broker received an out of order sequence number' }))).to.equal('fatal');
    expect(errorKind(error({ message: 'fatal error' }))).to.equal('fatal');
    expect(errorKind(error({ isFatal: true }))).to.equal('fatal');
    expect(errorKind(error({ message: 'broker transport failure' }))).to.equal('other');
  });
});
