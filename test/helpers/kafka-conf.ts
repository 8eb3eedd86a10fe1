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

/**
 * `n` distinct events for `topic`: event i has id i, key `k<i>` and a timestamp a second apart,
 * from `base`. By default the last is a minute ago: the broker keeps a topic's messages for
 * log.retention.ms (7 days) after their timestamps, and its retention check (every 5 minutes)
 * deletes older ones even from the active segment, so a fixed date long past made a message read
 * back right after it was written gone now and then.
 */
export function makeEvents(topic: string, n: number, base = Date.now() - 60_000 - n * 1000): OutboundEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    stream: 'test.event',
    topic,
    value: Buffer.from(JSON.stringify({ $schema: '/test/event/1.0.0', meta: { stream: 'test.event', id: `e${i}` }, i })),
    key: Buffer.from(JSON.stringify({ k: i })),
    timestamp: base + i * 1000,
  }));
}
