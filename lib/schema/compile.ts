/**
 * Compiles schemas with ajv, loading the schemas their `$ref`s name through
 * the same base URIs (and rules) as event schema URIs.
 *
 * ajv's own compileAsync is not used: it registers a loaded schema only
 * after an await, so two loads that meet on one `$id` (a schema named by
 * an event and also `$ref`'d; two URIs for one file) fail with "schema with
 * key or id already exists". Here every registration is a synchronous
 * check-then-add, and a schema already held under the same id is reused
 * when it has the same content.
 */
import type { Logger as AjvLogger, ValidateFunction } from 'ajv';
import AjvCore from 'ajv/dist/core';
import type Logger from 'bunyan';
import { EventGateError, messageOf, type ErrorCode } from '../errors';
import { createAjv, defaultDraftOf, draftOf, familyOf, idKeywordOf, type Family } from './drafts';
import { jsonEqual } from './json-equal';
import type { LocatedSchema } from './locate';
import type { SchemaObject } from './parse';
import { prepareSchema } from './prepare';
import { assertSecure } from './secure';
import type { LogEvent } from '../log-events';

export interface CompiledDoc {
  readonly validate: ValidateFunction;
  /** What ajv compiled: the fetched schema as prepareSchema left it. */
  readonly schema: SchemaObject;
  /** The documents this schema's `$ref`s name, by absolute id, as ajv holds them (enrichment follows them). */
  readonly lookup: (id: string) => SchemaObject | undefined;
}

export interface CompilerOptions {
  readonly allowInsecure: boolean;
  /** Finds the schema a `$ref` names (ajv has resolved it against the referring schema's id). */
  readonly locate: (uri: string) => Promise<LocatedSchema>;
  readonly log?: Logger;
}

interface Engine {
  readonly family: Family;
  readonly ajv: AjvCore;
  /** `$ref` loads in flight, by the name ajv misses: concurrent compiles share one. */
  readonly loading: Map<string, Promise<void>>;
}

// Failures of a `$ref`'d schema that keep their own code; the rest (not
// found, bad URI) are the referring schema's defect, not the client's. A
// fetch refused for want of a turn must stay retryable (and uncached).
const REF_CODES_KEPT = new Set<ErrorCode>(['EG_ERR_SCHEMA_FETCH', 'EG_ERR_SCHEMA_FETCH_BUSY', 'EG_ERR_SCHEMA_PARSE', 'EG_ERR_SCHEMA_INSECURE', 'EG_ERR_SCHEMA_COMPILE']);

export class SchemaCompiler {
  private readonly engines = new Map<Family, Engine>();

  constructor(private readonly opts: CompilerOptions) {}

  /** Compiles the schema an event named as `uri`. Rejects with an EventGateError. */
  async compile(uri: string, doc: SchemaObject): Promise<CompiledDoc> {
    const draft = draftOf(doc, 'draft-07', uri);
    if (!this.opts.allowInsecure) assertSecure(doc, uri);
    const engine = this.engine(familyOf(draft));
    let prepared: SchemaObject;
    let schema: SchemaObject;
    try {
      prepared = prepareSchema(doc, draft, engine.family, uri);
      schema = register(engine, prepared);
    } catch (err) {
      throw schemaError(uri, err);
    }
    try {
      return { validate: await this.compileLoadingRefs(engine, schema), schema, lookup: (id) => documentHeld(engine, id) };
    } catch (err) {
      // A schema that did not compile must not keep its id: a later, fixed
      // version would otherwise be refused as "already exists".
      if (schema === prepared) unregister(engine, prepared);
      throw schemaError(uri, err);
    }
  }

  /**
   * Drops a schema compile() returned from ajv, which holds every schema and
   * validator it compiled: a bounded cache must free them. Validators
   * compiled already keep what they resolved; a later `$ref` to it loads it
   * again.
   */
  forget(schema: SchemaObject): void {
    for (const engine of this.engines.values()) {
      const id = schema[idKeywordOf(engine.family)];
      const existing = typeof id === 'string' ? held(engine, normalizeId(id)) : undefined;
      if (existing !== undefined && typeof existing === 'object' && existing.schema === schema) engine.ajv.removeSchema(schema);
    }
  }

  private engine(family: Family): Engine {
    let engine = this.engines.get(family);
    if (!engine) {
      engine = { family, ajv: createAjv(family, ajvLogger(this.opts.log)), loading: new Map() };
      this.engines.set(family, engine);
    }
    return engine;
  }

  private async compileLoadingRefs(engine: Engine, schema: SchemaObject): Promise<ValidateFunction> {
    for (;;) {
      let validate;
      try {
        validate = engine.ajv.compile(schema);
      } catch (err) {
        if (!(err instanceof AjvCore.MissingRefError)) throw err;
        // Held already, yet missing: the `$ref` points into it at nothing.
        if (held(engine, err.missingSchema) !== undefined) {
          throw new EventGateError('EG_ERR_SCHEMA_COMPILE', `$ref ${err.missingRef} cannot be resolved`);
        }
        await this.loadRef(engine, err.missingSchema);
        continue;
      }
      // An async schema's validate returns a Promise, which the caller would
      // read as "valid": refuse it rather than accept every event.
      if ('$async' in validate && validate.$async === true) throw new EventGateError('EG_ERR_SCHEMA_COMPILE', '$async schemas are not supported');
      return validate;
    }
  }

