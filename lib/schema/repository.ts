/**
 * The schema repository the request path asks: schema URI in, compiled
 * validator out. A cached schema is a synchronous Map hit (`peek`); only a
 * miss goes async (`get`), and concurrent misses for one URI share a load.
 * What a client can make it do is bounded (SchemaLimits): fetches in
 * flight, schemas a request may have loaded, schemas and failures held.
 */
import type { ValidateFunction } from 'ajv';
import type Logger from 'bunyan';
import { codeOf, EventGateError, messageOf, type ErrorCode } from '../errors';
import { nullMetrics, type Metrics } from '../metrics/metrics';
import { SchemaCache } from './cache';
import { SchemaCompiler } from './compile';
import { fetchSchemaText } from './fetch';
import { FetchLimiter } from './limit';
import { locateSchema, type FetchText, type LocatedSchema } from './locate';
import { MAX_SCHEMA_URI_LENGTH, parseBaseUris, resolveSchemaUri, type ResolveOptions, type SchemaBase } from './resolve';
import type { LogEvent } from '../log-events';

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
  /** Also bounds a fetch's wait for its turn. */
  readonly fetchTimeoutMs: number;
  /** User-Agent of http(s) schema fetches (services[0].conf.user_agent). */
  readonly userAgent?: string;
  readonly limits: SchemaLimits;
  /**
   * Finds schema documents (its own and `$ref`'d ones) instead of fetching
   * them here: a pool thread asks its worker's main thread (lib/batch/schema-relay.ts),
   * so that one fetch bound, and one fetch per schema, covers a worker and its threads.
   */
  readonly locate?: (uri: string) => Promise<LocatedSchema>;
  readonly log?: Logger;
  readonly metrics?: Metrics;
}

/** Bounds of one repository (schema_limits): a worker process's, or one pool thread's. */
export interface SchemaLimits {
  /** http(s) schema fetches in flight at most; more wait their turn. */
  readonly maxConcurrentFetches: number;
  /** Schemas neither cached nor loading that one getMany (one request) may load. */
  readonly maxNewPerRequest: number;
  /** Compiled schemas held. */
  readonly maxSchemas: number;
  /** Failed look-ups held. */
  readonly maxFailures: number;
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

/** At most one info line a client's unknown schema URIs cause, per this long. */
const NOT_FOUND_TOLD_MS = 10000;

/** Loads of a precached schema that found no turn to fetch (EG_ERR_SCHEMA_FETCH_BUSY) before it counts as failed. */
const PRECACHE_ATTEMPTS = 3;

// Logged at debug: client typos, and refusals a flood of them causes (counted in schema.fetch.refused).
const QUIET_CODES = new Set<ErrorCode>([
  'EG_ERR_SCHEMA_URI_INVALID',
  'EG_ERR_SCHEMA_URI_ABSOLUTE',
  'EG_ERR_SCHEMA_URI_ESCAPE',
  'EG_ERR_SCHEMA_NOT_FOUND',
  'EG_ERR_SCHEMA_FETCH_BUSY',
]);

export class SchemaRepository {
  private readonly bases: readonly SchemaBase[];
  private readonly resolveOpts: ResolveOptions;
  private readonly metrics: Metrics;
  private readonly cache: SchemaCache<CompiledSchema>;
  private readonly loading = new Map<string, Promise<CompiledSchema>>();
  /** Documents being found, by URI: loads here and asks from pool threads share one. */
  private readonly locating = new Map<string, Promise<LocatedSchema>>();
  private readonly limiter: FetchLimiter;
  private readonly fetchText: FetchText;
  private compiler: SchemaCompiler;
  /** Bumped by clear(): a load begun before it must not fill the new cache. */
  private generation = 0;
  /** When a schema not found was last logged at info. */
  private notFoundToldAt = -Infinity;

