/**
 * Bounded calls on a node-rdkafka client: librdkafka bounds flush and
 * disconnect itself, and these guard against a callback that never comes.
 */
import type * as Kafka from 'node-rdkafka';

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
