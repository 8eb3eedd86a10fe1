/**
 * Entry of a cluster worker (the master forks this file, not the CLI). It
 * says `ready`, gets the master's validated config, runs the HTTP service on
 * it, beats every heartbeatIntervalMs and drains on `drain`. Its signals are
 * handled here and nowhere else in the worker.
 *
 * No orphans: when the master dies the IPC channel closes and node:cluster
 * exits the worker at once (its own 'disconnect' handler in the child); a
 * worker without a master has no one to hand it connections anyway.
 */
import cluster from 'node:cluster';
import { validateConfig, type LoadedConfig } from '../config/load';
import { codeOf, EventGateError, messageOf } from '../errors';
import { logStreamOf } from '../config/outputs';
import { createLogger, type Logger } from '../log';
import type { LogEvent } from '../log-events';
import { createMetrics, type ProcessMetrics } from '../metrics/factory';
import type { Snapshot } from '../metrics/prometheus';
import { startService, type RunningService } from '../service';
import { GracefulExit, type ExitLines } from './exit';
import { exitOnUncaught } from './fatal';
import { isMasterMessage, type StartMessage, type WorkerMessage } from './ipc';
import { IpcLender } from './lender';
import { nameEventLoopLog } from './v8log';

type Phase = 'waiting' | 'starting' | 'listening' | 'draining';

/**
 * With a prometheus target, the worker also sends its samples unasked this
 * often: if it crashes, the master's sums lose at most this long of its counts
 * (a scrape asks anyway, and a planned exit sends them last).
 */
const METRICS_PUSH_MS = 5000;

/**
 * How long a large body waits for the master's grant of memory before it is
 * answered 503: the master answers from memory at once, so only a master too
 * busy (or gone) takes this long, and no request should hang on it.
 */
const GRANT_TIMEOUT_MS = 1000;

const WORKER_LINES: ExitLines = {
  started: 'worker draining',
  second: 'second signal: exiting now',
  timeout: 'worker drain timed out: exiting now',
  failed: 'worker drain failed',
  stopped: 'worker stopped',
};

interface Running {
  readonly log: Logger;
  readonly metrics: ProcessMetrics;
  readonly shutdownTimeoutMs: number;
  service?: RunningService;
}

