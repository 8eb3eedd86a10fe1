/**
 * Enrichment: fields eventgate fills in before validation, each only when
 * the event does not have it and the event's schema declares it.
 *
 * "Declares" is deliberately narrow, as in EventGate: every step of the
 * dotted path must be named by the schema, through `properties`, a matching
 * `patternProperties` pattern or an `additionalProperties` *schema* (how a
 * header map such as `http.request_headers` is declared), and the last step
 * must accept a string. A level that says nothing about its keys (no
 * `properties`, or `additionalProperties` absent / true) declares nothing
 * below it, so an open schema gets no fields it did not ask for (request
 * headers are personal data); and a level with `additionalProperties: false`
 * that does not name the key forbids it, so enrichment never turns a valid
 * event invalid. Local `$ref`s (`#/...`) and `allOf` branches are followed;
 * `$ref`s to other documents, `anyOf`/`oneOf` and conditionals are not, and
 * declare nothing. Declared paths are computed once per schema object.
 *
 * Query-string enrichment (schema URI, stream) is separate: it must run
 * before the schema is known, since it may name the schema.
 */
import { randomUUID } from 'node:crypto';
import { EventGateError } from '../errors';

export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;
type Schema = Readonly<Record<string, unknown>>;

export interface EnricherOptions {
  /** Set to a new UUID; '' or undefined: off. */
  readonly idField?: string;
  /** Set to the time of receipt, ISO 8601; '' or undefined: off. */
  readonly dtField?: string;
  /** Request header name -> dotted field, set to the header's value. */
  readonly headersToFields?: Readonly<Record<string, string>>;
  /** Header values are cut to this many characters. Default 400. */
  readonly maxHeaderLength?: number;
}

/** Fills the absent, declared fields of one event in place. */
export type Enricher = (event: Record<string, unknown>, schema: Schema, headers: RequestHeaders, now?: () => Date, lookup?: SchemaLookup) => void;

type Field =
  | { readonly kind: 'id'; readonly keys: readonly string[] }
  | { readonly kind: 'dt'; readonly keys: readonly string[] }
  | { readonly kind: 'header'; readonly keys: readonly string[]; readonly header: string };

export const DEFAULT_MAX_HEADER_LENGTH = 400;
const systemNow = (): Date => new Date();

export function makeEnricher(opts: EnricherOptions): Enricher {
  const fields: Field[] = [];
  if (opts.idField) fields.push({ kind: 'id', keys: pathKeys(opts.idField) });
  if (opts.dtField) fields.push({ kind: 'dt', keys: pathKeys(opts.dtField) });
  for (const [header, path] of Object.entries(opts.headersToFields ?? {})) {
    fields.push({ kind: 'header', keys: pathKeys(path), header: header.toLowerCase() });
  }
  const maxHeader = opts.maxHeaderLength ?? DEFAULT_MAX_HEADER_LENGTH;
  // Per schema: the fields it declares, each with the longest value it takes,
  // so that enrichment never makes a valid event invalid.
  const plans = new WeakMap<Schema, readonly { field: Field; max: number }[]>();
  const planOf = (schema: Schema, lookup: SchemaLookup | undefined): readonly { field: Field; max: number }[] => {
    let plan = plans.get(schema);
    if (plan === undefined) {
      plan = fields
        .filter((f) => schemaDeclares(schema, f.keys, lookup))
        .map((field) => ({ field, max: Math.min(field.kind === 'header' ? maxHeader : Infinity, declaredMaxLength(schema, field.keys, lookup)) }))
        // A uuid is 36 characters and an ISO 8601 time 24: a field too short for them is left alone.
        .filter(({ field, max }) => (field.kind === 'id' ? max >= 36 : field.kind === 'dt' ? max >= 24 : max > 0));
      plans.set(schema, plan);
    }
    return plan;
  };

  return (event, schema, headers, now = systemNow, lookup) => {
    const plan = planOf(schema, lookup);
    let dt: string | undefined;
    for (const { field: f, max } of plan) {
      if (f.kind === 'id') {
        setIfAbsent(event, f.keys, randomUUID);
      } else if (f.kind === 'dt') {
        setIfAbsent(event, f.keys, () => (dt ??= now().toISOString()));
      } else {
        const raw = headers[f.header];
        if (raw === undefined || raw.length === 0) continue;
        setIfAbsent(event, f.keys, () => truncate(typeof raw === 'string' ? raw : raw.join(', '), max));
      }
    }
  };
}

