import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** What a connection reports: each complete response, and each socket failure. */
export interface ConnectionEvents {
  response(status: number, latencyUs: number, raw: Buffer): void;
  error(err: Error): void;
  /** Whether a new socket may stay on the worker that sent its first answer; false: reconnect. */
  place?(servedBy: string): boolean;
  /** A placed socket closed. */
  unplace?(servedBy: string): void;
}

/** The x-served-by of a response head, if any. */
function servedByOf(buf: Buffer, headEnd: number): string | undefined {
  const head = buf.toString('latin1', 0, headEnd).toLowerCase();
  const at = head.indexOf('\r\nx-served-by:');
  if (at === -1) return undefined;
  const eol = head.indexOf('\r\n', at + 2);
  return head.slice(at + 15, eol === -1 ? undefined : eol).trim();
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

interface Framing {
  status: number;
  /** Bytes of the whole response once known (head + body), or -1 while chunked and unfinished. */
  length: number;
  close: boolean;
}

/** Where a chunked body ends (index after the last CRLF), or -1 if not all there yet. Trailers are not supported. */
function chunkedEnd(buf: Buffer, from: number): number {
  let at = from;
  for (;;) {
    const eol = buf.indexOf(CRLF, at);
    if (eol === -1) return -1;
    const size = parseInt(buf.toString('latin1', at, eol), 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size');
    at = eol + 2 + size + 2;
    if (at > buf.length) return -1;
    if (size === 0) return at;
  }
}

/** Reads the status line and the headers that frame the body. */
function frame(buf: Buffer, headEnd: number): Framing {
  const head = buf.toString('latin1', 0, headEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  const close = head.includes('\r\nconnection: close');
  if (head.includes('\r\ntransfer-encoding: chunked')) {
    const end = chunkedEnd(buf, headEnd + 4);
    return { status, length: end, close };
  }
  const cl = head.indexOf('\r\ncontent-length:');
  let bodyLength = 0;
  if (cl !== -1) {
    const eol = head.indexOf('\r\n', cl + 2);
    bodyLength = parseInt(head.slice(cl + 17, eol === -1 ? undefined : eol), 10);
  }
  return { status, length: headEnd + 4 + bodyLength, close };
}

/**
 * One keep-alive HTTP/1.1 connection on a raw socket, one request in flight
 * at a time: it writes a pre-serialized request, frames the answer by its
 * headers (content-length or chunked), reports it and writes the next. Far
 * cheaper per request than node:http's client, so that the generator process
 * is not the bottleneck it would otherwise be against a one-core server.
 */
export class Connection {
  private socket: Socket | undefined;
  private pending: Buffer | undefined;
  private sentAt = 0;
  private next: number;
  private stopped = false;
  private busy = false;
  /** The worker this socket stays on, once placed. */
  private placedOn: string | undefined;
  private placed = false;

  constructor(
    private readonly port: number,
    private readonly host: string,
    private readonly requests: readonly Buffer[],
    first: number,
    private readonly on: ConnectionEvents,
  ) {
    this.next = first % requests.length;
  }

  start(): void {
    if (this.stopped) return;
    const socket = connect(this.port, this.host);
    this.socket = socket;
    this.pending = undefined;
    this.placed = this.on.place === undefined;
    this.placedOn = undefined;
    socket.setNoDelay(true);
    socket.on('connect', () => this.send());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A failed request counts once: by its socket error, or else by the close.
    socket.on('error', (err) => {
      if (!this.stopped) this.on.error(err);
      this.busy = false;
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.placedOn !== undefined) this.on.unplace?.(this.placedOn);
      this.placedOn = undefined;
      if (this.busy && !this.stopped) this.on.error(new Error('connection closed by the server'));
      this.busy = false;
      // Reconnect, a little later so that a dead server does not spin us.
      if (!this.stopped) setTimeout(() => this.start(), 10);
    });
  }

  stop(): void {
    this.stopped = true;
    this.socket?.destroy();
  }

  private send(): void {
    if (this.stopped || !this.socket) return;
    const req = this.requests[this.next];
    this.next = (this.next + 1) % this.requests.length;
    this.busy = true;
    this.sentAt = performance.now();
    this.socket.write(req);
  }

  private onData(chunk: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const headEnd = buf.indexOf(HEAD_END);
    if (headEnd === -1) {
      this.pending = buf;
      return;
    }
    let f: Framing;
    try {
      f = frame(buf, headEnd);
    } catch (err) {
      this.on.error(err as Error);
      this.socket?.destroy();
      return;
    }
    if (f.length === -1 || buf.length < f.length) {
      this.pending = buf;
      return;
    }
    this.pending = undefined;
    this.busy = false;
    this.on.response(f.status, (performance.now() - this.sentAt) * 1000, buf);
    let stay = !f.close;
    if (!this.placed) {
      this.placed = true;
      const who = servedByOf(buf, headEnd);
      if (who !== undefined) {
        if (this.on.place?.(who)) this.placedOn = who;
        else stay = false;
      }
    }
    if (stay) this.send();
    else this.socket?.destroy();
  }
}
