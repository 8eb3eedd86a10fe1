import type { LoadedConfig } from '../config/load';
import type { Logger } from '../log';
import type { ReloadableMetrics } from '../metrics/factory';
import { startService } from '../service';
import { debugEnabled, desiredWorkers, type RunOptions } from './options';
import { GracefulExit, type ExitLines } from './exit';
import { exitOnUncaught } from './fatal';
import { rereadConfig } from './reread';
import { nameEventLoopLog } from './v8log';
import type { LogEvent } from '../log-events';

const SINGLE_LINES: ExitLines = {
  started: 'shutting down',
  second: 'second signal: exiting now',
  timeout: 'shutdown timed out: exiting now',
  failed: 'shutdown failed',
  stopped: 'stopped',
};

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
    log.warn({ event: 'debug.flags_ignored' satisfies LogEvent }, 'debug mode sets the node flags of cluster workers; with num_workers 0, start node with them yourself (docs/profiling.md)');
  }
  // node started by hand with --prof: the same plain name for the event loop's log as a worker's (v8log.ts).
  const v8log = nameEventLoopLog();
  if (v8log.path !== undefined) log.info({ event: 'v8log.named' satisfies LogEvent, v8_log: v8log.path }, 'V8 log of the event loop');
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
    if (desiredWorkers(next.config, options) !== 0) log.warn({ event: 'reload.num_workers_kept' satisfies LogEvent }, 'num_workers above 0 takes a restart; staying one process');
    try {
      await (await starting).reload(next);
    } catch (err) {
      log.error({ event: 'reload.apply_failed' satisfies LogEvent, err }, 'SIGHUP: the new config could not be applied; still running on the old one');
      return;
    }
    current = next;
    log.info({ event: 'reload.done' satisfies LogEvent, path: next.path, log_level: next.config.logging.level }, 'config reloaded');
    log.level(next.config.logging.level);
    await metrics.reconfigure(next.config.metrics);
  };

  const exit = new GracefulExit({ log, lines: SINGLE_LINES, exit: (code) => process.exit(code) });
  const stop = (signal: NodeJS.Signals) => {
    const { shutdown_timeout_ms: timeoutMs, shutdown_signal_merge_ms: mergeMs } = current.config;
    exit.request({ signal, mergeMs, timeoutMs }, async () => {
      stopping = true;
      const service = await starting;
      service.drainConnections();
      // A reload under way finishes first: it owns the app it is swapping in.
      await reloading;
      await service.close();
      await metrics.close();
      return true;
    });
  };

  process.on('SIGHUP', () => {
    if (stopping) return;
    log.info({ event: 'reload.started' satisfies LogEvent }, 'SIGHUP: reloading the config');
    reloading = reloading.then(reload).catch((err: unknown) => log.error({ event: 'reload.failed' satisfies LogEvent, err }, 'SIGHUP: reload failed'));
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await starting;
  started = true;
}
