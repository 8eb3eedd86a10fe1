/**
 * The `kafka` section of services[0].conf: librdkafka settings passed
 * through (lib/sink/kafka/config.ts maps them), and eventgate's own bounds
 * on what the producers may hold and wait for.
 */
import { arr, int, json, literalUnion, obj, record } from './shape';

/** The Kafka headers kafka.message_headers may name (lib/sink/kafka/headers.ts makes them). */
export const MESSAGE_HEADER_NAMES = ['content-type', 'x-request-id'] as const;
/**
 * None, as EventGate: node-rdkafka converts every header of every message
 * anew (~1.3 µs of CPU per header and event), and a consumer of an EventGate
 * topic expects none. x-request-id, which ties a message to its request's
 * answer and log lines, is there for the asking.
 */
const DEFAULT_MESSAGE_HEADERS: (typeof MESSAGE_HEADER_NAMES)[number][] = [];

export const kafkaSchema = obj({
  conf: record(json(), {
    description:
      'librdkafka global config (metadata.broker.list, ...): a list value is joined with commas; producer.poll.interval.ms (EventGate) is taken out and sets the poll interval of the producers.',
  }),
  topic_conf: record(json(), { description: 'librdkafka topic config, passed through as is.' }),
  guaranteed: obj({ conf: record(json()), topic_conf: record(json()) }, { description: 'Overrides for the guaranteed producer.' }),
  hasty: obj({ conf: record(json()), topic_conf: record(json()) }, { description: 'Overrides for the hasty producer.' }),
  produce_timeout_ms: int({ minimum: 1, default: 30000, description: 'No request waits longer than this for Kafka.' }),
  flush_timeout_ms: int({ minimum: 0, default: 10000, description: 'How long closing a producer may spend flushing.' }),
  connect_timeout_ms: int({
    minimum: 1,
    // An attempt in flight holds librdkafka's teardown, and with it the
    // process exit, until it times out: a stop with Kafka unreachable waits
    // for it, so it is kept short (attempts repeat until one connects).
    default: 3000,
    description: 'How long one connection attempt of a producer may take; it retries until connected. A stop while Kafka is unreachable waits up to this long for the attempt in flight.',
  }),
  poll_interval_ms: int({
    minimum: 1,
    default: 1,
    description:
      "While a delivery report is awaited, how often a producer polls librdkafka for it: a floor on guaranteed-mode latency. With none awaited it polls every 100 ms (logs, errors, statistics). EventGate's producer.poll.interval.ms in kafka.conf or kafka.<producer>.conf wins for its producer.",
  }),
  max_pending_events: int({
    minimum: 1,
    // node-rdkafka hands JS at most 100 delivery reports per event-loop turn:
    // hasty batches can come faster than their reports, and each event
    // awaiting one is held in memory. 20000 holds a hasty linger's worth of
    // events at full speed, and four 5000-event batches.
    default: 20000,
    description:
      "Events a producer may hold awaiting Kafka's delivery reports (per HTTP worker). A call that would pass it is refused: its events are answered 503 EG_ERR_KAFKA_QUEUE_FULL with Retry-After and spooled, and a hasty request is then answered as without hasty. A single call larger than the limit is taken when nothing is pending.",
  }),
  max_pending_bytes: int({
    minimum: 1,
    default: 33554432,
    description: 'Bytes of event values a producer may hold awaiting delivery reports (per HTTP worker); refused past it as for max_pending_events.',
  }),
  message_headers: arr(literalUnion(MESSAGE_HEADER_NAMES), {
    uniqueItems: true,
    default: DEFAULT_MESSAGE_HEADERS,
    description:
      "Kafka headers on every message: content-type (application/json) and x-request-id (the request's id). None by default, as EventGate; each costs about as much CPU per event as the rest of the produce call.",
  }),
});
