/**
 * The `kafka` section checked as --check-config reports it: every problem at
 * once, each with its config path. librdkafka stops at the first bad property
 * and names no config layer, so each property is first checked by name (the
 * known list, with the nearest name for a typo) and alone by librdkafka
 * (its value); only a section clean so far is then built whole, as start
 * builds it, for what only the whole tells (settings that contradict).
 */
import type { KafkaConf } from '../../config/schema';
import { didYouMean } from '../../config/suggest';
import { messageOf } from '../../errors';
import { rdkafkaClient } from './client';
import { POLL_INTERVAL_PROP, sinkProps, type PropDefault, type ProducerName } from './config';
import { GUARANTEED_DEFAULTS } from './guaranteed';
import { HASTY_DEFAULTS } from './hasty';
import { GLOBAL_PROPERTIES, NODE_RDKAFKA_KEYS, TOPIC_PROPERTIES } from './properties';

const PRODUCERS: readonly (readonly [ProducerName, readonly PropDefault[]])[] = [
  ['guaranteed', GUARANTEED_DEFAULTS],
  ['hasty', HASTY_DEFAULTS],
];

/** Where a layer of librdkafka settings sits in the section, and which scope it is. */
const LAYERS = [
  { at: 'conf', scope: 'global', get: (k: KafkaConf) => k.conf },
  { at: 'topic_conf', scope: 'topic', get: (k: KafkaConf) => k.topic_conf },
  { at: 'guaranteed.conf', scope: 'global', get: (k: KafkaConf) => k.guaranteed?.conf },
  { at: 'guaranteed.topic_conf', scope: 'topic', get: (k: KafkaConf) => k.guaranteed?.topic_conf },
  { at: 'hasty.conf', scope: 'global', get: (k: KafkaConf) => k.hasty?.conf },
  { at: 'hasty.topic_conf', scope: 'topic', get: (k: KafkaConf) => k.hasty?.topic_conf },
] as const;

// librdkafka takes topic properties in the global config too (as the default topic config).
const KNOWN = new Set([...GLOBAL_PROPERTIES, ...TOPIC_PROPERTIES, ...NODE_RDKAFKA_KEYS]);

function valueProblem(scope: 'global' | 'topic', key: string, value: unknown): string | undefined {
  const v = Array.isArray(value) ? value.join(',') : value;
  try {
    rdkafkaClient(scope === 'global' ? { global: { [key]: v }, topic: {} } : { global: {}, topic: { [key]: v } });
    return undefined;
  } catch (err) {
    return messageOf(err);
  }
}

/**
 * Every problem of the `kafka` section at `at` (its config path). `whole:
 * false` checks the properties one by one only: a section of a config the
 * schema refused lacks the defaults the producers are built with.
 */
export function kafkaConfProblems(kafka: KafkaConf, at = 'services[0].conf.kafka', opts: { whole: boolean } = { whole: true }): string[] {
  const problems: string[] = [];
  for (const layer of LAYERS) {
    for (const [key, value] of Object.entries(layer.get(kafka) ?? {})) {
      const path = `${at}.${layer.at}.${key}`;
      if (key === POLL_INTERVAL_PROP) {
        const ms = Number(value);
        if (!Number.isInteger(ms) || ms < 1) problems.push(`${path}: must be a whole number of milliseconds, at least 1 (it sets the producer's poll interval)`);
      } else if (!KNOWN.has(key)) {
        problems.push(`${path}: not a librdkafka property${didYouMean(key, KNOWN)}`);
      } else {
        const problem = valueProblem(layer.scope, key, value);
        if (problem !== undefined) problems.push(`${path}: ${problem}`);
      }
    }
  }
  if (problems.length || !opts.whole) return problems;
  // One line per problem, naming the producers it concerns: both are built from the same layers.
  const seen = new Map<string, ProducerName[]>();
  for (const [name, defaults] of PRODUCERS) {
    try {
      rdkafkaClient(sinkProps(kafka, name, defaults));
    } catch (err) {
      const message = messageOf(err);
      seen.set(message, [...(seen.get(message) ?? []), name]);
    }
  }
  for (const [message, names] of seen) problems.push(`${at} (${names.join(' and ')} producer${names.length > 1 ? 's' : ''}): ${message}`);
  return problems;
}
