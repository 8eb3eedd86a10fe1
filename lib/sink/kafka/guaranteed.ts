/**
 * The guaranteed producer: behind normal requests, which are answered only
 * once Kafka acknowledged each event. Idempotent, acks from all in-sync
 * replicas, so a retried send neither loses nor duplicates a message.
 */
import type { KafkaConf } from '../../config/schema';
import type { PropDefault } from './config';
import { KafkaSink, sinkOptions, type KafkaSinkDeps } from './producer';

export const GUARANTEED_DEFAULTS: readonly PropDefault[] = [
  { names: ['enable.idempotence'], value: true, scope: 'global' },
  { names: ['acks', 'request.required.acks'], value: 'all', scope: 'topic' },
];

export function createGuaranteedSink(kafka: KafkaConf, deps: KafkaSinkDeps): KafkaSink {
  return new KafkaSink(sinkOptions(kafka, 'guaranteed', GUARANTEED_DEFAULTS, deps));
}