export interface QueryEnricherOptions {
  readonly schemaUriField: string | readonly string[];
  readonly streamField: string;
  readonly schemaUriQueryParam?: string;
  readonly streamQueryParam?: string;
}

/** What the query enricher reads; URLSearchParams is one. */
export interface QueryParams {
  get(name: string): string | null;
}

/**
 * Fills an absent schema URI field (the first of a list, when none of them
 * is present) and an absent stream field from the query string, for clients
 * that can only send a bare body. No schema check: the schema is not known
 * yet (this may name it), and the stream field is the service's own routing
 * field. Undefined when neither parameter is configured, so that callers
 * skip the step.
 */
export function makeQueryEnricher(opts: QueryEnricherOptions): ((event: Record<string, unknown>, query: QueryParams) => void) | undefined {
  const { schemaUriQueryParam: uriParam, streamQueryParam: streamParam } = opts;
  if (!uriParam && !streamParam) return undefined;
  const uriPaths = (typeof opts.schemaUriField === 'string' ? [opts.schemaUriField] : opts.schemaUriField).map(pathKeys);
  const streamPath = pathKeys(opts.streamField);
  return (event, query) => {
    const uri = uriParam ? query.get(uriParam) : null;
    if (uri && uriPaths.every((keys) => !has(event, keys))) setIfAbsent(event, uriPaths[0], () => uri);
    const stream = streamParam ? query.get(streamParam) : null;
    if (stream) setIfAbsent(event, streamPath, () => stream);
  };
}

/**
 * The documents a schema's `$ref`s to other schemas name, by absolute id
 * (the schema repository holds them: they were loaded for validation).
 * Without one, a `$ref` to another document declares nothing.
 */
export type SchemaLookup = (id: string) => Schema | undefined;

/** A schema node and the document it is in: a `$ref` resolves against that document. */
interface Node {
  readonly doc: Schema;
  readonly s: Schema;
}

/** Whether `schema` declares the dotted path as a string field (the rule at the top of this file). */
export function schemaDeclares(schema: Schema, keys: readonly string[], lookup?: SchemaLookup): boolean {
  const level = levelAt(schema, keys, lookup);
  return level !== undefined && levelNodes(level, lookup).every((n) => typeAllows(n.s, 'string'));
}

/** The smallest maxLength the schema puts on the dotted path (Infinity when none); call after schemaDeclares. */
function declaredMaxLength(schema: Schema, keys: readonly string[], lookup?: SchemaLookup): number {
  const level = levelAt(schema, keys, lookup);
  if (level === undefined) return 0;
  let max = Infinity;
  for (const n of levelNodes(level, lookup)) if (typeof n.s.maxLength === 'number') max = Math.min(max, n.s.maxLength);
  return max;
}

function levelAt(schema: Schema, keys: readonly string[], lookup: SchemaLookup | undefined): Node | undefined {
  let level: Node | undefined = { doc: schema, s: schema };
  for (const key of keys) {
    level = declaredChild(level, key, lookup);
    if (level === undefined) return undefined;
  }
  return level;
}

const MAX_REF_HOPS = 32;
const MAX_ALLOF_DEPTH = 8;
const ANY: Schema = Object.freeze({});

function declaredChild(at: Node, key: string, lookup: SchemaLookup | undefined): Node | undefined {
  const nodes = levelNodes(at, lookup);
  if (nodes.length === 0) return undefined;
  for (const { s: n } of nodes) {
    if (!typeAllows(n, 'object')) return undefined;
    if (n.additionalProperties === false && !ownProperty(n.properties, key) && matchingPattern(n, key) === undefined) return undefined;
  }
  for (const { doc, s: n } of nodes) {
    if (ownProperty(n.properties, key)) return deref(doc, (n.properties as Record<string, unknown>)[key], lookup);
  }
  for (const { doc, s: n } of nodes) {
    const sub = matchingPattern(n, key);
    if (sub !== undefined) return deref(doc, sub, lookup);
  }
  for (const { doc, s: n } of nodes) {
    if (n.additionalProperties !== null && typeof n.additionalProperties === 'object') return deref(doc, n.additionalProperties, lookup);
  }
  return undefined;
}

/** A schema and its allOf branches, dereferenced: all of them apply at one level. */
function levelNodes(at: Node, lookup: SchemaLookup | undefined, depth = 0, out: Node[] = []): Node[] {
  const n = deref(at.doc, at.s, lookup);
  if (n === undefined || depth > MAX_ALLOF_DEPTH) return out;
  out.push(n);
  if (Array.isArray(n.s.allOf)) for (const branch of n.s.allOf as unknown[]) levelNodes({ doc: n.doc, s: branch as Schema }, lookup, depth + 1, out);
  return out;
}

