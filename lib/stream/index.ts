/** The stream module: stream config (load, refresh, look up), per-stream rules, enrichment. */
export { StreamTable, type StreamConfigObject, type StreamSettings } from './config';
export { StreamRegistry, type StreamRegistryOptions } from './registry';
export { checkStream, messageKey, topicFor, type StreamRefusal } from './rules';
export {
  makeEnricher,
  makeQueryEnricher,
  schemaDeclares,
  type Enricher,
  type EnricherOptions,
  type QueryEnricherOptions,
  type QueryParams,
  type RequestHeaders,
} from './enrich';
