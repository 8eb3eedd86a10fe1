/**
 * The copy of a fetched schema that ajv compiles. Real schema repositories
 * write schemas ajv 8 would refuse as they are; each change here is the
 * smallest that makes such a schema compile with its meaning intact.
 */
import { idKeywordOf, metaUriOf, type Draft, type Family } from './drafts';
import type { SchemaObject } from './parse';

// Keywords whose value is a subschema, an array of them, or a map of them,
// across drafts 4 to 2020-12. Anything else (examples, default, enum, ...)
// is data, whatever keys it happens to contain.
const ONE = ['additionalItems', 'additionalProperties', 'contains', 'contentSchema', 'else', 'if', 'items', 'not', 'propertyNames', 'then', 'unevaluatedItems', 'unevaluatedProperties'];
const MANY = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
const NAMED = ['$defs', 'definitions', 'dependencies', 'dependentSchemas', 'patternProperties', 'properties'];

const ABSOLUTE = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

/**
 * - `$schema` becomes the URI ajv registered the draft's meta-schema under
 *   (`https://json-schema.org/draft-07/schema#` would otherwise be fetched);
 * - the id says where the schema came from, so that its relative `$ref`s
 *   resolve against that and ajv can hold it by name (see schemaIdFor);
 * - nested ids that occur more than once are dropped (see below).
 */
export function prepareSchema(doc: SchemaObject, draft: Draft, family: Family, namedBy: string): SchemaObject {
  const schema = structuredClone(doc);
  if (schema.$schema !== undefined) schema.$schema = metaUriOf(draft);
  const idKey = idKeywordOf(family);
  schema[idKey] = schemaIdFor(namedBy, schema[idKey]);
  dropRepeatedNestedIds(schema, idKey);
  return schema;
}

/**
 * The id of a schema named by `namedBy` (an event's URI or a `$ref`) that
 * declares `own`. Through the bases, names are rooted paths and the schema's
 * own id stands. A schema fetched from an absolute URI has its id resolved
 * against that URI, as RFC 3986 would: it must not claim a rooted id such as
 * `/fragment/common/1.0.0` and so stand in for a base's schema in later
 * `$ref`s.
 */
export function schemaIdFor(namedBy: string, own: unknown): unknown {
  const bare = namedBy.endsWith('#') ? namedBy.slice(0, -1) : namedBy;
  if (ABSOLUTE.test(bare)) return typeof own === 'string' ? new URL(own, bare).href : bare;
  if (own !== undefined) return own;
  return bare.startsWith('/') ? bare : `/${bare}`;
}

/**
 * Materialized schemas (Wikimedia's, with every `$ref` inlined) keep the
 * inlined fragment's `$id`, and the same fragment is often inlined twice
 * with different descriptions. ajv 8 refuses that as an ambiguous id. Such
 * an id records provenance; nothing refers to it, so it is dropped. An id
 * that occurs once is kept: it may be a real target inside a bundle.
 */
function dropRepeatedNestedIds(root: SchemaObject, idKey: string): void {
  const holders = new Map<string, SchemaObject[]>();
  const walk = (schema: SchemaObject): void =>
    forEachSubschema(schema, (sub) => {
      const id = sub[idKey];
      if (typeof id === 'string') {
        const list = holders.get(id);
        if (list) list.push(sub);
        else holders.set(id, [sub]);
      }
      walk(sub);
    });
  walk(root);
  for (const list of holders.values()) {
    if (list.length > 1) for (const sub of list) delete sub[idKey];
  }
}

function forEachSubschema(schema: SchemaObject, visit: (sub: SchemaObject) => void): void {
  for (const k of ONE) {
    const v = schema[k];
    if (isSchemaObject(v)) visit(v);
  }
  for (const k of MANY) {
    const v = schema[k];
    if (Array.isArray(v)) for (const item of v) if (isSchemaObject(item)) visit(item);
  }
  for (const k of NAMED) {
    const v = schema[k];
    if (isSchemaObject(v)) for (const item of Object.values(v)) if (isSchemaObject(item)) visit(item);
  }
}

function isSchemaObject(v: unknown): v is SchemaObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
