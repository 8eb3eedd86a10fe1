import * as Kafka from 'node-rdkafka';
import type { KafkaConf } from '../../config/schema';
import { messageOf } from '../../errors';
import { commonDefaults, producerProps, type PropDefault, type ProducerName } from './config';
import { GUARANTEED_DEFAULTS } from './guaranteed';
import { HASTY_DEFAULTS } from './hasty';

const PRODUCERS: readonly (readonly [ProducerName, readonly PropDefault[]])[] = [
  ['guaranteed', GUARANTEED_DEFAULTS],
  ['hasty', HASTY_DEFAULTS],
];

/**
 * The librdkafka settings of both producers as start would build them,
 * checked by librdkafka itself: constructing a producer validates every
 * property (unknown names, bad values) and connects nowhere.
 */
export function kafkaConfProblems(kafka: KafkaConf): string[] {
  const problems: string[] = [];
  for (const [name, defaults] of PRODUCERS) {
    const props = producerProps(kafka, name, [...commonDefaults(name, kafka.produce_timeout_ms), ...defaults]);
    try {
      new Kafka.Producer({ ...props.global, dr_cb: true }, { ...props.topic });
    } catch (err) {
      problems.push(`kafka (${name} producer): ${messageOf(err)}`);
    }
  }
  return problems;
}
