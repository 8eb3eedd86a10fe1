/** The event sets the bench posts, and the request bodies made from them. */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';

export interface EventSet {
  readonly name: string;
  readonly description: string;
  /** Absolute folder used as the only schema base URI (with the .yaml extension). */
  readonly schemaBase: string;
  /** The schema the events name, precached at startup. */
  readonly schemaUri: string;
  readonly allowInsecure: boolean;
}

export type Kind = 'single' | 'batch';

/**
 * What a batch holds: `valid`, every event valid; `mixed`, every tenth event
 * fails, alternately invalid (no meta.stream) and of a schema no base URI
 * has, as batches from the field do: their answer then carries an item per
 * failure (the event and ajv's errors), and error events are made for them.
 */
export type BatchMix = 'valid' | 'mixed';
export const BATCH_MIXES: readonly BatchMix[] = ['valid', 'mixed'];

type Event = Record<string, unknown>;

/** `test`: the repo's bundled test schema; `wmf`: a real, heavy Wikimedia schema (if the fixtures are there). */
export function eventSets(repo: string, wmfSchemas: string): EventSet[] {
  return [
    {
      name: 'test',
      description: 'bundled schemas/test/event/1.0.0',
      schemaBase: join(repo, 'schemas'),
      schemaUri: '/test/event/1.0.0',
      allowInsecure: false,
    },
    {
      name: 'wmf',
      description: 'Wikimedia mediawiki/page/change/1.2.0 (819-line schema)',
      schemaBase: wmfSchemas,
      schemaUri: '/mediawiki/page/change/1.2.0',
      // Wikimedia's materialized schemas fail ajv's secure-schema check.
      allowInsecure: true,
    },
  ];
}

export function schemaFileOf(set: EventSet): string {
  return join(set.schemaBase, `${set.schemaUri}.yaml`);
}

/** The first of the schema's `examples`: a real event of that schema. */
export function exampleEvent(set: EventSet): Event {
  const file = schemaFileOf(set);
  if (!existsSync(file)) throw new Error(`${set.name}: schema file ${file} is missing`);
  const doc = yaml.load(readFileSync(file, 'utf8')) as { examples?: unknown[] } | null;
  const example = doc?.examples?.[0];
  if (example !== null && typeof example === 'object' && !Array.isArray(example)) return example as Event;
  // A schema without examples: the smallest event the test schema accepts.
  return { $schema: set.schemaUri, meta: { stream: 'eventgate.bench', dt: '2026-01-01T00:00:00Z' }, test: 'bench' };
}

/**
 * One copy of the example as a client would send it: the per-event fields a
 * producer fills (meta.id, request_id, dt, uri) set to fresh values, so no
 * two events of a body are the same.
 */
function variant(example: Event, n: number, now: number): Event {
  const event = structuredClone(example);
  const dt = new Date(now - n).toISOString();
  const meta = (typeof event.meta === 'object' && event.meta !== null ? event.meta : {}) as Event;
  meta.id = randomUUID();
  meta.request_id = randomUUID();
  meta.dt = dt;
  meta.uri = `https://example.org/wiki/Special:Events/${n}`;
  event.meta = meta;
  if (typeof event.dt === 'string') event.dt = dt;
  return event;
}

/**
 * `count` distinct request bodies of one kind: a single event each, or a
 * JSON array of `batchSize` events. Made once, before any clock starts.
 */
export function makeBodies(example: Event, kind: Kind, batchSize: number, count: number, mix: BatchMix = 'valid'): string[] {
  const now = Date.now();
  let n = 0;
  const bodies: string[] = [];
  for (let b = 0; b < count; b++) {
    if (kind === 'single') bodies.push(JSON.stringify(variant(example, n++, now)));
    else bodies.push(JSON.stringify(Array.from({ length: batchSize }, (_, i) => spoiled(variant(example, n++, now), mix === 'mixed' ? i : -1))));
  }
  return bodies;
}

/** The event at `i` of a mixed batch: every tenth one made invalid (5, 25, ...) or of an unknown schema (15, 35, ...). */
function spoiled(event: Event, i: number): Event {
  if (i % 10 !== 5) return event;
  if (i % 20 === 5) {
    delete (event.meta as Event).stream;
    return event;
  }
  return { ...event, $schema: '/no/such/schema/1.0.0' };
}
