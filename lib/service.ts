import cluster from 'node:cluster';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { BatchPool } from './batch/pool';
import { defaultThreads, workersOf } from './batch/size';
import { parseSize, type LoadedConfig } from './config/load';
import { logStreamOf } from './config/outputs';
import { eventLimitsOf } from './event/scan';
import { errorEventOptionsOf } from './gate/error-events';
import { buildValidator } from './gate/build';
import { Gate } from './pipeline/produce';
import type { AppContext, ServiceInfo } from './http/context';
import { capConnections } from './http/connections';
import { ConnectionDrain } from './http/drain';
import { accessLogOf } from './http/access';
import { BodyAdmission } from './http/admission';
import { bodyLimits } from './http/body';
import { LoopPressure } from './http/pressure';
import { budgetFields, memoryBudget, type MemoryBudget } from './memory/budget';
import type { Lender } from './memory/lender';
import { corsSettingsOf } from './http/cors';
import { listenError } from './http/listen';
import { headerPolicy } from './http/respond';
import { createHttpServer, type Serving } from './http/server';
import { EventGateError, messageOf, type ErrorCode } from './errors';
import type { Logger } from './log';
import type { Metrics } from './metrics/metrics';
import { missingSchemaBases } from './schema';
import { createSinks } from './sink/create';
import { StreamRegistry } from './stream';
import type { LogEvent } from './log-events';

// The package file sits two levels above the compiled lib/ (dist/lib/service.js).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkg = require('../../package.json') as { name: string; version: string; description: string; homepage?: string };

export const SERVICE_INFO: ServiceInfo = Object.freeze({
  name: pkg.name,
  version: pkg.version,
  description: pkg.description,
  home: pkg.homepage,
});

export interface ServiceDeps {
  readonly log: Logger;
  readonly metrics: Metrics;
  /**
   * HTTP worker processes on this machine, for the thread pool's default
   * size. Default: from the config's num_workers (a -n override is not in
   * the config: the supervisor passes it here).
   */
  readonly workers?: number;
  /**
   * How long a new app may take to become ready (schemas precached, producers
   * connected) before it gets requests: at start, before listening; on reload,
   * before the swap. Past it, it takes requests anyway and /readyz says why it
   * is not ready. The supervisor sets it so that a roll never hands traffic to
   * a worker whose Kafka producers are still connecting. Default 0: no wait.
   */
  readonly readyTimeoutMs?: number;
  /** Sent as x-served-by on every answer (the cluster worker's id). */
  readonly servedBy?: string;
  /**
   * Listen at once and wait for readiness after, not before: when no other
   * process serves the port (the one process, the first worker), refusing
   * connections while the producers connect helps no one, and a liveness
   * probe on /healthz would fail for up to readyTimeoutMs (/readyz says 503).
   */
  readonly listenBeforeReady?: boolean;
  /** A worker's way to the master's ledger of shared body memory (lib/memory/lender.ts); absent without a master. */
  readonly lender?: Lender;
}

/** A running HTTP service: one per process (or per cluster worker). */
export interface RunningService {
  readonly server: Server;
  readonly port: number;
  /**
   * Swaps in an app built from a new config (schemas, sinks, routes) without
   * dropping a request: new requests go to the new app, the old one is closed
   * once its in-flight requests are answered. The listening address stays.
   */
  reload(loaded: LoadedConfig): Promise<void>;
  /**
   * Stops accepting, answers what its connections still send (each answer
   * closing its connection), closes idle connections after
   * drain_idle_grace_ms, then closes the sinks. Idempotent.
   */
  close(): Promise<void>;
  /** From now on every answer closes its keep-alive connection (before a shutdown or a roll). */
  drainConnections(): void;
  /**
   * Resolves once the app is ready, ready_timeout_ms passed, or a close began:
   * with listenBeforeReady the service listens before it is ready.
   */
  readonly ready: Promise<void>;
}

type App = AppContext & { close(): Promise<void> };

/** Counts the requests an app is answering, so it is closed only once they are done. */
class Tracked implements Serving {
  private inflight = 0;
  private idle: (() => void) | undefined;
  constructor(readonly app: App) {}

  enter(): void {
    this.inflight++;
  }

  leave(): void {
    if (--this.inflight === 0) this.idle?.();
  }

