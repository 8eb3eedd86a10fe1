/**
 * The hasty producer: behind `?hasty=true`, whose client was answered 202
 * before producing. Its own producer so that its batching (a longer linger,
 * fewer larger requests) does not slow the guaranteed path; failures are still
 * counted, logged and spooled.
 */
import type { KafkaConf } from '../../config/schema';
import type { PropDefault } from './config';
import { KafkaSink, sinkOptions, type KafkaSinkDeps } from './producer';

export const HASTY_DEFAULTS: readonly PropDefault[] = [{ names: ['linger.ms', 'queue.buffering.max.ms'], value: 100, scope: 'global' }];

export function createHastySink(kafka: KafkaConf, deps: KafkaSinkDeps): KafkaSink {
  return new KafkaSink(sinkOptions(kafka, 'hasty', HASTY_DEFAULTS, deps));
}
