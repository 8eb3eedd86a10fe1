import { loadConfigFile, type LoadedConfig } from '../config/load';
import { codeOf, messageOf } from '../errors';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { LogEvent } from '../log-events';

/**
 * SIGHUP's first step in both roles: read and validate the config file
 * again. An invalid file is refused with every problem on the log line and
 * `undefined` comes back: the caller keeps running on the config it has.
 */
export async function rereadConfig(current: LoadedConfig, log: Logger, metrics: Metrics): Promise<LoadedConfig | undefined> {
  if (current.path === undefined) {
    log.warn({ event: 'reload.no_file' satisfies LogEvent }, 'SIGHUP: the config was not read from a file; nothing to reload');
    return undefined;
  }
  try {
    const next = await loadConfigFile(current.path);
    metrics.increment('supervisor.config.reloads', 1, { outcome: 'accepted' });
    return next;
  } catch (err) {
    const details = (err as { details?: unknown }).details;
    const problems = Array.isArray(details) ? (details as unknown[]).map(String) : [messageOf(err)];
    metrics.increment('supervisor.config.reloads', 1, { outcome: 'refused' });
    log.error({ event: 'reload.refused' satisfies LogEvent, code: codeOf(err), path: current.path, problems }, 'SIGHUP: new config refused; still running on the old one');
    return undefined;
  }
}