  /** Throws EG_ERR_CONFIG_INVALID for a base URI it cannot use. */
  constructor(private readonly opts: SchemaRepositoryOptions) {
    this.bases = parseBaseUris(opts.baseUris, opts.configDir);
    this.resolveOpts = { fileExtension: opts.fileExtension, allowAbsoluteUris: opts.allowAbsoluteUris };
    this.metrics = opts.metrics ?? nullMetrics;
    const { limits } = opts;
    this.cache = new SchemaCache({
      ttlMs: opts.negativeCacheTtlMs,
      maxSchemas: limits.maxSchemas,
      maxFailures: limits.maxFailures,
      // ajv holds every schema it compiled: evicted here but kept there would bound nothing.
      onEvict: (compiled) => this.compiler.forget(compiled.schema),
    });
    this.limiter = new FetchLimiter(limits.maxConcurrentFetches, opts.fetchTimeoutMs, this.metrics);
    this.fetchText = (loc) => {
      const fetch = (): Promise<string | undefined> => fetchSchemaText(loc, opts.fetchTimeoutMs, opts.userAgent);
      // Files are local and cheap to ask; only the network is bounded.
      return loc.kind === 'http' ? this.limiter.run(loc.href, fetch) : fetch();
    };
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

  /**
   * The schemas one request misses, each mapped to its schema or its error
   * (never rejects). At most maxNewPerRequest of them, in order, start a
   * load; the rest fail with EG_ERR_SCHEMA_LOOKUP_LIMIT, unfetched. A URI
   * cached or already loading (for another request) costs nothing and
   * always waits for its answer.
   */
  async getMany(uris: Iterable<string>): Promise<Map<string, CompiledSchema | Error>> {
    const list = [...uris];
    let budget = this.opts.limits.maxNewPerRequest;
    const pending = list.map((uri) => {
      if (this.cache.get(uri) !== undefined || this.loading.has(uri)) return this.get(uri);
      if (budget > 0) {
        budget--;
        return this.get(uri);
      }
      this.metrics.increment('schema.fetch.refused', 1, { reason: 'request_limit' });
      return Promise.reject(
        new EventGateError(
          'EG_ERR_SCHEMA_LOOKUP_LIMIT',
          `Schema ${uri.slice(0, MAX_SCHEMA_URI_LENGTH)} was not looked up: this request names more than ${this.opts.limits.maxNewPerRequest} schemas not yet loaded (schema_limits.max_new_per_request); send this event again.`,
        ),
      );
    });
    const settled = await Promise.allSettled(pending);
    const out = new Map<string, CompiledSchema | Error>();
    settled.forEach((s, i) => {
      const reason: unknown = s.status === 'rejected' ? s.reason : undefined;
      out.set(list[i], s.status === 'fulfilled' ? s.value : reason instanceof Error ? reason : new EventGateError('EG_ERR_INTERNAL', messageOf(reason), { cause: reason }));
    });
    return out;
  }

  /** Fetches in flight and waiting for their turn. */
  get fetches(): { active: number; waiting: number } {
    return this.limiter.load;
  }

  /** Schemas and failures held. */
  get cached(): { ok: number; failed: number } {
    return this.cache.size;
  }

  /** Loads every URI; rejects with EG_ERR_SCHEMA_PRECACHE naming each that failed and why. */
  async precache(uris: readonly string[]): Promise<void> {
    const failed: { uri: string; code: ErrorCode; message: string }[] = [];
    let next = 0;
    // A load has one fetch in flight at a time: as many loads as the fetch
    // bound never wait for a turn among themselves, however long the list
    // and slow the repository.
    const worker = async (): Promise<void> => {
      while (next < uris.length) {
        const uri = uris[next++];
        try {
          await this.getPatiently(uri);
        } catch (err) {
          failed.push({ uri, code: codeOf(err), message: messageOf(err) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.limits.maxConcurrentFetches, uris.length) }, worker));
    if (failed.length === 0) return;
    failed.sort((x, y) => uris.indexOf(x.uri) - uris.indexOf(y.uri));
    const list = failed.map((f) => `${f.uri} (${f.code}: ${f.message})`).join('; ');
    throw new EventGateError('EG_ERR_SCHEMA_PRECACHE', `${failed.length} of ${uris.length} schemas in schema_precache_uris could not be loaded: ${list}`, {
      details: failed,
    });
  }

  /** get(), asked again when the turn for a fetch did not come (others fetch too: requests, pool threads): no fault of the schema. */
  private async getPatiently(uri: string): Promise<CompiledSchema> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.get(uri);
      } catch (err) {
        if (codeOf(err) !== 'EG_ERR_SCHEMA_FETCH_BUSY' || attempt >= PRECACHE_ATTEMPTS) throw err;
      }
    }
  }


