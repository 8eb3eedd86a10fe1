import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface Reply {
  readonly status: number;
  readonly reason: string;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  readonly json: unknown;
}

export interface Call {
  method?: string;
  path: string;
  headers?: Record<string, string | number>;
  /** A string or Buffer is sent as is; anything else as JSON. */
  body?: unknown;
  /** A fresh connection, closed after the answer (no keep-alive agent). */
  fresh?: boolean;
  /** A request unanswered this long fails (code TEST_TIMEOUT) instead of hanging the test. */
  timeoutMs?: number;
}

/** One HTTP request to a local server; resolves with the whole answer. */
export function call(port: number, c: Call): Promise<Reply> {
  const body =
    c.body === undefined ? undefined : typeof c.body === 'string' || Buffer.isBuffer(c.body) ? c.body : JSON.stringify(c.body);
  const headers: Record<string, string | number> = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...c.headers };
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, method: c.method ?? (body === undefined ? 'GET' : 'POST'), path: c.path, headers, ...(c.fresh ? { agent: false } : {}) };
    const req = httpRequest(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    if (c.timeoutMs !== undefined) {
      const ms = c.timeoutMs;
      req.setTimeout(ms, () => req.destroy(Object.assign(new Error(`request unanswered after ${ms} ms`), { code: 'TEST_TIMEOUT' })));
    }
    req.on('error', reject);
    req.end(body);
  });
}

export function post(port: number, body: unknown, path = '/v1/events', headers?: Record<string, string>): Promise<Reply> {
  return call(port, { method: 'POST', path, body, headers });
}
