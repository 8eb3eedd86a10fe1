import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { parseSize, type LoadedConfig } from './config/load';
import { Gate } from './gate/gate';
import { EventValidator } from './gate/validate';
import type { AppContext, ServiceInfo, Sinks } from './http/context';
import { headerPolicy } from './http/respond';
import { createHttpServer } from './http/server';
import type { Logger } from './log';
import type { Metrics } from './metrics/metrics';
import { SchemaRepository } from './schema';
import { FileSink } from './sink/file';

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
}

/** A running HTTP service: one per process (or per cluster worker). */
export interface RunningService {
  readonly server: Server;
  readonly port: number;
  /** Stops accepting, lets in-flight requests finish, closes sinks. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds what a config describes (schemas, validator, sinks, routes): all that
 * a reload replaces. The HTTP server is separate so that it can outlive one.
 */
export async function buildApp(loaded: LoadedConfig, deps: ServiceDeps): Promise<AppContext & { close(): Promise<void> }> {
  const conf = loaded.config.services[0].conf;
  const { log, metrics } = deps;
  const schemas = new SchemaRepository({
    baseUris: conf.schema_base_uris,
    configDir: loaded.dir,
    fileExtension: conf.schema_file_extension,
    allowAbsoluteUris: conf.allow_absolute_schema_uris,
    allowInsecure: conf.allow_insecure_schemas,
    negativeCacheTtlMs: conf.schema_negative_cache_ttl_ms,
    fetchTimeoutMs: conf.schema_fetch_timeout_ms,
    log,
    metrics,
  });
  const validator = new EventValidator({
    schemas,
    schemaUriField: conf.schema_uri_field,
    streamField: conf.stream_field,
    topicPrefix: conf.topic_prefix,
    dtField: 'meta.dt',
  });
  const sinks = createSinks(conf.output_path, loaded.dir);
  let precached = false;
  let precacheFailure: string | undefined;
  const app = {
    conf,
    info: SERVICE_INFO,
    log,
    metrics,
    gate: new Gate({ validator, metrics, log }),
    sinks,
    limits: { maxBytes: parseSize(conf.max_body_size), timeoutMs: conf.request_timeout_ms },
    headers: headerPolicy(conf.cors, conf.csp),
    notReadyReason(): string | undefined {
      if (!precached) return precacheFailure ?? 'schemas are being precached';
      return sinks.guaranteed.notReadyReason() ?? sinks.hasty.notReadyReason();
    },
    async close(): Promise<void> {
      await sinks.guaranteed.close();
      if (sinks.hasty !== sinks.guaranteed) await sinks.hasty.close();
    },
  };
  try {
    await schemas.precache(conf.schema_precache_uris);
    precached = true;
  } catch (err) {
    precacheFailure = (err as Error).message;
    await app.close();
    throw err;
  }
  return app;
}

function createSinks(outputPath: string, configDir: string): Sinks {
  const sink = new FileSink(outputPath === 'stdout' ? outputPath : resolve(configDir, outputPath));
  return { guaranteed: sink, hasty: sink };
}

/** Builds the app and listens on its port; resolves once it accepts connections. */
export async function startService(loaded: LoadedConfig, deps: ServiceDeps): Promise<RunningService> {
  const app = await buildApp(loaded, deps);
  const server = createHttpServer(() => app);
  const conf = app.conf;
  server.listen(conf.port, conf.interface);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  } catch (err) {
    await app.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  deps.log.info({ port, interface: conf.interface, sink: app.sinks.guaranteed.kind }, 'listening');
  let closing: Promise<void> | undefined;
  return {
    server,
    port,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((done) => server.close(() => done()));
        // Idle keep-alive connections would hold close() open; busy ones finish first.
        server.closeIdleConnections();
        await closed;
        await app.close();
      })();
      return closing;
    },
  };
}
