/**
 * The Kafka client a producer drives, as the narrow interface eventgate
 * owns: exactly the calls and events of node-rdkafka's Producer that the
 * producer code uses. The real factory makes node-rdkafka clients; the
 * lifecycle (lifecycle.ts) takes any factory, so that connect retries,
 * rebuilds and retirement can be driven without a broker. Also bounded calls
 * on a client (librdkafka bounds flush and disconnect itself; these guard
 * against a callback that never comes).
 */
import * as Kafka from 'node-rdkafka';
import type { ProducerProps } from './config';

/** An error as librdkafka hands it to JS: its text, its code (-1 for an error event, see observe.ts errorKind). */
export interface ClientError {
  readonly message: string;
  readonly code: number;
  readonly isFatal?: boolean;
}

/** One librdkafka log line. */
export interface RdkafkaLog {
  readonly severity: number;
  readonly fac: string;
  readonly message: string;
}

/** The events the producer listens to, with what each carries. */
export interface ClientEvents {
  /** One per message: its fate; `report.opaque` is what produce() was given. */
  'delivery-report': (err: ClientError | null | undefined, report: { readonly opaque?: unknown }) => void;
  'event.log': (entry: RdkafkaLog) => void;
  'event.error': (err: ClientError) => void;
  /** A statistics document (JSON text) every statistics.interval.ms. */
  'event.stats': (data: { readonly message: string }) => void;
}

export interface ProducerClient {
  connect(options: { timeout: number }, done: (err: ClientError | null | undefined) => void): unknown;
  /** Queues one message; throws when librdkafka refuses it at once (queue full, fatal error, not connected). */
  produce(
    topic: string,
    partition: null,
    value: Buffer,
    key: Buffer | null,
    timestamp: number | null,
    opaque: unknown,
    headers: Kafka.MessageHeader[] | undefined,
  ): unknown;
  /** Hands JS what librdkafka has queued for it: delivery reports, logs, errors, statistics. */
  poll(): unknown;
  flush(timeoutMs: number, done: (err: unknown) => void): unknown;
  disconnect(timeoutMs: number, done: (err: unknown) => void): unknown;
  isConnected(): boolean;
  /** Needs a live broker: the producer's probe while all brokers are down. */
  getMetadata(options: { timeout: number }, done: (err: unknown) => void): unknown;
  on(event: 'delivery-report', listener: ClientEvents['delivery-report']): unknown;
  on(event: 'event.log', listener: ClientEvents['event.log']): unknown;
  on(event: 'event.error', listener: ClientEvents['event.error']): unknown;
  on(event: 'event.stats', listener: ClientEvents['event.stats']): unknown;
}

/**
 * Makes a client on `props`. Throws when the settings are refused (the
 * producer reports EG_ERR_CONFIG_INVALID); the client connects nowhere
 * until asked.
 */
export type ClientFactory = (props: ProducerProps) => ProducerClient;

/**
 * node-rdkafka's producer, delivery reports on. Constructing it makes
 * librdkafka check every property (unknown names, bad values): it throws
 * then.
 */
export const rdkafkaClient: ClientFactory = (props) => new Kafka.Producer({ ...props.global, dr_cb: true }, { ...props.topic });

/** Resolves true once librdkafka's queue is empty, false after `ms` (or on error). */
export function flushWithin(client: ProducerClient, ms: number): Promise<boolean> {
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
export function disconnectWithin(client: ProducerClient, ms: number): Promise<void> {
  if (!client.isConnected()) return Promise.resolve();
  return new Promise((resolve) => {
    const guard = setTimeout(resolve, ms);
    client.disconnect(0, () => {
      clearTimeout(guard);
      resolve();
    });
  });
}

export function pollClient(client: ProducerClient): void {
  try {
    client.poll();
  } catch {
    // Not connected any more: whoever disconnected it stops this timer.
  }
}
