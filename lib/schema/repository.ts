/**
 * The schema repository the request path asks: schema URI in, compiled
 * validator out. A cached schema is a synchronous Map hit (`peek`); only a
 * miss goes async (`get`), and concurrent misses for one URI share a load.
 */
import type { ValidateFunction } from 'ajv';
import type Logger from 'bunyan';
import { codeOf, EventGateError, messageOf, type ErrorCode } from '../errors';
import { nullMetrics, type Metrics } from '../metrics/metrics';
import { SchemaCache } from './cache';
import { SchemaCompiler } from './compile';
import { locateSchema, type LocatedSchema } from './locate';
import { MAX_SCHEMA_URI_LENGTH, parseBaseUris, resolveSchemaUri, type ResolveOptions, type SchemaBase } from './resolve';

export interface SchemaRepositoryOptions {
  /** Tried in order: plain paths (relative to `configDir`), file:// or http(s):// URIs. */
  readonly baseUris: readonly string[];
  /** Absolute directory of the config file. */
  readonly configDir: string;
  /** Appended to a schema URI whose last segment has no extension, e.g. `.yaml`. */
  readonly fileExtension?: string;
  readonly allowAbsoluteUris: boolean;
  readonly allowInsecure: boolean;
  readonly negativeCacheTtlMs: number;
  readonly fetchTimeoutMs: number;
  /** User-Agent of http(s) schema fetches (services[0].conf.user_agent). */
  readonly userAgent?: string;
  readonly log?: Logger;
  readonly metrics?: Metrics;
}

export interface CompiledSchema {
  /** The URI the schema was asked for by. */
  readonly uri: string;
  readonly validate: ValidateFunction;
  readonly title?: string;
  readonly schema: Record<string, unknown>;
  /** Documents the schema's `$ref`s name, by absolute id (see CompiledDoc.lookup). */
  readonly lookup?: (id: string) => Record<string, unknown> | undefined;
}

// Failures worth remembering: asking again within the TTL would give the
// same answer. Anything else (a bug) is not cached, so it shows every time.
const NEGATIVE_CODES = new Set<ErrorCode>([
  'EG_ERR_SCHEMA_URI_INVALID',
  'EG_ERR_SCHEMA_URI_ABSOLUTE',
  'EG_ERR_SCHEMA_URI_ESCAPE',
  'EG_ERR_SCHEMA_NOT_FOUND',
  'EG_ERR_SCHEMA_FETCH',
  'EG_ERR_SCHEMA_PARSE',
  'EG_ERR_SCHEMA_COMPILE',
  'EG_ERR_SCHEMA_INSECURE',
]);

const CLIENT_CODES = new Set<ErrorCode>(['EG_ERR_SCHEMA_URI_INVALID', 'EG_ERR_SCHEMA_URI_ABSOLUTE', 'EG_ERR_SCHEMA_URI_ESCAPE', 'EG_ERR_SCHEMA_NOT_FOUND']);

export class SchemaRepository {
  private readonly bases: readonly SchemaBase[];
  private readonly resolveOpts: ResolveOptions;
  private readonly metrics: Metrics;
  private readonly cache: SchemaCache<CompiledSchema>;
  private readonly loading = new Map<string, Promise<CompiledSchema>>();
  private compiler: SchemaCompiler;
  /** Bumped by clear(): a load begun before it must not fill the new cache. */
  private generation = 0;

  /** Throws EG_ERR_CONFIG_INVALID for a base URI it cannot use. */
  constructor(private readonly opts: SchemaRepositoryOptions) {
    this.bases = parseBaseUris(opts.baseUris, opts.configDir);
    this.resolveOpts = { fileExtension: opts.fileExtension, allowAbsoluteUris: opts.allowAbsoluteUris };
    this.metrics = opts.metrics ?? nullMetrics;
    this.cache = new SchemaCache(opts.negativeCacheTtlMs);
    this.compiler = this.newCompiler();
  }

