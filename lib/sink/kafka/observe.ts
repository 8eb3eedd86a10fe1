/**
 * What librdkafka reports on its own, turned into eventgate's logs and
 * metrics: log lines (syslog levels), error events (their kind) and
 * statistics (a JSON document every statistics.interval.ms).
 */
import type { LogEvent } from '../../log-events';
import * as Kafka from 'node-rdkafka';
import { authFailureOf } from './auth';
import type { ErrorCode } from '../../errors';
import type { Logger } from '../../log';
import type { Metrics, Tags } from '../../metrics/metrics';
import { LogLimiter } from './log-limit';
import type { ClientError, RdkafkaLog } from './client';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug';

/** librdkafka logs with syslog severities: 0 emerg .. 7 debug. */
export function logLevelOf(severity: number): LogLevel {
  if (severity <= 2) return 'fatal';
  if (severity === 3) return 'error';
  if (severity === 4) return 'warn';
  if (severity <= 6) return 'info';
  return 'debug';
}

export type { RdkafkaLog } from './client';

/** How long repeats of one librdkafka message are counted before their line (log-limit.ts). */
export const RDKAFKA_LOG_INTERVAL_MS = 10000;

/**
 * What makes two librdkafka lines the same message: the text without the
 * parts that change on every repeat (`(after 12ms in state CONNECT, 3
 * identical error(s) suppressed)`, other millisecond counts).
 */
export function messageKey(message: string): string {
  return message.replace(/\s*\(after \d+ms in state [A-Z_]+(?:, \d+ identical error\(s\) suppressed)?\)/g, '').replace(/\b\d+ ?ms\b/g, 'Nms');
}

/**
 * librdkafka's log lines and error events of one producer, rate-limited:
 * one line per distinct message per interval, with `repeated` counting the
 * identical ones held back (log-limit.ts).
 */
export class RdkafkaLogger {
  private readonly lines: LogLimiter<RdkafkaLog>;
  private readonly errors: LogLimiter<ClientError>;
  /** The producer's own failed connects: with Kafka down at start, one every few seconds per producer. */
  private readonly connects: LogLimiter<{ readonly err: ClientError; readonly attempts: number }>;
  private failedConnects = 0;

  constructor(log: Logger, intervalMs: number = RDKAFKA_LOG_INTERVAL_MS) {
    const every = (repeated: number) => (repeated > 0 ? { repeated, interval_ms: intervalMs } : {});
    this.lines = new LogLimiter(intervalMs, (e, repeated) =>
      log[logLevelOf(e.severity)]({ event: 'kafka.librdkafka_log' satisfies LogEvent, fac: e.fac, severity: e.severity, detail: e.message, ...every(repeated) }, 'librdkafka log'),
    );
    this.errors = new LogLimiter(intervalMs, (err, repeated) => log.warn({ event: 'kafka.librdkafka_error' satisfies LogEvent, err, ...every(repeated) }, 'librdkafka error'));
    const code: ErrorCode = 'EG_ERR_KAFKA_CONNECT';
    this.connects = new LogLimiter(intervalMs, (e, repeated) =>
      log.warn({ event: 'kafka.connect_retry' satisfies LogEvent, err: e.err, code, attempts: e.attempts, ...every(repeated) }, 'kafka producer could not connect, retrying'),
    );
  }

  /** A connect attempt failed; `attempts`: failed in a row, so far. */
  connectFailed(err: ClientError): void {
    this.failedConnects++;
    this.connects.hit(messageKey(err.message), { err, attempts: this.failedConnects });
  }

  /** Connected: the failures held back are told, and the count starts over. */
  connected(): void {
    this.connects.flush();
    this.failedConnects = 0;
  }

  log(entry: RdkafkaLog): void {
    this.lines.hit(`${entry.severity}:${entry.fac}:${messageKey(entry.message)}`, entry);
  }

  /** An error event librdkafka recovers from by itself (errorKind 'other'). */
  error(err: ClientError): void {
    this.errors.hit(messageKey(err.message), err);
  }

  /** The counts held back so far, logged now (at close). */
  flush(): void {
    this.lines.flush();
    this.errors.flush();
    this.connects.flush();
  }
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
  metrics.kafkaStatistics?.(String(tags.producer), stats);
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
 * err2str texts (lowercased, "Local: " / "Broker: " cut, as node-rdkafka
 * hands them over) of the errors librdkafka raises on a producer's error
 * callback only as fatal ones: its own fatal and gap-less codes, and the
 * idempotence errors rd_kafka_idemp_set_fatal_error carries. A producer's
 * other error events are about connections (broker.c).
 */
const FATAL_TEXTS =
  /^(fatal error|gap-less ordering would not be guaranteed|this instance has been fenced|inconsistent state|broker received an out of order sequence number|broker received a duplicate sequence number|producer attempted an operation with an old epoch|unknown producer id|there is a newer producer)/;

/**
 * What a librdkafka error event means here. node-rdkafka 3.6 hands error
 * events to JS as err2str(code) only (src/callbacks.cc builds a plain Error:
 * its code is -1, and isFatal is lost), so the kind is read from
 * librdkafka's fixed texts; a broker refusing the client is told by
 * auth.ts. A fatal error this misses is caught by the next produce(), which
 * librdkafka then refuses with ERR__FATAL (producer.ts rebuilds then).
 */
export function errorKind(err: ClientError): 'fatal' | 'all_brokers_down' | 'auth' | 'other' {
  if (err.isFatal === true || err.code === Kafka.CODES.ERRORS.ERR__FATAL || FATAL_TEXTS.test(err.message.toLowerCase())) return 'fatal';
  if (err.code === Kafka.CODES.ERRORS.ERR__ALL_BROKERS_DOWN || /all broker connections are down/i.test(err.message)) {
    return 'all_brokers_down';
  }
  if (err.code === Kafka.CODES.ERRORS.ERR__AUTHENTICATION || err.code === Kafka.CODES.ERRORS.ERR__SSL || authFailureOf(err.message)) return 'auth';
  return 'other';
}
