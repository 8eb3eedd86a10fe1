/**
 * What start would refuse in a config that validates, found without
 * starting anything: `eventgate --check-config` runs it, so that systemd's
 * ExecStartPre is a real gate. Each check is the code start itself runs
 * (base URI parsing, librdkafka's own property check, the schema
 * precache, the CORS origin rules), never a copy of its rules.
 */
import { statSync } from 'node:fs';
import type { LoadedConfig } from './config/load';
import { kafkaEnabled } from './config/outputs';
import { messageOf } from './errors';
import { buildValidator } from './gate/build';
import { corsSettingsOf, originRule } from './http/cors';
import { silentLogger } from './log';
import { nullMetrics } from './metrics/metrics';
import { parseBaseUris } from './schema/resolve';
import { kafkaConfProblems } from './sink/kafka/check';

/**
 * Each schema base checked alone (parseBaseUris stops at the first bad one),
 * and each file base for a folder that is there: with none, every event of
 * its schemas would be invalid.
 */
export function schemaBaseProblems(baseUris: readonly string[], dir: string): string[] {
  const problems: string[] = [];
  baseUris.forEach((uri, i) => {
    const at = `services[0].conf.schema_base_uris[${i}]`;
    try {
      const [base] = parseBaseUris([uri], dir);
      if (base.kind === 'file' && !isFolder(base.dir)) problems.push(`${at}: ${uri}: no such folder (resolved: ${base.dir})`);
    } catch (err) {
      problems.push(`${at}: ${messageOf(err)}`);
    }
  });
  return problems;
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

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
  const bases = schemaBaseProblems(conf.schema_base_uris, loaded.dir);
  // The schema repository and its precache would only fail again on them.
  if (bases.length) return [...problems, ...bases];
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