  async drainAndClose(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((done) => (this.idle = done));
    await this.app.close();
  }
}

/**
 * Builds what a config describes (schemas, validator, sinks, routes): all that
 * a reload replaces. The HTTP server is separate so that it can outlive one.
 */
export async function buildApp(loaded: LoadedConfig, deps: ServiceDeps): Promise<App> {
  const conf = loaded.config.services[0].conf;
  const { log, metrics } = deps;
  const streams = conf.stream_config_uri
    ? await StreamRegistry.start({
        uri: conf.stream_config_uri,
        configDir: loaded.dir,
        uriOptions: conf.stream_config_uri_options,
        objectPath: conf.stream_config_object_path,
        ttlSeconds: conf.stream_config_ttl,
        retries: conf.stream_config_retries,
        timeoutMs: conf.stream_config_timeout_ms,
        serviceName: conf.service_name,
        log,
        metrics,
      })
    : undefined;
  let built: ReturnType<typeof buildValidator>;
  try {
    built = buildValidator(conf, loaded.dir, { log, metrics, streams });
  } catch (err) {
    streams?.close();
    throw err;
  }
  const { validator, schemas } = built;
  for (const { base, dir } of missingSchemaBases(conf.schema_base_uris, loaded.dir)) {
    const code: ErrorCode = 'EG_ERR_SCHEMA_BASE_MISSING';
    log.warn({ event: 'schema.base_missing' satisfies LogEvent, code, base, dir }, 'schema base folder does not exist: no schema will be found there');
  }
  const sinks = createSinks(conf, loaded.dir, deps);
  const workers = deps.workers ?? workersOf(loaded.config.num_workers);
  const budget = budgetOf(loaded, cluster.isWorker ? workers : 0);
  log.info({ ...budgetFields(budget), event: 'memory_budget' satisfies LogEvent }, 'memory budget');
  if (budget.largestBody < budget.maxBodySize) log.warn({ event: 'memory_budget.below_max_body' satisfies LogEvent, ...budgetFields(budget), max_body_size: budget.maxBodySize }, 'memory budget is below max_body_size: larger bodies get 413');
  const pool = BatchPool.create({
    conf,
    configDir: loaded.dir,
    workers,
    log,
    logStream: logStreamOf(loaded.config),
    metrics,
    streams,
    schemas,
    memory: budget,
  });
  const admission = new BodyAdmission(budget, deps.lender);
  const pressure = new LoopPressure(conf.admission.max_event_loop_delay_ms, admission, metrics);
  const errorEventOptions = errorEventOptionsOf(conf);
  const gate = new Gate({ metrics, log, errorSink: errorEventOptions ? sinks.hasty : undefined, maxAnswerBytes: conf.max_answer_bytes });

  let precached = false;
  let precacheFailure: string | undefined;
  const app = {
    conf,
    info: SERVICE_INFO,
    log,
    metrics,
    gate,
    inline: { validator, log, limits: eventLimitsOf(conf), errorEvents: errorEventOptions, maxAnswerBytes: conf.max_answer_bytes },
    sinks,
    streams,
    pool,
    limits: bodyLimits(parseSize(conf.max_body_size), conf.request_timeout_ms),
    admission,
    pressure,
    headers: headerPolicy(corsSettingsOf(conf), conf.csp, deps.servedBy),
    accessLog: accessLogOf(conf.access_log, log),
    notReadyReason(): string | undefined {
      if (!precached) return precacheFailure ?? 'schemas are being precached';
      return sinks.guaranteed.notReadyReason() ?? sinks.hasty.notReadyReason();
    },
    async close(): Promise<void> {
      // Hasty events and error events still on their way need the sinks open.
      await gate.settled();
      pressure.close();
      await pool?.close();
      streams?.close();
      await sinks.close();
    },
  };
  try {
    await schemas.precache(conf.schema_precache_uris);
    precached = true;
    sinks.start(log);
  } catch (err) {
    precacheFailure = messageOf(err);
    streams?.close();
    await app.close();
    throw err;
  }
  return app;
}

/**
 * The memory budget of a worker of this config (lib/memory/budget.ts): one
 * of `numWorkers` beside a master, or with 0 the one process.
 */
