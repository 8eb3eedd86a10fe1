/**
 * Per-event stream rules: may this event go to its stream, under which
 * Kafka key and to which topic. Pure and synchronous (hot path, and the
 * same in a worker thread); what is worth compiling is compiled once per
 * settings object.
 */
import { fieldGetter, type FieldGetter } from '../event/fields';
import type { StreamSettings } from './config';

export interface StreamRefusal {
  readonly code: 'EG_ERR_STREAM_NOT_CONFIGURED' | 'EG_ERR_STREAM_SCHEMA_TITLE';
  readonly message: string;
}

/** Client-supplied names go into messages; a megabyte of stream name should not. */
const MAX_NAME_IN_MESSAGE = 200;

function quote(name: string): string {
  return JSON.stringify(name.length > MAX_NAME_IN_MESSAGE ? `${name.slice(0, MAX_NAME_IN_MESSAGE)}...` : name);
}

/**
 * Whether an event of a schema titled `schemaTitle` may go to `stream`,
 * given the stream's settings as the registry resolved them (undefined: not
 * served here). Only called when stream config is configured at all: without
 * it, any schema may go to any stream. A stream without schema_title takes
 * any schema.
 */
export function checkStream(stream: string, schemaTitle: string | undefined, settings: StreamSettings | undefined): StreamRefusal | undefined {
  if (settings === undefined) {
    return { code: 'EG_ERR_STREAM_NOT_CONFIGURED', message: `Stream ${quote(stream)} is not in the stream config this service serves.` };
  }
  const expected = settings.schema_title;
  if (expected === undefined || expected === schemaTitle) return undefined;
  const actual = schemaTitle === undefined ? 'has no title' : `has title ${quote(schemaTitle)}`;
  return {
    code: 'EG_ERR_STREAM_SCHEMA_TITLE',
    message: `Stream ${quote(stream)} requires schema title ${quote(expected)}, but the event's schema ${actual}.`,
  };
}

type KeyPlan = readonly (readonly [name: string, get: FieldGetter])[] | null;
const keyPlans = new WeakMap<StreamSettings, KeyPlan>();

/**
 * The Kafka message key: message_key_fields `{name: 'dotted.path'}` gives
 * the JSON object `{name: value}`, keys in config order. A path the event
 * does not have gives null (not a missing key), so that the key of a stream
 * always has the same shape. Null when the stream has no key fields: then
 * Kafka spreads the messages over partitions.
 */
export function messageKey(event: Record<string, unknown>, settings: StreamSettings | undefined): Buffer | null {
  if (settings?.message_key_fields === undefined) return null;
  let plan = keyPlans.get(settings);
  if (plan === undefined) {
    const entries = Object.entries(settings.message_key_fields);
    plan = entries.length ? entries.map(([name, path]) => [name, fieldGetter(path)] as const) : null;
    keyPlans.set(settings, plan);
  }
  if (plan === null) return null;
  const key: Record<string, unknown> = {};
  for (const [name, get] of plan) key[name] = get(event) ?? null;
  return Buffer.from(JSON.stringify(key));
}

/**
 * The topic of an event of `stream`:
 * - the stream's `topic_prefix`, when set, replaces the service's;
 * - else, when the stream lists `topic_prefixes` (the prefixes its topics
 *   exist under, e.g. one per data centre), the service's `topic_prefix` is
 *   used if it is listed, otherwise the first listed one: the event goes to
 *   a topic that exists for the stream rather than one nobody consumes;
 * - else the service's `topic_prefix`.
 * The topic is always prefix + stream.
 */
export function topicFor(stream: string, settings: StreamSettings | undefined, servicePrefix: string): string {
  if (settings === undefined) return servicePrefix + stream;
  if (settings.topic_prefix !== undefined) return settings.topic_prefix + stream;
  const listed = settings.topic_prefixes;
  if (listed === undefined || listed.length === 0 || listed.includes(servicePrefix)) return servicePrefix + stream;
  return listed[0] + stream;
}
