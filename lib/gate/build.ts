import type { ServiceConf } from '../config/schema';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import { SchemaRepository, type SchemaRepositoryOptions } from '../schema';
import { makeEnricher, makeQueryEnricher } from '../event/enrich';
import { EventValidator, type StreamLookup } from './validate';

export interface ValidatorDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Stream config: the registry in the HTTP worker, a table rebuilt from it in a pool thread. */
  readonly streams?: StreamLookup;
  /** Where a pool thread finds schema documents: its worker's main thread (SchemaRepositoryOptions.locate). */
  readonly locateSchema?: SchemaRepositoryOptions['locate'];
}

export interface BuiltValidator {
  readonly validator: EventValidator;
  readonly schemas: SchemaRepository;
}

/**
 * The validator a service config describes: its schema repository, field
 * paths and enrichers. The HTTP worker and every pool thread build theirs
 * here, so the two paths cannot drift apart in how they validate.
 */
export function buildValidator(conf: ServiceConf, configDir: string, deps: ValidatorDeps): BuiltValidator {
  const schemas = new SchemaRepository({
    baseUris: conf.schema_base_uris,
    configDir,
    fileExtension: conf.schema_file_extension,
    allowAbsoluteUris: conf.allow_absolute_schema_uris,
    allowInsecure: conf.allow_insecure_schemas,
    negativeCacheTtlMs: conf.schema_negative_cache_ttl_ms,
    fetchTimeoutMs: conf.schema_fetch_timeout_ms,
    userAgent: conf.user_agent,
    limits: {
      maxConcurrentFetches: conf.schema_limits.max_concurrent_fetches,
      maxNewPerRequest: conf.schema_limits.max_new_per_request,
      maxSchemas: conf.schema_limits.max_cached,
      maxFailures: conf.schema_limits.max_failures_cached,
    },
    locate: deps.locateSchema,
    log: deps.log,
    metrics: deps.metrics,
  });
  const validator = new EventValidator({
    schemas,
    schemaUriField: conf.schema_uri_field,
    streamField: conf.stream_field,
    topicPrefix: conf.topic_prefix,
    dtField: conf.dt_field || undefined,
    timestampWindow: { pastMs: conf.timestamp_max_past_ms, futureMs: conf.timestamp_max_future_ms },
    streams: deps.streams,
    enrich: makeEnricher({ idField: conf.id_field, dtField: conf.dt_field, headersToFields: conf.http_request_headers_to_fields }),
    enrichFromQuery: makeQueryEnricher({
      schemaUriField: conf.schema_uri_field,
      streamField: conf.stream_field,
      schemaUriQueryParam: conf.schema_uri_query_param,
      streamQueryParam: conf.stream_query_param,
    }),
  });
  return { validator, schemas };
}
