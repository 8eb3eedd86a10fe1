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
 * Every answer goes through lib/http/respond.ts, which asks `draining` as it
 * writes the headers: nothing is tracked per request.
 */
export class ConnectionDrain {
  private started = false;

  get draining(): boolean {
    return this.started;
  }

  /** From now on every answer closes its connection, including those of requests being worked on. */
  start(): void {
    this.started = true;
  }
}