/** Follows `$ref`s (local ones, and others through `lookup`); `true` is any value, `false` and anything unresolvable are undefined. */
function deref(doc: Schema, value: unknown, lookup: SchemaLookup | undefined): Node | undefined {
  let s = value;
  let at = doc;
  for (let hops = 0; hops <= MAX_REF_HOPS; hops++) {
    if (s === true) return { doc: at, s: ANY };
    if (s === null || typeof s !== 'object' || Array.isArray(s)) return undefined;
    const ref = (s as Schema).$ref;
    if (typeof ref !== 'string') return { doc: at, s: s as Schema };
    const hash = ref.indexOf('#');
    const target = hash === -1 ? ref : ref.slice(0, hash);
    if (target !== '') {
      const id = resolveId(at, target);
      const other = id === undefined ? undefined : lookup?.(id);
      if (other === undefined) return undefined;
      at = other;
    }
    s = pointer(at, hash === -1 ? '#' : ref.slice(hash));
  }
  return undefined;
}

// Relative ids (/test/event/1.0.0) have no scheme for URL to resolve against: lend them one.
const RELATIVE_BASE = 'eventgate-relative:';

/** `ref` resolved against the id of `doc`, as ajv resolves it; undefined when it is no URI. */
function resolveId(doc: Schema, ref: string): string | undefined {
  const own = typeof doc.$id === 'string' ? doc.$id : typeof doc.id === 'string' ? doc.id : '';
  const base = /^[a-z][a-z0-9+.-]*:/i.test(own) ? own : RELATIVE_BASE + (own.startsWith('/') ? own : `/${own}`);
  try {
    const href = new URL(ref, base).href.replace(/#.*$/, '');
    return href.startsWith(RELATIVE_BASE) ? href.slice(RELATIVE_BASE.length) : href;
  } catch {
    return undefined;
  }
}

function pointer(root: Schema, ref: string): unknown {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let value: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (value === null || typeof value !== 'object' || !ownProperty(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function matchingPattern(schema: Schema, key: string): unknown {
  const patterns = schema.patternProperties;
  if (patterns === null || typeof patterns !== 'object') return undefined;
  for (const [pattern, sub] of Object.entries(patterns)) {
    try {
      if (new RegExp(pattern, 'u').test(key)) return sub;
    } catch {
      // An invalid pattern declares nothing; ajv reports it when compiling.
    }
  }
  return undefined;
}

function typeAllows(schema: Schema, type: string): boolean {
  const t = schema.type;
  if (t === undefined) return true;
  return Array.isArray(t) ? t.includes(type) : t === type;
}

function ownProperty(obj: unknown, key: string): boolean {
  return obj !== null && typeof obj === 'object' && Object.prototype.hasOwnProperty.call(obj, key);
}

function has(event: Record<string, unknown>, keys: readonly string[]): boolean {
  let value: unknown = event;
  for (const k of keys) {
    if (!ownProperty(value, k)) return false;
    value = (value as Record<string, unknown>)[k];
  }
  return true;
}

/**
 * Sets the path to `value()` when it is absent, creating objects on the
 * way; a step that holds a non-object (or an array) is left alone: that
 * is the client's data, and validation will say what is wrong with it.
 */
function setIfAbsent(event: Record<string, unknown>, keys: readonly string[], value: () => string): void {
  let target = event;
  const last = keys.length - 1;
  for (let i = 0; i < last; i++) {
    const k = keys[i];
    if (!Object.prototype.hasOwnProperty.call(target, k)) {
      let obj: Record<string, unknown> = (target[k] = {});
      for (let j = i + 1; j < last; j++) obj = obj[keys[j]] = {};
      obj[keys[last]] = value();
      return;
    }
    const next = target[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) return;
    target = next as Record<string, unknown>;
  }
  if (!Object.prototype.hasOwnProperty.call(target, keys[last])) target[keys[last]] = value();
}

/** Cuts to `max` UTF-16 units without splitting a surrogate pair. */
function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  const code = value.charCodeAt(max - 1);
  return value.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function pathKeys(path: string): string[] {
  const keys = path.split('.');
  if (keys.some((k) => k.length === 0 || UNSAFE_KEYS.has(k))) {
    throw new EventGateError('EG_ERR_CONFIG_INVALID', `'${path}' is not a usable field path.`);
  }
  return keys;
}