  private loadRef(engine: Engine, ref: string): Promise<void> {
    let loading = engine.loading.get(ref);
    if (!loading) {
      loading = this.fetchRef(engine, ref);
      engine.loading.set(ref, loading);
      const done = (): boolean => engine.loading.delete(ref);
      loading.then(done, done);
    }
    return loading;
  }

  private async fetchRef(engine: Engine, ref: string): Promise<void> {
    try {
      const { doc } = await this.opts.locate(ref);
      const draft = draftOf(doc, defaultDraftOf(engine.family), ref);
      if (familyOf(draft) !== engine.family) {
        throw new EventGateError('EG_ERR_SCHEMA_COMPILE', `it is a ${draft} schema, which cannot be used from a ${engine.family} schema`);
      }
      if (!this.opts.allowInsecure) assertSecure(doc, ref);
      register(engine, prepareSchema(doc, draft, engine.family, ref), ref);
    } catch (err) {
      const code = err instanceof EventGateError && REF_CODES_KEPT.has(err.code) ? err.code : 'EG_ERR_SCHEMA_COMPILE';
      throw new EventGateError(code, `$ref ${ref}: ${messageOf(err)}`, { cause: err });
    }
  }
}

/** The whole document ajv holds under `id` (not a name inside another schema). */
function documentHeld(engine: Engine, id: string): SchemaObject | undefined {
  const h = held(engine, id.endsWith('#') ? id.slice(0, -1) : id);
  const schema = h !== undefined && typeof h === 'object' ? h.schema : undefined;
  return schema !== null && typeof schema === 'object' ? schema : undefined;
}

/** What ajv holds under `key`: a schema, a name inside another schema (`string`), or nothing. */
function held(engine: Engine, key: string): AjvCore['refs'][string] {
  return engine.ajv.refs[key] ?? engine.ajv.schemas[key];
}

/**
 * Adds `prepared` to ajv under its id (and `alias`, the name a `$ref` used,
 * when that differs), or returns the schema ajv already holds under that id
 * when it is the same schema. Synchronous, so no other load can slip in
 * between the check and the add.
 */
function register(engine: Engine, prepared: SchemaObject, alias?: string): SchemaObject {
  const { ajv } = engine;
  const id = normalizeId(prepared[idKeywordOf(engine.family)]);
  const existing = held(engine, id);
  let schema = prepared;
  if (typeof existing === 'string') {
    // The id names a subschema embedded in another document; a document of
    // its own takes the name over (compiled validators keep what they resolved).
    ajv.removeSchema(id);
  } else if (existing !== undefined) {
    if (!jsonEqual(existing.schema, prepared)) {
      throw new EventGateError('EG_ERR_SCHEMA_COMPILE', `another schema with id ${id} and different content is already loaded`);
    }
    schema = existing.schema as SchemaObject;
  }
  if (schema === prepared) {
    try {
      ajv.addSchema(prepared);
    } catch (err) {
      // ajv registers before it validates against the meta-schema.
      unregister(engine, prepared);
      throw err;
    }
  }
  // ajv keys its compiled state by schema object: the same object under a
  // second name is an alias, not a second compilation.
  if (alias !== undefined && normalizeId(alias) !== id && held(engine, alias) === undefined) ajv.addSchema(schema, alias);
  return schema;
}

/** Removes `prepared` from ajv if ajv holds it (and not another schema) under its id. */
function unregister(engine: Engine, prepared: SchemaObject): void {
  const id = normalizeId(prepared[idKeywordOf(engine.family)]);
  const existing = held(engine, id);
  if (existing === undefined || (typeof existing === 'object' && existing.schema === prepared)) engine.ajv.removeSchema(prepared);
}

function normalizeId(id: unknown): string {
  if (typeof id !== 'string') throw new EventGateError('EG_ERR_SCHEMA_COMPILE', `schema id ${JSON.stringify(id)} is not a string`);
  return id.endsWith('#') ? id.slice(0, -1) : id;
}

/** Any failure while compiling `uri`, as an EventGateError that names it. */
function schemaError(uri: string, err: unknown): EventGateError {
  if (err instanceof EventGateError) {
    return new EventGateError(err.code, `Schema ${uri}: ${err.message}`, { cause: err, details: err.details });
  }
  return new EventGateError('EG_ERR_SCHEMA_COMPILE', `Schema ${uri} could not be compiled: ${messageOf(err)}.`, { cause: err });
}

/** ajv's warnings (unknown formats and the like) go to our log; its error output is the generated code, too big to log. */
function ajvLogger(log: Logger | undefined): AjvLogger | false {
  if (!log) return false;
  const text = (args: unknown[]): string => args.map(String).join(' ');
  return {
    log: (...args: unknown[]) => log.debug({ event: 'schema.ajv_log' satisfies LogEvent, ajv: text(args) }, 'ajv'),
    warn: (...args: unknown[]) => log.warn({ event: 'schema.ajv_warning' satisfies LogEvent, ajv: text(args) }, 'ajv warning'),
    error: (...args: unknown[]) => log.debug({ event: 'schema.ajv_error' satisfies LogEvent, ajv: text(args).slice(0, 2000) }, 'ajv error'),
  };
}
