/**
 * The stream config in use: loaded at startup (with retries), refreshed in
 * the background every stream_config_ttl seconds, reloaded on demand
 * (SIGHUP). Lookups are synchronous and never wait for a load: a refresh
 * swaps in a new table when it is complete, and a failed one keeps the last
 * good table.
 */
import { codeOf, EventGateError, messageOf } from '../errors';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import { StreamTable, type StreamConfigObject, type StreamSettings } from './config';
import { loadStreamConfig } from './source';
import type { LogEvent } from '../log-events';

export interface StreamRegistryOptions {
  /** stream_config_uri */
  readonly uri: string;
  /** Directory relative paths resolve against (the config file's). */
  readonly configDir: string;
  /** stream_config_uri_options */
  readonly uriOptions?: { readonly headers?: Readonly<Record<string, string>> };
  /** stream_config_object_path */
  readonly objectPath?: string;
  /** stream_config_ttl: seconds between background refreshes; 0 for none. */
  readonly ttlSeconds: number;
  /** stream_config_retries: extra attempts at startup. */
  readonly retries: number;
  /** stream_config_timeout_ms: deadline of one attempt. */
  readonly timeoutMs: number;
  /** service_name: streams whose destination_event_service differs are not served. */
  readonly serviceName: string;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** First back-off between startup attempts, doubled each time (capped at 30 s). Default 1000. */
  readonly retryDelayMs?: number;
}

const MAX_RETRY_DELAY_MS = 30_000;

export class StreamRegistry {
  private current: StreamTable;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<boolean> | undefined;
  private closed = false;
  private readonly stop = new AbortController();

  private constructor(
    private readonly opts: StreamRegistryOptions,
    table: StreamTable,
  ) {
    this.current = table;
    this.schedule();
  }

  /** Loads the config, retrying with back-off; rejects with the last attempt's EventGateError. */
  static async start(opts: StreamRegistryOptions): Promise<StreamRegistry> {
    const base = opts.retryDelayMs ?? 1000;
    for (let attempt = 0; ; attempt++) {
      try {
        return new StreamRegistry(opts, await loadTable(opts));
      } catch (err) {
        const code = codeOf(err);
        opts.metrics.increment('stream_config.load.failed', 1, { code });
        if (attempt >= opts.retries) {
          const message = `Stream config could not be loaded after ${attempt + 1} attempt(s): ${messageOf(err)}`;
          throw new EventGateError(code === 'EG_ERR_STREAM_CONFIG_INVALID' ? code : 'EG_ERR_STREAM_CONFIG_FETCH', message, { cause: err });
        }
        // Jitter: the workers of one host start together and should not hit
        // the config API in lockstep.
        const delay = Math.min(base * 2 ** attempt, MAX_RETRY_DELAY_MS) * (0.8 + Math.random() * 0.4);
        opts.log.warn({ event: 'stream_config.load_retry' satisfies LogEvent, err, uri: opts.uri, attempt: attempt + 1, retry_in_ms: Math.round(delay) }, 'stream config load failed, retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** The table in use; a new object after each refresh that changed the config. */
  get table(): StreamTable {
    return this.current;
  }

  /** Hot path: see StreamTable.get. */
  get(stream: string): StreamSettings | undefined {
    return this.current.get(stream);
  }

  /** Every config key as loaded (also those for other destination_event_services). */
  all(): StreamConfigObject {
    return this.current.source;
  }

  /** See StreamTable.select. */
  select(names: readonly string[]): Record<string, StreamSettings> {
    return this.current.select(names);
  }

  /**
   * Loads the config once, now. Resolves true when the loaded config is in
   * use, false when the load failed: then the last good config stays, and
   * the failure is logged and counted. Never rejects. Concurrent calls share
   * one load.
   */
  refresh(): Promise<boolean> {
    this.inFlight ??= this.refreshOnce().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** Stops background refreshes and aborts a load in flight. Idempotent. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stop.abort();
  }

  private async refreshOnce(): Promise<boolean> {
    const { log, metrics, uri } = this.opts;
    try {
      const table = await loadTable(this.opts, this.stop.signal);
      if (this.closed) return false;
      // An unchanged config keeps the old table, and with it the cache of
      // regex answers the hot path is using.
      if (JSON.stringify(table.source) !== JSON.stringify(this.current.source)) {
        this.current = table;
        log.info({ event: 'stream_config.changed' satisfies LogEvent, uri, streams: table.size }, 'stream config changed');
      }
      return true;
    } catch (err) {
      if (this.closed) return false;
      metrics.increment('stream_config.refresh.failed', 1, { code: codeOf(err) });
      log.error({ event: 'stream_config.refresh_failed' satisfies LogEvent, err, uri }, 'stream config refresh failed, keeping the last good config');
      return false;
    }
  }

  private schedule(): void {
    if (this.opts.ttlSeconds <= 0 || this.closed) return;
    this.timer = setTimeout(() => {
      void this.refresh().finally(() => this.schedule());
    }, this.opts.ttlSeconds * 1000);
    this.timer.unref();
  }
}

async function loadTable(opts: StreamRegistryOptions, signal?: AbortSignal): Promise<StreamTable> {
  const started = performance.now();
  const loaded = await loadStreamConfig({
    uri: opts.uri,
    configDir: opts.configDir,
    timeoutMs: opts.timeoutMs,
    headers: opts.uriOptions?.headers,
    objectPath: opts.objectPath,
    signal,
  });
  if (loaded.warnings !== undefined) opts.log.warn({ event: 'stream_config.warnings' satisfies LogEvent, uri: loaded.href, warnings: loaded.warnings }, 'stream config answer has warnings');
  const table = new StreamTable(loaded.streams, opts.serviceName, loaded.href);
  opts.metrics.timing('stream_config.load_time', performance.now() - started);
  opts.metrics.gauge('stream_config.streams', table.size);
  return table;
}
