import type { KafkaConf } from '../../config/schema';
import { messageOf } from '../../errors';
import { producerClient } from './client';
import { sinkProps, type PropDefault, type ProducerName } from './config';
import { GUARANTEED_DEFAULTS } from './guaranteed';
import { HASTY_DEFAULTS } from './hasty';

const PRODUCERS: readonly (readonly [ProducerName, readonly PropDefault[]])[] = [
  ['guaranteed', GUARANTEED_DEFAULTS],
  ['hasty', HASTY_DEFAULTS],
];

/** The librdkafka settings of both producers as start builds them, checked by librdkafka itself (producerClient). */
export function kafkaConfProblems(kafka: KafkaConf): string[] {
  const problems: string[] = [];
  for (const [name, defaults] of PRODUCERS) {
    try {
      producerClient(sinkProps(kafka, name, defaults));
    } catch (err) {
      problems.push(`kafka (${name} producer): ${messageOf(err)}`);
    }
  }
  return problems;
}