  /** Forgets everything (SIGHUP): schemas are fetched and compiled afresh. */
  clear(): void {
    this.generation++;
    this.cache.clear();
    this.loading.clear();
    this.locating.clear();
    this.compiler = this.newCompiler();
  }

  /**
   * The schema document `uri` names, fetched (within this repository's fetch
   * bound) and parsed, not compiled: what a pool thread's repository asks
   * for. Concurrent asks for one URI share one fetch. Rejects with an
   * EventGateError.
   */
  locateDocument(uri: string): Promise<LocatedSchema> {
    let found = this.locating.get(uri);
    if (!found) {
      const mine = (async () => locateSchema(uri, resolveSchemaUri(uri, this.bases, this.resolveOpts), this.fetchText))();
      this.locating.set(uri, mine);
      const done = (): void => {
        if (this.locating.get(uri) === mine) this.locating.delete(uri);
      };
      mine.then(done, done);
      found = mine;
    }
    return found;
  }

  private newCompiler(): SchemaCompiler {
    return new SchemaCompiler({ allowInsecure: this.opts.allowInsecure, locate: (uri) => this.locate(uri), log: this.opts.log });
  }

  private locate(uri: string): Promise<LocatedSchema> {
    return this.opts.locate ? this.opts.locate(uri) : this.locateDocument(uri);
  }


  private async load(uri: string): Promise<CompiledSchema> {
    const { generation, compiler } = this;
    const started = performance.now();
    try {
      const { doc, href } = await this.locate(uri);
      const { validate, schema, lookup } = await compiler.compile(uri, doc);
      const title = typeof schema.title === 'string' ? schema.title : undefined;
      const compiled: CompiledSchema = Object.freeze({ uri, validate, title, schema, lookup });
      if (generation === this.generation && this.cache.setOk(uri, compiled) > 0) this.metrics.increment('schema.cache.evicted', 1, { kind: 'schema' });
      this.opts.log?.info({ event: 'schema.loaded' satisfies LogEvent, uri, href, ms: Math.round(performance.now() - started) }, 'schema loaded');
      return compiled;
    } catch (caught) {
      const err =
        caught instanceof EventGateError ? caught : new EventGateError('EG_ERR_INTERNAL', `Schema ${uri}: ${messageOf(caught)}`, { cause: caught });
      if (generation === this.generation && NEGATIVE_CODES.has(err.code) && uri.length <= MAX_SCHEMA_URI_LENGTH) {
        const dropped = this.cache.setFailed(uri, err);
        if (dropped > 0) this.metrics.increment('schema.cache.evicted', dropped, { kind: 'failure' });
      }
      this.metrics.increment('schema.load.failed', 1, { code: err.code });
      // Clients choose URIs: their typos are no operator's concern, and must not flood the log. A
      // schema no base has is told at info, with the locations tried (the client's answer keeps
      // our paths out): a base folder that is not where the config says makes every event one.
      // One such line per NOT_FOUND_TOLD_MS is enough to show that, and a client naming random
      // URIs cannot turn it into a flood (the rest are at debug, and counted in schema.load.failed).
      const now = performance.now();
      const told = err.code === 'EG_ERR_SCHEMA_NOT_FOUND' && uri.length <= MAX_SCHEMA_URI_LENGTH && now - this.notFoundToldAt >= NOT_FOUND_TOLD_MS;
      if (told) this.notFoundToldAt = now;
      const level = told ? 'info' : QUIET_CODES.has(err.code) ? 'debug' : 'warn';
      const tried = told ? (err.details as { tried?: string[] } | undefined)?.tried : undefined;
      this.opts.log?.[level]({ event: 'schema.load_failed' satisfies LogEvent, uri: uri.slice(0, MAX_SCHEMA_URI_LENGTH), code: err.code, err, ...(tried ? { tried } : {}) }, 'schema load failed');
      throw err;
    } finally {
      this.metrics.timing('schema.load_time', performance.now() - started);
    }
  }
}
