import type { ServerResponse } from 'node:http';

/**
 * Ends keep-alive connections as their requests finish once a drain starts.
 *
 * `server.close()` stops accepting and closes idle connections, but a
 * keep-alive connection that is busy at that moment stays open after its
 * answer until keepAliveTimeout (65 s): the drain, and the roll or shutdown
 * behind it, would wait that long. Answering `Connection: close` to every
 * request in flight or arriving on an open connection makes each client
 * reconnect (to another worker during a roll) and lets the server close as
 * soon as the last answer is out.
 *
 * The request handler calls opened/closed; it owns the one 'close' listener
 * per response.
 */
export class ConnectionDrain {
  private readonly inflight = new Set<ServerResponse>();
  private draining = false;

  opened(res: ServerResponse): void {
    if (this.draining) res.setHeader('connection', 'close');
    else this.inflight.add(res);
  }

  closed(res: ServerResponse): void {
    this.inflight.delete(res);
  }

  /** From now on every answer closes its connection, including the ones being worked on. */
  start(): void {
    if (this.draining) return;
    this.draining = true;
    for (const res of this.inflight) {
      if (!res.headersSent) res.setHeader('connection', 'close');
    }
    this.inflight.clear();
  }
}
