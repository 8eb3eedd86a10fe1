import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { ERRORS, statusOf, type ErrorCode } from '../errors';
import { DEFAULT_ALLOW_HEADERS, originRule, type CorsSettings } from './cors';
import type { ConnectionDrain } from './drain';

/**
 * Headers computed once per server from `cors` and `csp`, as flat
 * [name, value, ...] lists: writeHead takes them as they are, and an answer
 * only appends its own few headers to a copy.
 * CORS goes on every answer: a browser that posted cross-origin needs it to
 * read even an empty 201. The security headers (CSP, nosniff, framing,
 * referrer) govern how a browser treats a document, so they go on answers
 * that have a body; a bodiless 201/202/204 has nothing to render, and they
 * would be a third of the bytes on the hottest answer.
 */
export interface HeaderPolicy {
  readonly bodiless: readonly string[];
  readonly withBody: readonly string[];
  readonly preflight: readonly string[];
  /** Set when the allowed origin depends on the request's Origin: reflected when this allows it. */
  readonly reflect?: (origin: string) => boolean;
  /** With `reflect`: a reflected origin also gets Access-Control-Allow-Credentials. */
  readonly credentials: boolean;
}

/** One request's answer: the headers it adds to the policy's. */
export interface AnswerScope {
  readonly policy: HeaderPolicy;
  /** Once it drains, every answer closes its connection. */
  readonly drain: ConnectionDrain;
  /** Per-answer headers (x-request-id, retry-after, allow, location, connection, content-type). */
  readonly headers: OutgoingHttpHeaders;
  /** The request's Origin header, for a policy that reflects it. */
  readonly origin?: string;
}

export function headerPolicy(cors: CorsSettings, csp: string, servedBy?: string): HeaderPolicy {
  const always: string[] = servedBy === undefined ? [] : ['x-served-by', servedBy];
  const rule = originRule(cors);
  if (rule.kind !== 'off') always.push('access-control-expose-headers', 'x-request-id');
  if (rule.kind === 'fixed') always.push('access-control-allow-origin', rule.value);
  // A cache must not give one origin's answer to another whenever the answer depends on the Origin.
  if (rule.kind === 'reflect' || (rule.kind === 'fixed' && rule.value !== '*')) always.push('vary', 'Origin');
  const security = ['content-security-policy', csp, 'x-content-type-options', 'nosniff', 'x-frame-options', 'DENY', 'referrer-policy', 'no-referrer'];
  const preflight = [...always, ...security];
  if (rule.kind !== 'off') {
    const allowHeaders = [...new Set([...DEFAULT_ALLOW_HEADERS, ...cors.allowHeaders.map((h) => h.toLowerCase())])].join(', ');
    preflight.push('access-control-allow-methods', 'GET, POST, OPTIONS', 'access-control-allow-headers', allowHeaders, 'access-control-max-age', '86400');
  }
  return {
    bodiless: always,
    withBody: [...always, ...security],
    preflight,
    reflect: rule.kind === 'reflect' ? rule.allow : undefined,
    credentials: rule.kind === 'reflect' && cors.credentials,
  };
}

/** The policy's headers, then the answer's own, then content-length (and connection: close while draining). */
function headerList(base: readonly string[], scope: AnswerScope, length: number | undefined): string[] {
  const list = base.slice();
  const { reflect } = scope.policy;
  if (reflect && scope.origin !== undefined && reflect(scope.origin)) {
    list.push('access-control-allow-origin', scope.origin);
    if (scope.policy.credentials) list.push('access-control-allow-credentials', 'true');
  }
  const own = scope.headers;
  for (const name in own) {
    const value = own[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) list.push(name, v);
    else list.push(name, String(value));
  }
  if (length !== undefined) list.push('content-length', String(length));
  if (scope.drain.draining && own.connection === undefined) list.push('connection', 'close');
  return list;
}

/** Writes a whole answer in one go: status, reason phrase, headers, optional body. */
export function send(res: ServerResponse, status: number, reason: string | undefined, scope: AnswerScope, body?: string | Buffer): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const length = body !== undefined ? Buffer.byteLength(body) : status !== 204 && status !== 304 ? 0 : undefined;
  const headers = headerList(body !== undefined ? scope.policy.withBody : scope.policy.bodiless, scope, length);
  if (reason !== undefined) res.writeHead(status, reason, headers);
  else res.writeHead(status, headers);
  res.end(body);
}

/** A CORS preflight: 204 with the allowed methods and headers. */
export function sendPreflight(res: ServerResponse, scope: AnswerScope): void {
  res.writeHead(204, headerList(scope.policy.preflight, scope, undefined));
  res.end();
}

export function sendJson(res: ServerResponse, status: number, reason: string | undefined, scope: AnswerScope, value: unknown): void {
  scope.headers['content-type'] = 'application/json; charset=utf-8';
  send(res, status, reason, scope, JSON.stringify(value));
}

/** A request-level error: its catalogue status, and `{code, message}` as the body. */
export function sendError(res: ServerResponse, scope: AnswerScope, code: ErrorCode, message?: string): void {
  const text = message ?? ERRORS[code].message;
  sendJson(res, statusOf(code) ?? 500, undefined, scope, { code, message: text });
}

export function requestIdOf(req: IncomingMessage, make: () => string): string {
  const given = req.headers['x-request-id'];
  // Echo only what is safe to put back in a header and in logs.
  if (typeof given === 'string' && given.length > 0 && given.length <= 200 && /^[\x21-\x7e]+$/.test(given)) return given;
  return make();
}
