/**
 * The cap on a worker's open connections (admission.max_connections): at
 * the cap, the connection idle longest is closed to make room (a keep-alive
 * client reconnects when it next sends); with none idle, the new connection
 * is answered 503 with Retry-After before its request is read, and closed.
 * An answer rather than a bare close: a client can tell "busy, retry" from a
 * network fault.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Metrics } from '../metrics/metrics';
import type { ConnectionDrain } from './drain';

export interface ConnectionCap {
  /** 0: no cap. */
  readonly max: number;
  readonly retryAfterS: number;
  readonly metrics: Metrics;
}

/** Watches the server's connections; after drain.watch(), so that the drain knows each new one. */
export function capConnections(server: Server, drain: ConnectionDrain, cap: () => ConnectionCap): void {
  server.on('connection', (socket: Socket) => {
    const { max, retryAfterS, metrics } = cap();
    if (max === 0 || drain.size <= max) return;
    if (drain.closeIdlest(socket)) return;
    metrics.increment('admission.refused', 1, { reason: 'connections' });
    const body = '{"code":"EG_ERR_TOO_MANY_CONNECTIONS","message":"The worker has admission.max_connections connections open: retry later."}';
    drain.refuse(
      socket,
      `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json; charset=utf-8\r\nretry-after: ${retryAfterS}\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}
