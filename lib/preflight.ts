/**
 * What start would refuse in a config that validates, found without
 * starting anything: `eventgate --check-config` runs it, so that systemd's
 * ExecStartPre is a real gate. Each check is the code start itself runs
 * (base URI parsing, librdkafka's own property check, the schema
 * precache, the CORS origin rules), never a copy of its rules.
 */
import type { LoadedConfig } from './config/load';
import { kafkaEnabled } from './config/outputs';
import { messageOf } from './errors';
import { buildValidator } from './gate/build';
import { corsSettingsOf, originRule } from './http/cors';
import { silentLogger } from './log';
import { nullMetrics } from './metrics/metrics';
import { kafkaConfProblems } from './sink/kafka/check';

/** Every problem found, as lines for the operator; empty when start would go ahead. */
export async function preflightProblems(loaded: LoadedConfig): Promise<string[]> {
  const conf = loaded.config.services[0].conf;
  const problems: string[] = [];
  // The same test as createSinks.
  if (conf.kafka && kafkaEnabled(conf)) problems.push(...kafkaConfProblems(conf.kafka));
  try {
    originRule(corsSettingsOf(conf));
  } catch (err) {
    problems.push(messageOf(err));
  }
  let built: ReturnType<typeof buildValidator>;
  try {
    // Parses schema_base_uris (an unsupported scheme is refused here) and builds the schema repository.
    built = buildValidator(conf, loaded.dir, { log: silentLogger(), metrics: nullMetrics });
  } catch (err) {
    problems.push(messageOf(err));
    return problems;
  }
  try {
    await built.schemas.precache(conf.schema_precache_uris);
  } catch (err) {
    problems.push(messageOf(err));
  }
  return problems;
}
