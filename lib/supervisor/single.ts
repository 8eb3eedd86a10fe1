import type { LoadedConfig } from '../config/load';
import type { Logger } from '../log';
import type { ReloadableMetrics } from '../metrics/factory';
import { startService } from '../service';
import { debugEnabled, desiredWorkers, type RunOptions } from './options';
import { exitOnUncaught } from './fatal';
import { rereadConfig } from './reread';
import { StopSignals } from './signal';
import { nameEventLoopLog } from './v8log';

/**
 * `num_workers: 0`: the service in this process, with the signal handling a
 * master would otherwise do, all of it here. SIGHUP re-reads the config and
 * swaps it in place (RunningService.reload: no request dropped); an invalid
 * file is refused and the old config stays. SIGTERM/SIGINT drain and exit 0;
 * a second signal (past shutdown_signal_merge_ms: signal.ts) or
 * shutdown_timeout_ms forces exit 1.
 */
export async function runSingleProcess(loaded: LoadedConfig, log: Logger, metrics: ReloadableMetrics, options: RunOptions): Promise<void> {
  if (debugEnabled(loaded.config, options)) {
    log.warn('debug mode sets the node flags of cluster workers; with num_workers 0, start node with them yourself (docs/profiling.md)');
  }
  // node started by hand with --prof: the same plain name for the event loop's log as a worker's (v8log.ts).
  const v8log = nameEventLoopLog();
  if (v8log.path !== undefined) log.info({ v8_log: v8log.path }, 'V8 log of the event loop');
  // A reload swaps in the new config once its producers are connected (or ready_timeout_ms passed).
  // The signal handlers go in before the service listens: a SIGHUP the moment it says so would
  // otherwise hit node's default action and end the process. Until then they wait for the start.
  const starting = startService(loaded, { log, metrics, workers: 0, readyTimeoutMs: loaded.config.ready_timeout_ms, listenBeforeReady: true });
  let current = loaded;
  let stopping = false;
  let started = false;
  exitOnUncaught(log, 'single', () => (stopping ? 'stopping' : started ? 'serving' : 'starting'));
  let reloading: Promise<void> = Promise.resolve();

  const reload = async (): Promise<void> => {
    const next = await rereadConfig(current, log, metrics);
    if (!next || stopping) return;
    if (desiredWorkers(next.config, options) !== 0) log.warn('num_workers above 0 takes a restart; staying one process');
    try {
      await (await starting).reload(next);
    } catch (err) {
      log.error({ err }, 'SIGHUP: the new config could not be applied; still running on the old one');
      return;
    }
    current = next;
    log.info({ path: next.path, log_level: next.config.logging.level }, 'config reloaded');
    log.level(next.config.logging.level);
    await metrics.reconfigure(next.config.metrics);
  };

  const signals = new StopSignals(log);
  const stop = (signal: NodeJS.Signals) => {
    if (signals.take(signal, current.config.shutdown_signal_merge_ms) === 'merged') return;
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timeoutMs = current.config.shutdown_timeout_ms;
    setTimeout(() => {
      log.error({ timeout_ms: timeoutMs }, 'shutdown timed out: exiting now');
      process.exit(1);
    }, timeoutMs).unref();
    // A reload under way finishes first: it owns the app it is swapping in.
    starting
      .then((service) => {
        service.drainConnections();
        return reloading.then(() => service.close());
      })
      .then(() => metrics.close())
      .then(
        () => {
          log.info({ clean: true }, 'stopped');
          // stdout is synchronous for files and pipes on Linux: the lines above are out.
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };

  process.on('SIGHUP', () => {
    if (stopping) return;
    log.info('SIGHUP: reloading the config');
    reloading = reloading.then(reload).catch((err: unknown) => log.error({ err }, 'SIGHUP: reload failed'));
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await starting;
  started = true;
}
