/**
 * Ends a server's keep-alive connections, once a drain starts, without
 * dropping a request a client has sent.
 *
 * A connection that is idle on the server's side may already carry the
 * client's next request (on the wire, or its first bytes read): closing it
 * the moment the drain starts, as `server.close()` does since Node 19 (it
 * calls `closeIdleConnections()`), resets that request. So, from the start
 * of a drain:
 *
 * - every answer says `Connection: close` (lib/http/respond.ts asks
 *   `draining` as it writes the headers), including those of requests being
 *   worked on: node closes each such connection once its answer is out, and
 *   the client reconnects (to another worker during a roll);
 * - a connection with no request is closed only once it has been idle for
 *   `graceMs` and not one byte has arrived on it since its last answer; a
 *   client sending back to back gets its next answer (with the close) well
 *   within that;
 * - it is closed with a FIN (`end()`), not a reset: a client that reads the
 *   FIN before it reuses the connection opens a new one instead, and a
 *   request that crossed the FIN is dropped unprocessed (`request()`).
 *
 * The drain is over when the server has no connection left (net.Server's
 * 'close'); the caller bounds it (shutdown_timeout_ms).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

interface Connection {
  /** Requests read on it and not yet answered (more than one only when a client pipelines). */
  active: number;
  idleSince: number;
  /** socket.bytesRead when it last went idle: more since then is a request on its way in. */
  bytesAtIdle: number;
  timer?: NodeJS.Timeout;
  /** The drain closed it (FIN sent): a request read on it after that cannot be answered. */
  ended: boolean;
}

export class ConnectionDrain {
  private started = false;
  private readonly connections = new Map<Socket, Connection>();

  constructor(private readonly graceMs: number) {}

  get draining(): boolean {
    return this.started;
  }

  /** Follows the server's connections; before it listens. */
  watch(server: Server): void {
    server.on('connection', (socket: Socket) => {
      const connection: Connection = { active: 0, idleSince: Date.now(), bytesAtIdle: 0, ended: false };
      this.connections.set(socket, connection);
      socket.once('close', () => {
        clearTimeout(connection.timer);
        this.connections.delete(socket);
      });
      // Accepted in the last moment before the listener closed: its request is on its way.
      if (this.started) this.schedule(socket, connection);
    });
  }

  /**
   * A request was read on its socket: the connection is busy until the answer
   * closes. False for a request that came on a connection the drain had
   * closed already (it crossed our FIN on the wire): no answer can reach its
   * client, so it must not be processed either; the caller drops it, and the
   * client sees its connection closed without an answer, the one case in
   * which a client may safely send a request again.
   */
  request(req: IncomingMessage, res: ServerResponse): boolean {
    const socket = req.socket;
    const connection = this.connections.get(socket);
    if (!connection) return true;
    if (connection.ended) return false;
    connection.active++;
    clearTimeout(connection.timer);
    res.once('close', () => {
      if (--connection.active > 0) return;
      // Right after the answer went out, before the client can have sent another byte.
      connection.idleSince = Date.now();
      connection.bytesAtIdle = socket.bytesRead;
      if (this.started) this.schedule(socket, connection);
    });
    return true;
  }

  /** Open connections. */
  get size(): number {
    return this.connections.size;
  }

  /**
   * Closes (FIN) the connection idle longest, other than `except`, to make
   * room for a new one; false when none is idle. Idle as the drain means it:
   * no request in it, not a byte of one since its last answer.
   */
  closeIdlest(except: Socket): boolean {
    let idlest: [Socket, Connection] | undefined;
    for (const entry of this.connections) {
      const [socket, c] = entry;
      if (socket === except || c.ended || c.active > 0 || socket.bytesRead !== c.bytesAtIdle) continue;
      if (!idlest || c.idleSince < idlest[1].idleSince) idlest = entry;
    }
    if (!idlest) return false;
    this.end(idlest[0], idlest[1]);
    return true;
  }

  /**
   * Refuses a new connection with `answer` (written before its request is
   * read) and closes it; a request read on it is dropped (request()).
   */
  refuse(socket: Socket, answer: string): void {
    const connection = this.connections.get(socket);
    if (connection) connection.ended = true;
    socket.end(answer);
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  /**
   * Closes the connection of an answer that left its request's body unread,
   * once the answer is out: a FIN after it, and the socket destroyed a
   * second later. Destroying it at once, with the client still sending,
   * would reset the connection, and a client's TCP stack drops an answer it
   * has not read yet when the reset comes (RFC 9112 9.6, "lingering
   * close"). Meanwhile nothing more is read from it: what the client still
   * sends waits in the socket's buffers, costing no CPU here, until flow
   * control stops the client. The answer carries no Connection: close, as
   * node would then destroy the socket at once.
   */
  closeAfter(res: ServerResponse): void {
    const socket = res.socket;
    if (!socket) return;
    res.once('finish', () => {
      const connection = this.connections.get(socket);
      if (!connection || connection.ended) return;
      socket.pause();
      this.end(socket, connection);
    });
  }

  /** From now on every answer closes its connection, and idle connections close after the grace. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const [socket, connection] of this.connections) this.schedule(socket, connection);
  }

  private schedule(socket: Socket, connection: Connection): void {
    if (connection.active > 0 || socket.destroyed) return;
    clearTimeout(connection.timer);
    const wait = Math.max(0, connection.idleSince + this.graceMs - Date.now());
    connection.timer = setTimeout(() => this.closeIfIdle(socket, connection), wait);
  }

  private closeIfIdle(socket: Socket, connection: Connection): void {
    if (connection.active > 0 || socket.destroyed) return;
    if (socket.bytesRead !== connection.bytesAtIdle) {
      // A request's first bytes came, not yet its headers: once they do, its answer closes the
      // connection. A client that stops halfway is idle again from now (headersTimeout bounds it).
      connection.idleSince = Date.now();
      connection.bytesAtIdle = socket.bytesRead;
      return this.schedule(socket, connection);
    }
    this.end(socket, connection);
  }

  private end(socket: Socket, connection: Connection): void {
    connection.ended = true;
    clearTimeout(connection.timer);
    socket.end();
    // A client that never closes its side would hold the drain open until its deadline.
    connection.timer = setTimeout(() => socket.destroy(), Math.max(this.graceMs, 1000));
  }
}
