import type { LoadedConfig } from '../config/load';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import { startService } from '../service';

/**
 * `num_workers: 0`: the service in this process, with the signal handling a
 * master would otherwise do. SIGTERM/SIGINT drain and exit 0; a second signal
 * or shutdown_timeout_ms forces exit 1.
 */
export async function runSingleProcess(loaded: LoadedConfig, log: Logger, metrics: Metrics): Promise<void> {
  const service = await startService(loaded, { log, metrics });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeout_ms: loaded.config.shutdown_timeout_ms }, 'shutdown timed out: exiting now');
      process.exit(1);
    }, loaded.config.shutdown_timeout_ms);
    timer.unref();
    service
      .close()
      .then(() => metrics.close())
      .then(
        () => {
          log.info('stopped');
          // stdout is synchronous for files and pipes on Linux: the lines above are out.
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
