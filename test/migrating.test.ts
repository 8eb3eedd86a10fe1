/**
 * docs/migrating.md's key table against the config schema, as errors.md is
 * against the catalogue: every key it lists is one the schema accepts, and
 * every key of service-runner, EventGate and eventgate-wikimedia is listed.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventGateConf, serviceRunnerService, serviceRunnerTopLevel } from '../lib/config/compat';
import { configSchema } from '../lib/config/schema';
import { ROOT } from './helpers/paths';

type Schema = Record<string, unknown>;

/** The keys of the table, as written: `services[].conf.port`. */
function tableKeys(): string[] {
  const text = readFileSync(join(ROOT, 'docs', 'migrating.md'), 'utf8');
  const section = text.slice(text.indexOf('## Keys'), text.indexOf('## What differs'));
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
}

/**
 * Whether the schema accepts `path` (`a.b[].c`); under a free-form object
 * (librdkafka settings) any rest of the path is one key.
 */
function accepts(schema: Schema, path: string): boolean {
  if (path === '') return true;
  const branches = (schema.anyOf as Schema[] | undefined) ?? [schema];
  return branches.some((s) => {
    if (path.startsWith('[]')) return s.type === 'array' && accepts(s.items as Schema, path.slice(2).replace(/^\./, ''));
    const props = s.properties as Record<string, Schema> | undefined;
    const [key] = path.split(/[.[]/);
    const rest = path.slice(key.length).replace(/^\./, '');
    if (props && key in props) return accepts(props[key], rest);
    return typeof s.additionalProperties === 'object';
  });
}

/** The EventGate 1.8 / eventgate-wikimedia conf keys eventgate has settings of its own for. */
const EVENTGATE_CONF = [
  'port', 'interface', 'max_body_size', 'cors', 'csp', 'schema_uri_field', 'schema_base_uris', 'schema_file_extension',
  'schema_precache_uris', 'allow_absolute_schema_uris', 'stream_field', 'topic_prefix', 'stream_config_uri',
  'stream_config_uri_options', 'stream_config_object_path', 'stream_config_ttl', 'stream_config_retries',
  'schema_uri_query_param', 'stream_query_param', 'id_field', 'dt_field', 'error_stream', 'error_schema_uri',
  'output_path', 'test_events', 'kafka.conf', 'kafka.topic_conf', 'kafka.guaranteed', 'kafka.hasty',
];
const SERVICE_RUNNER = ['num_workers', 'worker_heap_limit_mb', 'worker_heartbeat_timeout', 'logging.name', 'logging.level', 'logging.streams', 'logging.sampled_levels', 'metrics'];
const ENTRY_FIELDS = { 'metrics[]': ['type', 'name', 'host', 'port', 'batch'], 'logging.streams[]': ['type', 'path', 'level', 'named_levels', 'host', 'port', 'uris', 'options', 'facility', 'prefix', 'name'] };

describe('docs/migrating.md', () => {
  it('lists only keys the config schema accepts, each once', () => {
    const keys = tableKeys();
    expect(keys.length).to.be.greaterThan(50);
    expect(new Set(keys).size, 'no key listed twice').to.equal(keys.length);
    for (const k of keys) expect(accepts(configSchema.schema, k), k).to.equal(true);
  });

  it('lists every key of service-runner, EventGate and eventgate-wikimedia', () => {
    const keys = new Set(tableKeys());
    const want = [
      ...SERVICE_RUNNER,
      ...Object.keys(serviceRunnerTopLevel),
      'services[].name',
      ...Object.keys(serviceRunnerService).map((k) => `services[].${k}`),
      ...[...EVENTGATE_CONF, ...Object.keys(eventGateConf)].map((k) => `services[].conf.${k}`),
      ...Object.entries(ENTRY_FIELDS).flatMap(([at, fields]) => fields.map((f) => `${at}.${f}`)),
      'services[].conf.kafka.conf.producer.poll.interval.ms',
    ];
    for (const k of want) expect(keys.has(k), `${k} in the table`).to.equal(true);
  });

  it('would notice a key the schema does not have', () => {
    expect(accepts(configSchema.schema, 'services[].conf.no_such_key')).to.equal(false);
    expect(accepts(configSchema.schema, 'metrics[].no_such_field')).to.equal(false);
    expect(accepts(configSchema.schema, 'services[].conf.kafka.conf.any.librdkafka.property')).to.equal(true);
  });
});
