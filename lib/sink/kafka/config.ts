/**
 * librdkafka settings of one producer: `kafka.conf` / `kafka.topic_conf`,
 * then the producer's own `kafka.<name>.conf` / `.topic_conf` over them, then
 * eventgate's defaults for whatever the operator left unset.
 */
import type { KafkaConf } from '../../config/schema';
import { GLOBAL_PROPERTIES, TOPIC_PROPERTIES } from './properties';

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

/** librdkafka's own default message.timeout.ms. */
const MESSAGE_TIMEOUT_MS = 300000;

/**
 * EventGate's own setting in librdkafka's config: not a librdkafka property,
 * it is taken out and sets how often that producer polls (node-rdkafka's
 * setPollInterval there, the busy poll interval here).
 */
export const POLL_INTERVAL_PROP = 'producer.poll.interval.ms';

/** The name at the start of client.id when services[0].conf.user_agent does not give one. */
export const DEFAULT_CLIENT_NAME = 'eventgate';

/**
 * Defaults for both producers; `produceTimeoutMs` is kafka.produce_timeout_ms,
 * `clientName` services[0].conf.user_agent.
 */
export function commonDefaults(name: ProducerName, produceTimeoutMs: number, clientName = DEFAULT_CLIENT_NAME): PropDefault[] {
  return [
    // As eventgate-wikimedia names its producers: brokers' logs and quotas tell them apart.
    { names: ['client.id'], value: `${clientName}-producer-${name}`, scope: 'global' },
    // Broker states come only with statistics: every second, so that the
    // producer knows within a second that brokers are down or back (cheap:
    // one small JSON document per producer).
    { names: ['statistics.interval.ms'], value: 1000, scope: 'global' },
    // An event is spooled on the delivery report that says it timed out
    // (settle.ts), so that report must mean "not written". A produce request
    // already sent times out at the message's remaining timeout and is then
    // only "possibly persisted": a broker that hangs past it and resumes writes
    // it anyway. With librdkafka's 5 min (and never less than the answer's
    // deadline), a hung request is retried (idempotent: the broker drops the
    // duplicate) rather than timed out, and a hang must last minutes to make
    // a duplicate on replay.
    { names: ['message.timeout.ms', 'delivery.timeout.ms'], value: Math.max(MESSAGE_TIMEOUT_MS, produceTimeoutMs), scope: 'topic' },
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

/**
 * Config layers merged as librdkafka takes them: a list value (a YAML list
 * of brokers, of SASL mechanisms) joined with commas, EventGate's
 * producer.poll.interval.ms left out.
 */
function merged(...layers: (Readonly<Record<string, unknown>> | undefined)[]): RdkafkaProps {
  const out: RdkafkaProps = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer ?? {})) {
      if (k !== POLL_INTERVAL_PROP) out[k] = Array.isArray(v) ? v.join(',') : v;
    }
  }
  return out;
}

/**
 * A topic property (message.timeout.ms, acks, ...) written in a `conf`
 * section, as librdkafka allows: it would go to the global config's default
 * topic config, which node-rdkafka replaces with the topic config it is given,
 * so that the value would be dropped without a word. It is moved to the topic
 * side instead, below the same level's topic_conf.
 */
const topicOnly = (name: string): boolean => TOPIC_PROPERTIES.has(name) && !GLOBAL_PROPERTIES.has(name);

function topicPart(conf: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(conf ?? {}).filter(([k]) => topicOnly(k)));
}

function globalPart(conf: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(conf ?? {}).filter(([k]) => !topicOnly(k)));
}

/** The busy poll interval of producer `name`: its producer.poll.interval.ms (own layer first), else kafka.poll_interval_ms. */
export function pollIntervalOf(kafka: KafkaConf, name: ProducerName): number {
  const given = kafka[name]?.conf?.[POLL_INTERVAL_PROP] ?? kafka.conf?.[POLL_INTERVAL_PROP];
  const ms = Number(given);
  return given !== undefined && Number.isInteger(ms) && ms >= 1 ? ms : kafka.poll_interval_ms;
}

/** The settings of producer `name`: config layers, then `defaults` where unset. */
export function producerProps(kafka: KafkaConf, name: ProducerName, defaults: readonly PropDefault[]): ProducerProps {
  const own = kafka[name];
  const props: ProducerProps = {
    global: merged(globalPart(kafka.conf), globalPart(own?.conf)),
    topic: merged(topicPart(kafka.conf), kafka.topic_conf, topicPart(own?.conf), own?.topic_conf),
  };
  for (const d of defaults) {
    if (!isSet(props, d.names)) props[d.scope][d.names[0]] = d.value;
  }
  return props;
}

/** The settings of producer `name` as a sink uses them: its config layers, then the common defaults and `defaults`. */
export function sinkProps(kafka: KafkaConf, name: ProducerName, defaults: readonly PropDefault[], clientName?: string): ProducerProps {
  return producerProps(kafka, name, [...commonDefaults(name, kafka.produce_timeout_ms, clientName), ...defaults]);
}
