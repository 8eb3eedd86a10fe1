/** Shared set-up of the Kafka sink tests: a config section and events. */
import type { KafkaConf } from '../../lib/config/schema';
import type { OutboundEvent } from '../../lib/sink/sink';

/** A `kafka` config section as the config schema would fill it, pointed at `bootstrap`. */
export function kafkaConf(bootstrap: string, overrides: Partial<KafkaConf> = {}): KafkaConf {
  return {
    produce_timeout_ms: 10000,
    flush_timeout_ms: 5000,
    connect_timeout_ms: 5000,
    poll_interval_ms: 5,
    max_pending_events: 20000,
    max_pending_bytes: 33554432,
    message_headers: ['content-type', 'x-request-id'],
    ...overrides,
    conf: { 'metadata.broker.list': bootstrap, ...overrides.conf },
  };
}

/** `n` distinct events for `topic`: event i has id i, key `k<i>` and a timestamp a second apart. */
export function makeEvents(topic: string, n: number, base = Date.parse('2024-01-02T03:04:05.000Z')): OutboundEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    stream: 'test.event',
    topic,
    value: Buffer.from(JSON.stringify({ $schema: '/test/event/1.0.0', meta: { stream: 'test.event', id: `e${i}` }, i })),
    key: Buffer.from(JSON.stringify({ k: i })),
    timestamp: base + i * 1000,
  }));
}
