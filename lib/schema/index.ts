/** The schema module: resolve schema URIs, fetch, check, compile and cache schemas. */
export { SchemaRepository, type CompiledSchema, type SchemaLimits, type SchemaRepositoryOptions } from './repository';
