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
export function makeBodies(example: Event, kind: Kind, batchSize: number, count: number): string[] {
  const now = Date.now();
  let n = 0;
  const bodies: string[] = [];
  for (let b = 0; b < count; b++) {
    if (kind === 'single') bodies.push(JSON.stringify(variant(example, n++, now)));
    else bodies.push(JSON.stringify(Array.from({ length: batchSize }, () => variant(example, n++, now))));
  }
  return bodies;
}
