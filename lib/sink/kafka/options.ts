/**
 * What one Kafka sink is made with: its dependencies and its settings, read
 * from the `kafka` config section for one producer.
 */
import type { KafkaConf } from '../../config/schema';
import type { Logger } from '../../log';
import type { Metrics } from '../../metrics/metrics';
import type { Spool } from '../spool';
import { pollIntervalOf, sinkProps, type ProducerName, type ProducerProps, type PropDefault } from './config';
import type { MessageHeaderName } from './headers';
import type { ClientFactory } from './client';
import type { ProducerTimings } from './state';

export interface KafkaSinkDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Where events go that passed validation but Kafka did not take. */
  readonly spool?: Spool;
  /** Start of the default client.id: services[0].conf.user_agent (config.ts DEFAULT_CLIENT_NAME without it). */
  readonly clientName?: string;
  /** Makes the producers' clients: node-rdkafka's (client.ts rdkafkaClient) unless given. */
  readonly clientFactory?: ClientFactory;
  /** Retry waits and grace periods, where not state.ts PRODUCER_TIMINGS. */
  readonly timings?: Partial<ProducerTimings>;
}

export interface KafkaSinkOptions extends KafkaSinkDeps {
  readonly name: ProducerName;
  /** librdkafka settings, defaults applied (config.ts). */
  readonly props: ProducerProps;
  readonly produceTimeoutMs: number;
  readonly flushTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly pollIntervalMs: number;
  /** Bounds on what calls not yet ended hold: events, and bytes of their values. */
  readonly maxPendingEvents: number;
  readonly maxPendingBytes: number;
  /** The Kafka headers on every message (kafka.message_headers). */
  readonly messageHeaders: readonly MessageHeaderName[];
}

/** The options of producer `name` from the `kafka` config section. */
export function sinkOptions(kafka: KafkaConf, name: ProducerName, defaults: readonly PropDefault[], deps: KafkaSinkDeps): KafkaSinkOptions {
  return {
    ...deps,
    name,
    props: sinkProps(kafka, name, defaults, deps.clientName),
    produceTimeoutMs: kafka.produce_timeout_ms,
    flushTimeoutMs: kafka.flush_timeout_ms,
    connectTimeoutMs: kafka.connect_timeout_ms,
    pollIntervalMs: pollIntervalOf(kafka, name),
    maxPendingEvents: kafka.max_pending_events,
    maxPendingBytes: kafka.max_pending_bytes,
    messageHeaders: kafka.message_headers,
  };
}
