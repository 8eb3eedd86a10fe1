/**
 * What librdkafka reports on its own, turned into eventgate's logs and
 * metrics: log lines (syslog levels), error events (their kind) and
 * statistics (a JSON document every statistics.interval.ms).
 */
import * as Kafka from 'node-rdkafka';
import { authFailureOf } from './auth';
import type { Logger } from '../../log';
import type { Metrics, Tags } from '../../metrics/metrics';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug';

/** librdkafka logs with syslog severities: 0 emerg .. 7 debug. */
export function logLevelOf(severity: number): LogLevel {
  if (severity <= 2) return 'fatal';
  if (severity === 3) return 'error';
  if (severity === 4) return 'warn';
  if (severity <= 6) return 'info';
  return 'debug';
}

export interface RdkafkaLog {
  readonly severity: number;
  readonly fac: string;
  readonly message: string;
}

export function logRdkafka(log: Logger, entry: RdkafkaLog): void {
  log[logLevelOf(entry.severity)]({ fac: entry.fac, severity: entry.severity, detail: entry.message }, 'librdkafka log');
}

/** The parts of librdkafka's statistics JSON that eventgate reads (see librdkafka STATISTICS.md). */
interface Stats {
  msg_cnt?: number;
  msg_size?: number;
  txmsgs?: number;
  brokers?: Record<string, { nodeid?: number; state?: string; outbuf_msg_cnt?: number; rtt?: { avg?: number }; toppars?: Record<string, unknown> }>;
}

export interface StatsSummary {
  /**
   * Whether a connection to a partition leader is up: to one of the brokers
   * that lead partitions this producer writes to, or, before it knows of
   * any, to any broker.
   */
  readonly leaderUp: boolean;
  /** Whether any broker connection (bootstrap ones included) is up. */
  readonly anyUp: boolean;
}

/** Feeds one statistics document to the metrics; undefined when it is not JSON. */
export function recordStats(metrics: Metrics, tags: Tags, json: string): StatsSummary | undefined {
  let stats: Stats;
  try {
    stats = JSON.parse(json) as Stats;
  } catch {
    return undefined;
  }
  if (typeof stats.msg_cnt === 'number') metrics.gauge('kafka.producer.queue_messages', stats.msg_cnt, tags);
  if (typeof stats.msg_size === 'number') metrics.gauge('kafka.producer.queue_bytes', stats.msg_size, tags);
  if (typeof stats.txmsgs === 'number') metrics.gauge('kafka.producer.tx_messages', stats.txmsgs, tags);
  let anyUp = false;
  let leaders = 0;
  let leaderUp = false;
  for (const broker of Object.values(stats.brokers ?? {})) {
    const up = broker.state === 'UP';
    if (up) anyUp = true;
    // Bootstrap entries (nodeid -1) stand for an address, not a broker.
    if (typeof broker.nodeid !== 'number' || broker.nodeid < 0) continue;
    if (Object.keys(broker.toppars ?? {}).length > 0) {
      leaders++;
      if (up) leaderUp = true;
    }
    const brokerTags = { ...tags, broker: broker.nodeid };
    // librdkafka's rtt is in microseconds; 0 when there were no requests in the window.
    if (typeof broker.rtt?.avg === 'number') metrics.gauge('kafka.broker.rtt_avg_ms', broker.rtt.avg / 1000, brokerTags);
    if (typeof broker.outbuf_msg_cnt === 'number') metrics.gauge('kafka.broker.outbuf_messages', broker.outbuf_msg_cnt, brokerTags);
  }
  return { leaderUp: leaders > 0 ? leaderUp : anyUp, anyUp };
}

/**
 * What a librdkafka error event means here. node-rdkafka 3.6 hands error
 * events to JS as a message only (src/callbacks.cc builds a plain Error; its
 * code is -1), so the kind is read from librdkafka's fixed texts:
 * err2str(ERR__ALL_BROKERS_DOWN), and the "Fatal error: ..." prefix of
 * rd_kafka_set_fatal_error, which node-rdkafka turns into origin 'fatal error';
 * a broker refusing the client is told by auth.ts.
 */
export function errorKind(err: Kafka.LibrdKafkaError): 'fatal' | 'all_brokers_down' | 'auth' | 'other' {
  if (err.isFatal === true || err.code === Kafka.CODES.ERRORS.ERR__FATAL || /^fatal/i.test(err.origin ?? '')) return 'fatal';
  if (err.code === Kafka.CODES.ERRORS.ERR__ALL_BROKERS_DOWN || /all broker connections are down/i.test(err.message)) {
    return 'all_brokers_down';
  }
  if (err.code === Kafka.CODES.ERRORS.ERR__AUTHENTICATION || err.code === Kafka.CODES.ERRORS.ERR__SSL || authFailureOf(err.message)) return 'auth';
  return 'other';
}
