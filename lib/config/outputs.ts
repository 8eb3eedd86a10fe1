/**
 * Where a config sends events and where it sends log lines: decided in one
 * place, so that the two never share a stream (`eventgate | jq` on either
 * must read only its own kind of line).
 */
import type { Config, LogStream, ServiceConf } from './schema';

/** Events go to Kafka when kafka.conf has settings; else to output_path. */
export function kafkaEnabled(conf: ServiceConf): boolean {
  return conf.kafka?.conf !== undefined && Object.keys(conf.kafka.conf).length > 0;
}

/** Whether the events themselves are written to stdout (the file sink on `stdout`). */
export function eventsOnStdout(config: Config): boolean {
  const conf = config.services[0].conf;
  return !kafkaEnabled(conf) && conf.output_path === 'stdout';
}

/** `logging.stream`, or by default stdout unless the events are there already. */
export function logStreamOf(config: Config): LogStream {
  return config.logging.stream ?? (eventsOnStdout(config) ? 'stderr' : 'stdout');
}
