/**
 * The clients of the overload scenarios: batch senders on raw sockets (a
 * body trickled over a time, or as fast as loopback takes it; plain, or
 * gzip and chunked), and a client of single events on one keep-alive
 * connection. Every event carries an id that says who sent it, so that the
 * sink can be checked against the answers (ledger).
 */
import { request, Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createGzip } from 'node:zlib';

/** Pads each event to about 1 KB, so that a 9.5 MB batch holds ~9,500 events (under max_events_per_request). */
const PAD = 'x'.repeat(900);

/** One event of the test schema; every event of a batch is the same length, so a body's length is known before it is made. */
export function eventJson(id: string): string {
  return `{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event","id":"${id}","domain":"example.org"},"test":"${PAD}"}`;
}

/** Ids of batch `b`: fixed width, so that every batch is the same length. */
export function batchIds(b: number, count: number): string[] {
  const tag = `b${String(b).padStart(4, '0')}`;
  return Array.from({ length: count }, (_, i) => `${tag}-${String(i).padStart(6, '0')}`);
}

/** How many events make a batch of about `bytes`. */
export function eventsFor(bytes: number): number {
  return Math.floor((bytes - 2) / (eventJson(batchIds(0, 1)[0]).length + 1));
}

export interface BatchAnswer {
  /** 0: no answer (the connection failed before a status line came). */
  readonly status: number;
  readonly retryAfter: boolean;
  /** The error code of a refusal's body. */
  readonly code?: string;
  /** Seconds, from a 503's Retry-After. */
  readonly retryAfterS?: number;
  /** Attempts it took (sendBatchRetrying). */
  readonly attempts?: number;
  readonly ids: readonly string[];
  readonly error?: string;
}

export interface BatchSend {
  readonly port: number;
  readonly ids: readonly string[];
  /** Spread the body's bytes over this long; 0: as fast as the socket takes them. */
  readonly trickleMs: number;
  readonly gzip: boolean;
}

const PIECE_EVENTS = 64;

/** The body in pieces of about 64 KB, made as they are sent (100 clients must not hold 100 bodies). */
function* pieces(ids: readonly string[]): Generator<Buffer> {
  const per = PIECE_EVENTS;
  for (let i = 0; i < ids.length; i += per) {
    const part = ids.slice(i, i + per).map(eventJson).join(',');
    yield Buffer.from(`${i === 0 ? '[' : ','}${part}${i + per >= ids.length ? ']' : ''}`);
  }
}

function bodyLength(ids: readonly string[]): number {
  return 2 + ids.length * eventJson(ids[0]).length + (ids.length - 1);
}

/** Sends one batch on a socket of its own and resolves with its answer; never rejects. */
export function sendBatch(opts: BatchSend): Promise<BatchAnswer> {
  const { ids } = opts;
  return new Promise((resolve) => {
    const socket: Socket = connect(opts.port, '127.0.0.1');
    let head = '';
    let done = false;
    const finish = (status: number, retryAfter: string | undefined, error?: string, code?: string) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ status, retryAfter: retryAfter !== undefined, retryAfterS: retryAfter === undefined ? undefined : Number(retryAfter), ids, error, code });
    };
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const lines = head.slice(0, end).split('\r\n');
      const header = (name: string) => lines.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
      // The whole answer: a refusal's body names its code.
      if (head.length - end - 4 < Number(header('content-length') ?? 0)) return;
      const code = /"code":"([A-Z_]+)"/.exec(head.slice(end))?.[1];
      finish(Number(lines[0].split(' ')[1]), header('retry-after'), undefined, code);
    });
    // A refused body's connection is closed while we still send: the answer came first, or none did.
    socket.on('error', (err) => finish(0, undefined, err.message));
    socket.on('close', () => finish(0, undefined, 'closed without an answer'));
    const headers = opts.gzip
      ? 'content-encoding: gzip\r\ntransfer-encoding: chunked\r\n'
      : `content-length: ${bodyLength(ids)}\r\n`;
    socket.write(`POST /v1/events HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n${headers}\r\n`);
    void pump(socket, opts, () => done);
  });
}

/**
 * Sends a batch again after each 503, as its Retry-After says, while the
 * next attempt would start before `deadline` (performance.now() time); the
 * last answer is the batch's. A batch answered 503 was not written, so the
 * same events go again.
 */
export async function sendBatchRetrying(opts: BatchSend, deadline: number): Promise<BatchAnswer> {
  for (let attempts = 1; ; attempts++) {
    const answer = await sendBatch(opts);
    const wait = (answer.retryAfterS ?? 0) * 1000;
    if (answer.status !== 503 || !answer.retryAfter || performance.now() + wait >= deadline) return { ...answer, attempts };
    await new Promise((r) => setTimeout(r, wait));
  }
}

async function pump(socket: Socket, opts: BatchSend, answered: () => boolean): Promise<void> {
  const all = Math.ceil(opts.ids.length / PIECE_EVENTS);
  const gap = opts.trickleMs / all;
  const started = performance.now();
  const write = (b: Buffer) => (socket.destroyed ? true : socket.write(b));
  const drained = () => new Promise<void>((r) => (socket.destroyed ? r() : socket.once('drain', () => r())));
  const gzip = opts.gzip ? createGzip() : undefined;
  if (gzip) {
    // Chunked framing of the compressed stream.
    gzip.on('data', (c: Buffer) => write(Buffer.concat([Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n')])));
    gzip.on('end', () => write(Buffer.from('0\r\n\r\n')));
  }
  let n = 0;
  for (const piece of pieces(opts.ids)) {
    // Reads first (setImmediate runs after the poll phase): an answer that came while we waited
    // stops the upload, rather than a write into the closed connection failing (EPIPE) first.
    await new Promise((r) => setImmediate(r));
    if (answered() || socket.destroyed) return;
    if (gzip) {
      if (!gzip.write(piece)) await new Promise<void>((r) => gzip.once('drain', () => r()));
      // Flush each piece, so that a trickled gzip body arrives as it is written.
      if (gap > 0) await new Promise<void>((r) => gzip.flush(() => r()));
    } else if (!write(piece)) await drained();
    n++;
    const due = started + n * gap - performance.now();
    if (due > 0) await new Promise((r) => setTimeout(r, due));
  }
  gzip?.end();
}

export interface SingleStats {
  sent: number;
  /** Status -> count. */
  readonly statuses: Map<number, number>;
  readonly latenciesMs: number[];
  /** Ids answered 201. */
  readonly accepted: string[];
}

/**
 * One client sending single events on one keep-alive connection for `ms`:
 * one every `everyMs` (or right after the previous answer, if that came
 * later), as a busy page's beacons would; back to back it would take a core
 * of its own, which is not what it is here to measure.
 */
export async function sendSingles(port: number, ms: number, everyMs = 2): Promise<SingleStats> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const stats: SingleStats = { sent: 0, statuses: new Map(), latenciesMs: [], accepted: [] };
  const until = performance.now() + ms;
  try {
    const start = performance.now();
    while (performance.now() < until) {
      const due = start + stats.sent * everyMs - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
      const id = `s-${stats.sent}`;
      stats.sent++;
      const started = performance.now();
      const status = await new Promise<number>((resolve) => {
        const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/events', agent, headers: { 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', () => resolve(0));
        req.end(eventJson(id));
      });
      stats.latenciesMs.push(performance.now() - started);
      stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
      if (status === 201) stats.accepted.push(id);
    }
  } finally {
    agent.destroy();
  }
  return stats;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
