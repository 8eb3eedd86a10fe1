/**
 * `eventgate --check-config`: the migration report of a config file. Every
 * problem at once, each with its config path: the schema's, and even when
 * those are there, the librdkafka properties and schema bases (which do
 * not need the rest to be right); on a valid config, everything start would
 * refuse (preflight.ts). Then the accepted keys that have no effect here.
 */
import { resolve, dirname } from 'node:path';
import { checkConfig, parseConfigDocument, readConfigText, serviceConfOf, type LoadedConfig } from './config/load';
import type { ConfigNote } from './config/notes';
import type { KafkaConf } from './config/schema';
import { EventGateError, messageOf } from './errors';
import { preflightProblems, schemaBaseProblems } from './preflight';
import { kafkaConfProblems } from './sink/kafka/check';

export interface ConfigReport {
  /** Start would refuse the config while there is one. */
  readonly problems: readonly string[];
  readonly notes: readonly ConfigNote[];
  /** The config as start would run it, when the schema took it. */
  readonly loaded?: LoadedConfig;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The checks that need only their own section, on a document the schema refused. */
function sectionProblems(raw: unknown, dir: string): string[] {
  const conf = serviceConfOf(raw);
  const problems: string[] = [];
  const kafka = conf.kafka;
  const layer = (v: unknown) => v === undefined || isRecord(v);
  const producer = (v: unknown) => v === undefined || (isRecord(v) && layer(v.conf) && layer(v.topic_conf));
  const layersOk = isRecord(kafka) && layer(kafka.conf) && layer(kafka.topic_conf) && producer(kafka.guaranteed) && producer(kafka.hasty);
  if (layersOk) problems.push(...kafkaConfProblems(kafka as KafkaConf, undefined, { whole: false }));
  const bases = conf.schema_base_uris;
  if (Array.isArray(bases) && bases.every((b) => typeof b === 'string')) problems.push(...schemaBaseProblems(bases, dir));
  return problems;
}

export async function configReport(path: string, env: NodeJS.ProcessEnv = process.env): Promise<ConfigReport> {
  const absolute = resolve(path);
  const dir = dirname(absolute);
  const problems: string[] = [];
  let raw: unknown;
  try {
    raw = parseConfigDocument(await readConfigText(absolute), env, problems);
  } catch (err) {
    return { problems: err instanceof EventGateError && Array.isArray(err.details) ? (err.details as string[]) : [messageOf(err)], notes: [] };
  }
  const checked = checkConfig(raw, problems, dir);
  const loaded: LoadedConfig | undefined = checked.config ? { config: checked.config, path: absolute, dir, notes: checked.notes } : undefined;
  if (loaded) problems.push(...(await preflightProblems(loaded)));
  else problems.push(...sectionProblems(raw, dir));
  return { problems: [...new Set(problems)], notes: checked.notes, ...(loaded ? { loaded } : {}) };
}
