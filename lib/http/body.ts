import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { EventGateError } from '../errors';
import type { Ticket } from './admission';
import { Deadlines } from './deadlines';

export interface BodyLimits {
  /** Largest body, counted after inflating. */
  readonly maxBytes: number;
  /** The whole body must have arrived by then. */
  readonly timeoutMs: number;
  /** Where the timeouts are kept (one timer for all requests). */
  readonly deadlines: Deadlines;
}

export function bodyLimits(maxBytes: number, timeoutMs: number): BodyLimits {
  return { maxBytes, timeoutMs, deadlines: new Deadlines(timeoutMs) };
}

const JSON_TYPES = new Set(['application/json', 'text/plain', 'application/reports+json']);

/**
 * Refuses a content type we cannot read as JSON. A request with no content
 * type is read as JSON: it is what a bare client sends, and nothing else is
 * plausible on this route.
 */
export function checkContentType(req: IncomingMessage): void {
  const header = req.headers['content-type'];
  if (header === undefined || header === 'application/json') return;
  const semi = header.indexOf(';');
  const type = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  if (!JSON_TYPES.has(type)) {
    throw new EventGateError(
      'EG_ERR_CONTENT_TYPE',
      `Unsupported content type ${JSON.stringify(type)}: use application/json (or text/plain, application/reports+json).`,
    );
  }
}

/** The body's Content-Encoding; EG_ERR_CONTENT_ENCODING for one we cannot inflate. */
function encodingOf(req: IncomingMessage): 'identity' | 'gzip' | 'deflate' {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  switch (encoding) {
    case '':
    case 'identity':
      return 'identity';
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'deflate':
      return 'deflate';
    default:
      throw new EventGateError('EG_ERR_CONTENT_ENCODING', `Unsupported content encoding ${JSON.stringify(encoding)}: use gzip or deflate.`);
  }
}

function decoderFor(req: IncomingMessage): Gunzip | Inflate | undefined {
  const encoding = encodingOf(req);
  return encoding === 'gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : undefined;
}

/**
 * The body's length as it will be held, when known before reading: an
 * unencoded body's Content-Length. An encoded one inflates to a size only
 * reading tells; a chunked one has none.
 */
export function declaredLength(req: IncomingMessage): number | undefined {
  const length = req.headers['content-length'];
  if (length === undefined) return undefined;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity' && encoding !== '') return undefined;
  const n = Number(length);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** An unencoded body whose Content-Length is over the limit: refused before a byte of it is read. */
function declaredTooLarge(req: IncomingMessage, limits: BodyLimits): boolean {
  return Number(req.headers['content-length']) > limits.maxBytes;
}

/**
 * Whether readBody refuses this request's body unread (413): an unencoded
 * body declared over the limit. An encoded body's limit is on its inflated
 * size, known only while reading; an unknown encoding is refused too, but
 * with 415, which the client should hear before it uploads as well.
 */
export function refusedUnread(req: IncomingMessage, limits: BodyLimits): boolean {
  try {
    return encodingOf(req) === 'identity' && declaredTooLarge(req, limits);
  } catch {
    return true;
  }
}

/**
 * Reads the body into one buffer, never holding more than `maxBytes` of it:
 * a too-large body (declared or inflated) fails as soon as it is known, and
 * the rest is not read. `done` gets the body, or EG_ERR_BODY_TOO_LARGE,
 * _REQUEST_TIMEOUT, _BODY_ABORTED, _BODY_ENCODING, _CONTENT_ENCODING, or the
 * memory budget's refusal (`read.ticket`, for a body of unknown size); it is
 * called once. A callback, not a promise: this is on every request's path.
 * `read.bytesIn` is set to the bytes taken off the wire (before inflating).
 */
export function readBody(
  req: IncomingMessage,
  limits: BodyLimits,
  done: (body: Buffer | EventGateError) => void,
  read: { bytesIn?: number; ticket?: Ticket } = {},
): void {
  let decoder: Gunzip | Inflate | undefined;
  try {
    decoder = decoderFor(req);
  } catch (err) {
    return done(err as EventGateError);
  }
  const tooLarge = () => new EventGateError('EG_ERR_BODY_TOO_LARGE', `Request body is larger than max_body_size (${limits.maxBytes} bytes).`);
  if (!decoder && declaredTooLarge(req, limits)) return done(tooLarge());

  const source: Readable = decoder ?? req;
  // A body of unknown size is counted against the memory budget as it arrives.
  const ticket = read.ticket?.growing ? read.ticket : undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const deadline = limits.deadlines.arm(() =>
    finish(new EventGateError('EG_ERR_REQUEST_TIMEOUT', `Request body did not arrive within ${limits.timeoutMs} ms.`)),
  );

  function finish(err?: EventGateError): void {
    if (finished) return;
    finished = true;
    limits.deadlines.cancel(deadline);
    // zlib's bytesWritten: the compressed bytes it was given.
    read.bytesIn = decoder ? decoder.bytesWritten : size;
    if (!err) return done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    // Stop reading: what is not read is never buffered, and the socket is
    // closed after the answer (the caller sends Connection: close).
    source.off('data', onData);
    if (decoder) {
      req.unpipe(decoder);
      decoder.destroy();
    }
    req.pause();
    done(err);
  }

  /** A grant the master is asked for (the ticket's grow()): reading is paused until it is answered. */
  let asking: Promise<EventGateError | undefined> | undefined;

  function onData(chunk: Buffer): void {
    if (finished) return;
    size += chunk.length;
    if (size > limits.maxBytes) return finish(tooLarge());
    const refused = ticket?.grow(chunk.length);
    if (refused instanceof Promise) {
      chunks.push(chunk);
      source.pause();
      const ask = (asking = refused);
      void ask.then((err) => {
        if (asking === ask) asking = undefined;
        if (err) finish(err);
        else if (!finished) source.resume();
      });
      return;
    }
    if (refused) return finish(refused);
    chunks.push(chunk);
  }

  // `on`, not `once`: finish() runs once anyway, and a once-wrapper per listener per request adds up.
  source.on('data', onData);
  // The last chunk may be the one that asked: the body is whole only once the grant is in.
  source.on('end', () => (asking ? void asking.then((err) => finish(err)) : finish()));
  source.on('error', (err: Error) =>
    finish(
      decoder && source === decoder
        ? new EventGateError('EG_ERR_BODY_ENCODING', `Request body could not be inflated: ${err.message}`)
        : new EventGateError('EG_ERR_BODY_ABORTED', `Request body was not received completely: ${err.message}`),
    ),
  );
  req.on('aborted', () => finish(new EventGateError('EG_ERR_BODY_ABORTED')));
  if (decoder) req.pipe(decoder);
}
