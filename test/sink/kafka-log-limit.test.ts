/**
 * librdkafka's log lines with Kafka down, rate-limited: real librdkafka
 * clients connecting to a closed port again and again, their lines counted
 * before and after the limiter.
 */
import { expect } from 'chai';
import bunyan from 'bunyan';
import * as Kafka from 'node-rdkafka';
import { MemoryMetrics, metricKey } from '../../lib/metrics/memory';
import { createKafkaSinks } from '../../lib/sink/kafka';
import { messageKey, RDKAFKA_LOG_INTERVAL_MS, RdkafkaLogger, type RdkafkaLog } from '../../lib/sink/kafka/observe';
import { freePort } from '../helpers/ports';
import { until } from '../helpers/until';
import { kafkaConf } from '../helpers/kafka-conf';

interface Record_ {
  event?: string;
  fac?: string;
  detail?: string;
  repeated?: number;
  interval_ms?: number;
  producer?: string;
}

function ringLogger(): { log: bunyan; records: () => Record_[] } {
  const ring = new bunyan.RingBuffer({ limit: 10000 });
  const log = bunyan.createLogger({ name: 't', streams: [{ level: 'trace', type: 'raw', stream: ring }] });
  return { log, records: () => ring.records as Record_[] };
}

describe('librdkafka log lines with Kafka down', function () {
  this.timeout(30000);

  it('takes lines that differ only in librdkafka timing and suppression notes for one message', () => {
    const line = '[thrd:127.0.0.1:9/bootstrap]: 127.0.0.1:9/bootstrap: Connect to ipv4#127.0.0.1:9 failed: Connection refused';
    expect(messageKey(`${line} (after 0ms in state CONNECT)`)).to.equal(line);
    expect(messageKey(`${line} (after 12ms in state CONNECT, 3 identical error(s) suppressed)`)).to.equal(line);
    expect(messageKey(`${line} (after 0ms in state CONNECT)`)).to.not.equal(messageKey(line.replace(/:9\b/g, ':10')));
  });

  it('are one line per distinct message per interval, and the lines count every message held back', async () => {
    const closed = await freePort();
    const { log, records } = ringLogger();
    const intervalMs = 1000;
    const limited = new RdkafkaLogger(log, intervalMs);
    const raw: RdkafkaLog[] = [];
    const client = new Kafka.Producer({ 'metadata.broker.list': `127.0.0.1:${closed}`, event_cb: true }, {});
    client.on('event.log', (entry: RdkafkaLog) => {
      raw.push(entry);
      limited.log(entry);
    });
    // Connecting again and again, as a producer that cannot reach its broker does (producer.ts).
    let stopped = false;
    const connect = (): void => {
      client.connect({ timeout: 300 }, (err) => {
        if (err && !stopped) setTimeout(connect, 50);
      });
    };
    const started = Date.now();
    connect();
    try {
      await until(() => raw.filter((e) => e.fac === 'FAIL').length >= 30 && Date.now() - started > 3 * intervalMs, 20000, '30 FAIL lines over 3 intervals');
    } finally {
      // A client that never connected has nothing to disconnect (node-rdkafka throws); the loop ends with its pending attempt.
      stopped = true;
      if (client.isConnected()) client.disconnect(0, () => undefined);
    }
    const elapsedMs = Date.now() - started;
    limited.flush();
    const lines = records().filter((r) => r.event === 'kafka.librdkafka_log');
    const keys = new Set(raw.map((e) => `${e.severity}:${e.fac}:${messageKey(e.message)}`));
    // Per distinct message: its first line, one per interval after it, and the flush.
    const intervals = Math.ceil(elapsedMs / intervalMs);
    expect(lines.length, `${lines.length} lines for ${raw.length} messages`).to.be.at.most(keys.size * (intervals + 2));
    expect(lines.length).to.be.below(raw.length / 3);
    // Every message is in a line: as itself (no count) or in a count.
    expect(lines.reduce((n, l) => n + (l.repeated ?? 1), 0)).to.equal(raw.length);
    const counted = lines.filter((l) => l.repeated !== undefined);
    expect(counted.length).to.be.greaterThan(0);
    for (const l of counted) expect(l).to.include({ interval_ms: intervalMs }).and.to.have.property('repeated').above(0);
  });

  it('are limited in the Kafka sinks too: a producer retrying its connection logs each failure once per interval', async () => {
    const closed = await freePort();
    const { log, records } = ringLogger();
    const metrics = new MemoryMetrics();
    const sinks = createKafkaSinks(kafkaConf(`127.0.0.1:${closed}`, { connect_timeout_ms: 300 }), { log, metrics });
    const started = Date.now();
    sinks.start(20000).catch(() => undefined);
    // Counted by the metric: the producer's own line about a failed connect is rate-limited too.
    const retries = (producer: string) => metrics.counters.get(metricKey('kafka.connect.failed', { producer })) ?? 0;
    try {
      // Each retry makes librdkafka say its FAIL lines again, more of them every time.
      await until(() => retries('guaranteed') >= 3 && retries('hasty') >= 3, 15000, '3 connection retries per producer');
      const elapsedMs = Date.now() - started;
      const fails = records().filter((r) => r.event === 'kafka.librdkafka_log' && r.fac === 'FAIL');
      for (const producer of ['guaranteed', 'hasty']) {
        const mine = fails.filter((r) => r.producer === producer);
        expect(mine.length, producer).to.be.at.least(1);
        expect(new Set(mine.map((r) => messageKey(r.detail ?? ''))).size, JSON.stringify(mine.map((r) => r.detail))).to.equal(1);
        expect(mine.length, producer).to.be.at.most(1 + Math.ceil(elapsedMs / RDKAFKA_LOG_INTERVAL_MS));
      }
    } finally {
      await sinks.close();
    }
  });
});