function main(): void {
  const self = cluster.worker;
  if (!self) throw new EventGateError('EG_ERR_WORKER_ENTRY', 'lib/supervisor/worker is the entry of a cluster worker; run `eventgate` instead');
  const send = (msg: WorkerMessage) => {
    // A send after the master is gone fails; the process is about to exit anyway.
    if (self.isConnected()) self.send(msg);
  };
  /** The master must hear why before the exit it will see. */
  const sendAndExit = (msg: WorkerMessage, code: number): void => {
    if (!self.isConnected()) process.exit(code);
    self.send(msg, undefined, {}, () => process.exit(code));
  };
  // Before the pool starts a thread, while this isolate's log is the only one (v8log.ts).
  const v8log = nameEventLoopLog();
  let phase: Phase = 'waiting';
  let running: Running | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let metricsPush: NodeJS.Timeout | undefined;
  const lender = new IpcLender(send, GRANT_TIMEOUT_MS);

  const start = async (msg: StartMessage): Promise<void> => {
    phase = 'starting';
    // Validated again (cheap, and it freezes): after an upgrade on disk a roll
    // forks new code under an old master, and the two schemas could differ.
    let loaded: LoadedConfig;
    try {
      loaded = { config: validateConfig(msg.config), path: msg.path, dir: msg.dir };
    } catch (err) {
      // No logger without a config: the master logs the reason it gets here.
      return sendAndExit({ type: 'startup_failed', code: codeOf(err), message: messageOf(err) }, 1);
    }
    const log = createLogger(loaded.config.logging, { worker_id: msg.workerId, worker_slot: msg.slot }, logStreamOf(loaded.config));
    const metrics = createMetrics(loaded.config.metrics, log, { kind: 'worker', slot: msg.slot });
    running = { log, metrics, shutdownTimeoutMs: loaded.config.shutdown_timeout_ms };
    exitOnUncaught(log, 'worker', () => (phase === 'listening' ? 'serving' : phase === 'draining' ? 'draining' : 'starting'));
    if (v8log.path !== undefined) log.info({ event: 'v8log.named' satisfies LogEvent, v8_log: v8log.path }, 'V8 log of the event loop');
    else if (process.execArgv.includes('--prof')) log.warn({ event: 'v8log.unnamed' satisfies LogEvent, reason: v8log.reason }, 'V8 log of the event loop not named');
    heartbeat = setInterval(() => {
      const mem = process.memoryUsage();
      send({ type: 'heartbeat', heapUsedBytes: mem.heapUsed, rssBytes: mem.rss });
    }, msg.heartbeatIntervalMs);
    metricsPush = setInterval(() => {
      void metrics.snapshot().then((snapshot) => {
        if (snapshot && phase !== 'draining') send({ type: 'metrics', metrics: snapshot });
      });
    }, METRICS_PUSH_MS);
    let service: RunningService;
    try {
      // Listening only once ready: a roll waits for this worker's `listening`, and
      // no request should reach a worker whose producers are still connecting.
      // x-served-by: which worker answered, for operators reading a response and for the supervisor tests.
      service = await startService(loaded, {
        log,
        metrics,
        workers: msg.workers,
        readyTimeoutMs: loaded.config.ready_timeout_ms,
        servedBy: String(msg.workerId),
        listenBeforeReady: msg.listenBeforeReady === true,
        lender,
      });
    } catch (err) {
      const code = codeOf(err);
      log.fatal({ event: 'service.start_failed' satisfies LogEvent, err, code }, 'worker could not start');
      await metrics.close();
      return sendAndExit({ type: 'startup_failed', code, message: messageOf(err) }, 1);
    }
    running.service = service;
    // Listening already when no other worker serves (listenBeforeReady); the master hears
    // `listening` once it is ready, as a roll waits for that. A drain meanwhile ends the wait.
    await service.ready;
    if (phase !== 'starting') return;
    phase = 'listening';
    send({ type: 'listening', port: service.port });
  };

  const drain = (reason: string): void => {
    phase = 'draining';
    if (!running?.service) {
      // Not listening yet (still loading, precaching or waiting for its producers):
      // nothing is in flight and nothing was accepted, so there is nothing to drain.
      running?.log.info({ event: 'shutdown.before_listening' satisfies LogEvent, reason }, 'worker stopped before listening');
      process.exit(0);
    }
    const { log, metrics, service, shutdownTimeoutMs } = running;
    // What it counted since the master's last scrape, so that the master's sums keep it.
    let final: Snapshot | undefined;
    const exit = new GracefulExit({
      log,
      lines: WORKER_LINES,
      exit: (code) => (code === 0 && final ? sendAndExit({ type: 'metrics', metrics: final }, 0) : process.exit(code)),
    });
    // The timeout: the master kills a worker that overruns; this bounds a worker whose master is gone.
    exit.request({ timeoutMs: shutdownTimeoutMs, fields: { reason } }, async () => {
      service.drainConnections();
      await service.close();
      clearInterval(heartbeat);
      clearInterval(metricsPush);
      final = await metrics.snapshot();
      await metrics.close();
      return true;
    });
  };

  self.on('message', (msg: unknown) => {
    if (!isMasterMessage(msg)) return;
    switch (msg.type) {
      case 'start':
        if (phase === 'waiting') void start(msg);
        return;
      case 'drain':
        if (phase !== 'draining') drain('asked by the master');
        return;
      case 'memory_answer':
        return lender.receive(msg);
      case 'collect_metrics': {
        // Before `start` there is nothing counted yet: an empty answer, so the scrape need not wait.
        const id = msg.id;
        void (running?.metrics.snapshot() ?? Promise.resolve(undefined)).then((metrics) => send({ type: 'metrics', id, metrics: metrics ?? [] }));
        return;
      }
    }
  });

  // SIGTERM to a worker alone (kill PID, or systemd with KillMode=control-group):
  // drain, and tell the master this is no crash. SIGINT reaches workers only
  // as part of a terminal's process group, where the master orchestrates the
  // stop; SIGHUP is the master's to handle (its default action would kill us).
  process.on('SIGTERM', () => {
    if (phase === 'draining') return;
    send({ type: 'draining', reason: 'SIGTERM' });
    drain('SIGTERM');
  });
  process.on('SIGINT', () => running?.log.debug({ event: 'signal.ignored' satisfies LogEvent, signal: 'SIGINT' }, 'signal ignored: the master drives the stop'));
  process.on('SIGHUP', () => running?.log.debug({ event: 'signal.ignored' satisfies LogEvent, signal: 'SIGHUP' }, 'signal ignored: the master reloads'));

  send({ type: 'ready' });
}

main();
