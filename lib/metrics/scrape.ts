import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ErrorCode } from '../errors';
import type { Logger } from '../log';
import { CONTENT_TYPE } from './prometheus';
import type { LogEvent } from '../log-events';

export interface ScrapeTarget {
  readonly host: string;
  readonly port: number;
}

/** How long close() waits for a scrape in progress before it drops the connection. */
const CLOSE_TIMEOUT_MS = 2000;

/**
 * The Prometheus scrape endpoint: `GET /metrics` on its own port, answered by
 * `gather` (the master's sum over its workers, or the one process's own
 * metrics). Anything else is 404. A port it cannot listen on is logged, not
 * fatal: the service itself does not depend on being scraped.
 */
export class ScrapeServer {
  private readonly server: Server;
  /** Resolves with the port once listening, or undefined if it could not listen. */
  readonly listening: Promise<number | undefined>;
  private closing: Promise<void> | undefined;

  constructor(target: ScrapeTarget, gather: () => Promise<string>, log: Logger) {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: the metrics are at GET /metrics\n');
        return;
      }
      gather().then(
        (text) => {
          res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        (err: unknown) => {
          log.error({ event: 'metrics.scrape_failed' satisfies LogEvent, err }, 'metrics scrape failed');
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics scrape failed\n');
        },
      );
    });
    // One settlement for both outcomes: events.once('listening') would reject on
    // the same 'error' (EADDRINUSE) and, raced, end the process as an unhandled rejection.
    this.listening = new Promise((resolve) => {
      const onError = (err: Error): void => {
        this.server.off('listening', onListening);
        log.error({ event: 'metrics.listen_failed' satisfies LogEvent, err, metrics_port: target.port, metrics_host: target.host, code: 'EG_ERR_METRICS_LISTEN' satisfies ErrorCode }, 'metrics endpoint could not listen');
        resolve(undefined);
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        const port = (this.server.address() as AddressInfo).port;
        log.info({ event: 'metrics.listening' satisfies LogEvent, metrics_port: port, metrics_host: target.host }, 'metrics endpoint listening');
        resolve(port);
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
    });
    this.server.listen(target.port, target.host);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if ((await this.listening) === undefined) return;
      const closed = new Promise<void>((done) => this.server.close(() => done()));
      this.server.closeIdleConnections();
      const timer = setTimeout(() => this.server.closeAllConnections(), CLOSE_TIMEOUT_MS);
      timer.unref();
      await closed;
      clearTimeout(timer);
    })();
    return this.closing;
  }
}