  /** Hot path: the compiled schema, the unexpired failure, or undefined (call get). */
  peek(uri: string): CompiledSchema | EventGateError | undefined {
    const hit = this.cache.get(uri);
    if (hit !== undefined) this.metrics.increment(hit instanceof EventGateError ? 'schema.cache.negative_hit' : 'schema.cache.hit');
    return hit;
  }

  /** The compiled schema, loading it on a miss. Rejects with an EventGateError. */
  get(uri: string): Promise<CompiledSchema> {
    const hit = this.peek(uri);
    if (hit instanceof EventGateError) return Promise.reject(hit);
    if (hit !== undefined) return Promise.resolve(hit);
    this.metrics.increment('schema.cache.miss');
    let loading = this.loading.get(uri);
    if (!loading) {
      loading = this.load(uri);
      this.loading.set(uri, loading);
      const done = (): void => {
        if (this.loading.get(uri) === loading) this.loading.delete(uri);
      };
      loading.then(done, done);
    }
    return loading;
  }

  /** Loads every URI; rejects with EG_ERR_SCHEMA_PRECACHE naming each that failed and why. */
  async precache(uris: readonly string[]): Promise<void> {
    const settled = await Promise.allSettled(uris.map((uri) => this.get(uri)));
    const failed = settled.flatMap((s, i) =>
      s.status === 'rejected' ? [{ uri: uris[i], code: codeOf(s.reason), message: messageOf(s.reason) }] : [],
    );
    if (failed.length === 0) return;
    const list = failed.map((f) => `${f.uri} (${f.code}: ${f.message})`).join('; ');
    throw new EventGateError('EG_ERR_SCHEMA_PRECACHE', `${failed.length} of ${uris.length} schemas in schema_precache_uris could not be loaded: ${list}`, {
      details: failed,
    });
  }

  /** Forgets everything (SIGHUP): schemas are fetched and compiled afresh. */
  clear(): void {
    this.generation++;
    this.cache.clear();
    this.loading.clear();
    this.compiler = this.newCompiler();
  }

  private newCompiler(): SchemaCompiler {
    return new SchemaCompiler({ allowInsecure: this.opts.allowInsecure, locate: (uri) => this.locate(uri), log: this.opts.log });
  }

  private locate(uri: string): Promise<LocatedSchema> {
    return locateSchema(uri, resolveSchemaUri(uri, this.bases, this.resolveOpts), this.opts.fetchTimeoutMs, this.opts.userAgent);
  }

  private async load(uri: string): Promise<CompiledSchema> {
    const { generation, compiler } = this;
    const started = performance.now();
    try {
      const { doc, href } = await this.locate(uri);
      const { validate, schema, lookup } = await compiler.compile(uri, doc);
      const title = typeof schema.title === 'string' ? schema.title : undefined;
      const compiled: CompiledSchema = Object.freeze({ uri, validate, title, schema, lookup });
      if (generation === this.generation) this.cache.setOk(uri, compiled);
      this.opts.log?.info({ uri, href, ms: Math.round(performance.now() - started) }, 'schema loaded');
      return compiled;
    } catch (caught) {
      const err =
        caught instanceof EventGateError ? caught : new EventGateError('EG_ERR_INTERNAL', `Schema ${uri}: ${messageOf(caught)}`, { cause: caught });
      if (generation === this.generation && NEGATIVE_CODES.has(err.code) && uri.length <= MAX_SCHEMA_URI_LENGTH) this.cache.setFailed(uri, err);
      this.metrics.increment('schema.load.failed', 1, { code: err.code });
      // Clients choose URIs: their typos are no operator's concern, and must not flood the log.
      const level = CLIENT_CODES.has(err.code) ? 'debug' : 'warn';
      this.opts.log?.[level]({ uri: uri.slice(0, MAX_SCHEMA_URI_LENGTH), code: err.code, err }, 'schema load failed');
      throw err;
    } finally {
      this.metrics.timing('schema.load_time', performance.now() - started);
    }
  }
}
