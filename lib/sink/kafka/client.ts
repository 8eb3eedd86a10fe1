/**
 * The node-rdkafka client: how it is made, and bounded calls on it
 * (librdkafka bounds flush and disconnect itself; these guard against a
 * callback that never comes).
 */
import * as Kafka from 'node-rdkafka';
import type { ProducerProps } from './config';

/**
 * A producer client on `props`, delivery reports on. Constructing it makes
 * librdkafka check every property (unknown names, bad values): it throws
 * then, and connects nowhere until asked.
 */
export function producerClient(props: ProducerProps): Kafka.Producer {
  return new Kafka.Producer({ ...props.global, dr_cb: true }, { ...props.topic });
}

/** Resolves true once librdkafka's queue is empty, false after `ms` (or on error). */
export function flushWithin(client: Kafka.Producer, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const guard = setTimeout(() => resolve(false), ms + 1000);
    try {
      client.flush(ms, (err) => {
        clearTimeout(guard);
        resolve(!err);
      });
    } catch {
      clearTimeout(guard);
      resolve(false);
    }
  });
}

/** Disconnects (already flushed: a zero flush timeout, then librdkafka's teardown), giving up after `ms`. */
export function disconnectWithin(client: Kafka.Producer, ms: number): Promise<void> {
  if (!client.isConnected()) return Promise.resolve();
  return new Promise((resolve) => {
    const guard = setTimeout(resolve, ms);
    client.disconnect(0, () => {
      clearTimeout(guard);
      resolve();
    });
  });
}
