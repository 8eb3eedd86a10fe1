import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { ERRORS, statusOf, type ErrorCode } from '../errors';

/** Headers every answer carries, computed once per server from `cors` and `csp`. */
export interface HeaderPolicy {
  readonly common: OutgoingHttpHeaders;
  readonly preflight: OutgoingHttpHeaders;
}

const ALLOWED_HEADERS =
  'accept, accept-encoding, accept-language, cache-control, content-encoding, content-length, content-type, dnt, x-request-id, api-user-agent';

export function headerPolicy(cors: string | boolean, csp: string): HeaderPolicy {
  const common: OutgoingHttpHeaders = {
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
  const origin = cors === true ? '*' : cors === false ? undefined : cors;
  if (origin !== undefined && origin !== '') {
    common['access-control-allow-origin'] = origin;
    common['access-control-expose-headers'] = 'x-request-id';
    if (origin !== '*') common['vary'] = 'Origin';
  }
  const preflight: OutgoingHttpHeaders = { ...common };
  if (origin !== undefined && origin !== '') {
    preflight['access-control-allow-methods'] = 'GET, POST, OPTIONS';
    preflight['access-control-allow-headers'] = ALLOWED_HEADERS;
    preflight['access-control-max-age'] = '86400';
  }
  return { common, preflight };
}

/** Writes a whole answer in one go: status, reason phrase, headers, optional body. */
export function send(
  res: ServerResponse,
  status: number,
  reason: string | undefined,
  headers: OutgoingHttpHeaders,
  body?: string | Buffer,
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
  else if (status !== 204 && status !== 304) headers['content-length'] = 0;
  if (reason !== undefined) res.writeHead(status, reason, headers);
  else res.writeHead(status, headers);
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, reason: string | undefined, headers: OutgoingHttpHeaders, value: unknown): void {
  headers['content-type'] = 'application/json; charset=utf-8';
  send(res, status, reason, headers, JSON.stringify(value));
}

/** A request-level error: its catalogue status, and `{code, message}` as the body. */
export function sendError(res: ServerResponse, headers: OutgoingHttpHeaders, code: ErrorCode, message?: string): void {
  const text = message ?? ERRORS[code].message;
  sendJson(res, statusOf(code) ?? 500, undefined, headers, { code, message: text });
}

/** Per-answer headers: the common set plus the request id, echoed or made. */
export function answerHeaders(policy: HeaderPolicy, requestId: string, preflight = false): OutgoingHttpHeaders {
  return { ...(preflight ? policy.preflight : policy.common), 'x-request-id': requestId };
}

export function requestIdOf(req: IncomingMessage, make: () => string): string {
  const given = req.headers['x-request-id'];
  // Echo only what is safe to put back in a header and in logs.
  if (typeof given === 'string' && given.length > 0 && given.length <= 200 && /^[\x21-\x7e]+$/.test(given)) return given;
  return make();
}