export function budgetOf(loaded: LoadedConfig, numWorkers: number): MemoryBudget {
  const conf = loaded.config.services[0].conf;
  const tp = conf.batch.thread_pool;
  return memoryBudget({
    admission: conf.admission,
    maxBodySize: parseSize(conf.max_body_size),
    threadPool: tp,
    numWorkers,
    sizeOf: (size) => (size === 0 ? 0 : parseSize(size)),
    threads: tp.max_threads > 0 ? tp.max_threads : defaultThreads(Math.max(1, numWorkers)),
  });
}

/** Resolves when the app is ready, or after `deps.readyTimeoutMs` with a warning; polls, as readiness has no event. */
async function whenReady(app: App, deps: ServiceDeps, closing: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + (deps.readyTimeoutMs ?? 0);
  for (let reason = app.notReadyReason(); reason !== undefined && !closing(); reason = app.notReadyReason()) {
    if (Date.now() >= deadline) {
      if (deps.readyTimeoutMs) deps.log.warn({ event: 'service.ready_timeout' satisfies LogEvent, reason, timeout_ms: deps.readyTimeoutMs }, 'not ready in time; taking requests anyway');
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** As service-runner's heap watch: its dashboards expect a reading a minute. */
const HEAP_INTERVAL_MS = 60000;

/**
 * Reports this process's memory (rss, V8 heap used and total) now and every
 * minute while the service runs; returns the function that stops it. The
 * timer does not keep the process alive.
 */
function reportHeap(metrics: Metrics, intervalMs = HEAP_INTERVAL_MS): () => void {
  const report = () => {
    const usage = process.memoryUsage();
    metrics.gauge('process.heap_rss_bytes', usage.rss);
    metrics.gauge('process.heap_used_bytes', usage.heapUsed);
    metrics.gauge('process.heap_total_bytes', usage.heapTotal);
  };
  report();
  const timer = setInterval(report, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Builds the app and listens on its port; resolves once it accepts connections. */
export async function startService(loaded: LoadedConfig, deps: ServiceDeps): Promise<RunningService> {
  let current = new Tracked(await buildApp(loaded, deps));
  if (!deps.listenBeforeReady) await whenReady(current.app, deps);
  const drain = new ConnectionDrain(loaded.config.drain_idle_grace_ms);
  const server = createHttpServer(() => current, drain);
  drain.watch(server);
  capConnections(server, drain, () => {
    const { app } = current;
    return { max: app.conf.admission.max_connections, retryAfterS: app.conf.admission.retry_after_s, metrics: app.metrics };
  });
  const conf = current.app.conf;
  server.listen(conf.port, conf.interface);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  } catch (err) {
    await current.app.close();
    throw listenError(err, conf.port, conf.interface);
  }
  const port = (server.address() as AddressInfo).port;
  deps.log.info({ event: 'service.listening' satisfies LogEvent, port, interface: conf.interface, sink: current.app.sinks.guaranteed.kind }, 'listening');
  const stopHeap = reportHeap(deps.metrics);
  let closing: Promise<void> | undefined;
  // A stop while the producers still connect need not wait for them.
  const ready = deps.listenBeforeReady ? whenReady(current.app, deps, () => closing !== undefined) : Promise.resolve();
  return {
    server,
    port,
    ready,
    async reload(next: LoadedConfig) {
      if (closing) throw new EventGateError('EG_ERR_SERVICE_CLOSING');
      const fresh = new Tracked(await buildApp(next, deps));
      await whenReady(fresh.app, deps);
      const old = current;
      current = fresh;
      const was = old.app.conf;
      const now = fresh.app.conf;
      if (was.port !== now.port || was.interface !== now.interface) {
        deps.log.warn({ event: 'reload.address_kept' satisfies LogEvent, port: now.port, interface: now.interface }, 'a new listening address takes a restart; keeping the old one');
      }
      await old.drainAndClose();
    },
    drainConnections() {
      drain.start();
    },
    close() {
      closing ??= (async () => {
        stopHeap();
        drain.start();
        // net.Server's close, not http.Server's: since Node 19 that one also closes every idle
        // keep-alive connection at once, resetting requests already on their way (lib/http/drain.ts).
        // This one stops accepting and calls back once the drain has closed the last connection.
        await new Promise<void>((done) => NetServer.prototype.close.call(server, () => done()));
        await current.drainAndClose();
      })();
      return closing;
    },
  };
}
