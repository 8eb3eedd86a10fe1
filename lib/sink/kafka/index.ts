/** The two Kafka sinks of a worker, built from the `kafka` config section. */
import type { KafkaConf } from '../../config/schema';
import { createGuaranteedSink } from './guaranteed';
import { createHastySink } from './hasty';
import type { KafkaSink, KafkaSinkDeps } from './producer';

export type { KafkaSink, KafkaSinkDeps } from './producer';

export interface KafkaSinks {
  readonly guaranteed: KafkaSink;
  readonly hasty: KafkaSink;
  /**
   * Connects both producers; resolves when both are connected, rejects with
   * EG_ERR_KAFKA_CONNECT after `timeoutMs` (they keep trying: /readyz tells).
   */
  start(timeoutMs?: number): Promise<void>;
  /** Closes both (flush, spool leftovers, disconnect); idempotent. Does not close the spool. */
  close(): Promise<void>;
}

/** Throws EG_ERR_CONFIG_INVALID when librdkafka refuses a producer's settings. */
export function createKafkaSinks(kafka: KafkaConf, deps: KafkaSinkDeps): KafkaSinks {
  const guaranteed = createGuaranteedSink(kafka, deps);
  const hasty = createHastySink(kafka, deps);
  return {
    guaranteed,
    hasty,
    async start(timeoutMs?: number): Promise<void> {
      await Promise.all([guaranteed.start(timeoutMs), hasty.start(timeoutMs)]);
    },
    async close(): Promise<void> {
      await Promise.all([hasty.close(), guaranteed.close()]);
    },
  };
}
