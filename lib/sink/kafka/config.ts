/**
 * librdkafka settings of one producer: `kafka.conf` / `kafka.topic_conf`,
 * then the producer's own `kafka.<name>.conf` / `.topic_conf` over them, then
 * eventgate's defaults for whatever the operator left unset.
 */
import type { KafkaConf } from '../../config/schema';

/** Property name -> value, as librdkafka takes them (strings, numbers, booleans). */
export type RdkafkaProps = Record<string, unknown>;

export interface ProducerProps {
  readonly global: RdkafkaProps;
  readonly topic: RdkafkaProps;
}

/**
 * A default: `names` are the property and its librdkafka aliases (an
 * operator who set any of them, in either scope, keeps their value); the
 * default is set under the first name, in `scope`.
 */
export interface PropDefault {
  readonly names: readonly string[];
  readonly value: string | number | boolean;
  readonly scope: 'global' | 'topic';
}

export type ProducerName = 'guaranteed' | 'hasty';

/** Defaults for both producers; `produceTimeoutMs` is kafka.produce_timeout_ms. */
export function commonDefaults(name: ProducerName, produceTimeoutMs: number): PropDefault[] {
  return [
    { names: ['client.id'], value: `eventgate-${name}`, scope: 'global' },
    // Broker states come only with statistics: every second, so that the
    // producer knows within a second that brokers are down or back (cheap:
    // one small JSON document per producer).
    { names: ['statistics.interval.ms'], value: 1000, scope: 'global' },
    // librdkafka gives up on a message about when eventgate has answered
    // "timeout" for it: fewer late deliveries of events already spooled.
    { names: ['message.timeout.ms', 'delivery.timeout.ms'], value: produceTimeoutMs, scope: 'topic' },
    // librdkafka's default is 1 GB per producer: bound memory per worker.
    { names: ['queue.buffering.max.kbytes'], value: 65536, scope: 'global' },
    // librdkafka's reconnect back-off grows to 10 s: after an outage the
    // partition leader's connection could stay down that long once the broker
    // is back (and /readyz says ready), every request a 503 meanwhile,
    // although clients are told to retry after 5 s.
    { names: ['reconnect.backoff.max.ms'], value: 1000, scope: 'global' },
  ];
}

function isSet(props: ProducerProps, names: readonly string[]): boolean {
  return names.some((n) => Object.prototype.hasOwnProperty.call(props.global, n) || Object.prototype.hasOwnProperty.call(props.topic, n));
}

/** The settings of producer `name`: config layers, then `defaults` where unset. */
export function producerProps(kafka: KafkaConf, name: ProducerName, defaults: readonly PropDefault[]): ProducerProps {
  const own = kafka[name];
  const props: ProducerProps = {
    global: { ...kafka.conf, ...own?.conf },
    topic: { ...kafka.topic_conf, ...own?.topic_conf },
  };
  for (const d of defaults) {
    if (!isSet(props, d.names)) props[d.scope][d.names[0]] = d.value;
  }
  return props;
}

/** The settings of producer `name` as a sink uses them: its config layers, then the common defaults and `defaults`. */
export function sinkProps(kafka: KafkaConf, name: ProducerName, defaults: readonly PropDefault[]): ProducerProps {
  return producerProps(kafka, name, [...commonDefaults(name, kafka.produce_timeout_ms), ...defaults]);
}
