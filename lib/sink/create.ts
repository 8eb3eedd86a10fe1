import { resolve } from 'node:path';
import { kafkaEnabled } from '../config/outputs';
import type { ServiceConf } from '../config/schema';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import { FileSink } from './file';
import { createKafkaSinks } from './kafka';
import type { Sink } from './sink';
import { FileSpool } from './spool';

/** The sink of normal requests and the one of hasty requests (the same object for the file sink). */
export interface Sinks {
  /** Answers only after the sink owns each event. */
  readonly guaranteed: Sink;
  /** Behind `?hasty=true`: the client was answered before producing. */
  readonly hasty: Sink;
}

export interface OwnedSinks extends Sinks {
  /** Starts connecting in the background: /readyz says when the sinks are ready. */
  start(log: Logger): void;
  close(): Promise<void>;
}

/**
 * Kafka when `kafka.conf` is set, else the file sink. Kafka's failed events
 * go to the spool; the spool is closed after the producers, which write to it
 * while they close.
 */
export function createSinks(conf: ServiceConf, configDir: string, deps: { log: Logger; metrics: Metrics }): OwnedSinks {
  const kafka = conf.kafka;
  if (kafka && kafkaEnabled(conf)) {
    const spool = new FileSpool(resolve(configDir, conf.failed_events_path));
    const sinks = createKafkaSinks(kafka, { log: deps.log, metrics: deps.metrics, spool, clientName: conf.user_agent });
    return {
      guaranteed: sinks.guaranteed,
      hasty: sinks.hasty,
      start(log) {
        sinks.start().catch((err: unknown) => log.warn({ err }, 'kafka is not connected yet; producers keep trying'));
      },
      async close() {
        await sinks.close();
        await spool.close();
      },
    };
  }
  const file = new FileSink(conf.output_path === 'stdout' ? conf.output_path : resolve(configDir, conf.output_path));
  return { guaranteed: file, hasty: file, start() {}, close: () => file.close() };
}
