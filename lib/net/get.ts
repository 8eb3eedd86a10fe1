/**
 * One bounded HTTP(S) GET, as eventgate fetches its own inputs (schemas,
 * stream config): same-origin redirects only, a byte limit on the body, and
 * the caller's abort signal as the one deadline for the whole exchange.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { EventGateError, type ErrorCode } from '../errors';

export interface GetOptions {
  readonly signal: AbortSignal;
  readonly headers?: Readonly<Record<string, string>>;
  readonly maxBytes: number;
  readonly maxRedirects: number;
  /** Statuses answered as such (with an empty body) rather than as failures, e.g. 404. */
  readonly passStatuses?: ReadonlySet<number>;
  /** The code a failure of this fetch is reported with. */
  readonly errorCode: ErrorCode;
}

export interface GetAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const EMPTY = Buffer.alloc(0);

/**
 * Resolves with a 2xx (or passed) answer; rejects with `errorCode` for any
 * other status, a redirect to another origin (configured headers and trust
 * are for the configured origin only), too many redirects or a body over
 * `maxBytes`; network errors and aborts reject as they are, for the caller
 * to word with what it knows (its timeout).
 */
export function httpGet(url: URL, opts: GetOptions, redirectsLeft = opts.maxRedirects): Promise<GetAnswer> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { signal: opts.signal, headers: opts.headers }, (res) => {
      // Also while a discarded body drains: an unheard 'error' would crash the process.
      res.on('error', reject);
      const status = res.statusCode ?? 0;
      if (opts.passStatuses?.has(status)) {
        res.resume();
        resolve({ status, headers: res.headers, body: EMPTY });
      } else if (REDIRECTS.has(status) && res.headers.location) {
        res.resume();
        resolve(follow(url, res.headers.location, opts, redirectsLeft));
      } else if (status < 200 || status >= 300) {
        res.resume();
        reject(new EventGateError(opts.errorCode, `${url.href}: HTTP ${status}`));
      } else {
        readAll(res, url, opts).then((body) => resolve({ status, headers: res.headers, body }), reject);
      }
    });
    req.on('error', reject);
    req.end();
  });
}

function follow(from: URL, location: string, opts: GetOptions, redirectsLeft: number): Promise<GetAnswer> {
  const to = new URL(location, from);
  if (to.origin !== from.origin) {
    return Promise.reject(new EventGateError(opts.errorCode, `${from.href}: redirected to another origin (${to.href})`));
  }
  if (redirectsLeft === 0) return Promise.reject(new EventGateError(opts.errorCode, `${from.href}: too many redirects`));
  return httpGet(to, opts, redirectsLeft - 1);
}

function readAll(res: IncomingMessage, url: URL, opts: GetOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > opts.maxBytes) {
        res.destroy(new EventGateError(opts.errorCode, `${url.href}: larger than ${opts.maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks, size)));
    res.on('error', reject);
  });
}
