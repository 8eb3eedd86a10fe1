/** The stream module: stream config (load, refresh, look up), per-stream rules. */
export { StreamTable, type StreamConfigObject, type StreamSettings } from './config';
export { StreamRegistry, type StreamRegistryOptions } from './registry';
export { checkStream, messageKey, topicFor, type StreamRefusal } from './rules';
