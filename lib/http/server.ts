import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AppContext, RequestScope } from './context';
import type { ConnectionDrain } from './drain';
import { failRequest } from './fail';
import { requestIdOf, sendError, sendJson, sendPreflight } from './respond';
import { answerEvents, postEvents } from './routes/events';
import { healthz, info, readyz, robots } from './routes/info';
import { STREAM_CONFIGS_PATH, streamConfigs } from './routes/streams';
import { openApiSpec } from './spec';

type Handler = (app: AppContext, req: IncomingMessage, res: ServerResponse, scope: RequestScope) => void | Promise<void>;

interface Route {
  readonly methods: Readonly<Partial<Record<string, Handler>>>;
  /** A GET with side effects (it processes events): HEAD must not run it, so HEAD is not allowed there. */
  readonly unsafeGet?: true;
}

const EMPTY_QUERY = new URLSearchParams();

const testEvents: Handler = (app, req, res, scope) => {
  const events = app.conf.test_events;
  if (!events || events.length === 0) return sendError(res, scope, 'EG_ERR_TEST_EVENTS_DISABLED');
  // A deep copy: validation fills defaults into the events it is given.
  return answerEvents(app, res, scope, structuredClone<unknown[]>(events), { headers: req.headers });
};

export const ROUTES: Readonly<Record<string, Route>> = {
  '/v1/events': { methods: { POST: postEvents } },
  '/v1/_test/events': { methods: { GET: testEvents }, unsafeGet: true },
  [STREAM_CONFIGS_PATH]: { methods: { GET: (app, _q, res, scope) => streamConfigs(app, res, scope, undefined) } },
  [`${STREAM_CONFIGS_PATH}/:streams`]: {
    methods: { GET: (app, req, res, scope) => streamConfigs(app, res, scope, pathOf(req).slice(STREAM_CONFIGS_PATH.length + 1)) },
  },
  '/_info': { methods: { GET: (app, _q, res, scope) => info(app, res, scope, undefined) } },
  '/_info/name': { methods: { GET: (app, _q, res, scope) => info(app, res, scope, 'name') } },
  '/_info/version': { methods: { GET: (app, _q, res, scope) => info(app, res, scope, 'version') } },
  '/_info/home': { methods: { GET: (app, _q, res, scope) => info(app, res, scope, 'home') } },
  '/robots.txt': { methods: { GET: (_a, _q, res, scope) => robots(res, scope) } },
  '/healthz': { methods: { GET: (_a, _q, res, scope) => healthz(res, scope) } },
  '/readyz': { methods: { GET: (app, _q, res, scope) => readyz(app, res, scope) } },
  '/': {
    methods: {
      GET: (app, _q, res, scope) => {
        if (!scope.query.has('spec')) return sendError(res, scope, 'EG_ERR_NOT_FOUND', 'No such route: / (try /?spec).');
        return sendJson(res, 200, undefined, scope, openApiSpec(app.info));
      },
    },
  },
};

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The route of a path (also the metric tag): a fixed set, so tag values stay bounded. */
function routeOf(path: string): string {
  if (Object.prototype.hasOwnProperty.call(ROUTES, path)) return path;
  if (path.startsWith(`${STREAM_CONFIGS_PATH}/`) && path.length > STREAM_CONFIGS_PATH.length + 1) return `${STREAM_CONFIGS_PATH}/:streams`;
  return 'unknown';
}

/**
 * The app that serves a request, counted in flight from its arrival until its
 * response closes: a reload closes the old app only once its requests are done.
 */
export interface Serving {
  readonly app: AppContext;
  enter(): void;
  leave(): void;
}

/**
 * The request handler of one service instance. `current()` gives the app to
 * use, so a reload can swap it without replacing the server.
 */
export function requestHandler(current: () => Serving, drain: ConnectionDrain) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (!drain.request(req, res)) {
      req.socket.destroy();
      return;
    }
    const serving = current();
    const app = serving.app;
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const id = requestIdOf(req, randomUUID);
    // Enrichment (here or in a pool thread) reads meta.request_id from the request's headers: the
    // events carry the id the answer carries, also when we made it or refused the client's.
    if (req.headers['x-request-id'] !== id) req.headers['x-request-id'] = id;
    const scope: RequestScope = {
      id,
      query: q === -1 ? EMPTY_QUERY : new URLSearchParams(url.slice(q + 1)),
      policy: app.headers,
      drain,
      headers: { 'x-request-id': id },
      origin: req.headers.origin,
    };
    const route = routeOf(path);
    const access = app.accessLog?.begin(req, id, route, scope);
    serving.enter();
    // The one listener per response. On 'close', not 'finish': aborted requests count too. The
    // metric comes first, so a reload waiting for in-flight requests sees each one counted.
    res.on('close', () => {
      // A response that did not finish was never sent as its statusCode says: the client went away.
      const status = res.writableFinished ? res.statusCode : 'aborted';
      const ms = performance.now() - started;
      app.metrics.timing('http.request', ms, { route, method: req.method ?? 'unknown', status });
      access?.(status, ms);
      scope.ticket?.release();
      serving.leave();
    });

    const entry = route === 'unknown' ? undefined : ROUTES[route];
    const method = req.method ?? 'GET';
    if (!entry) return sendError(res, scope, 'EG_ERR_NOT_FOUND', `No such route: ${method} ${path}`);
    // CORS preflight: browsers ask before posting events cross-origin.
    if (method === 'OPTIONS') return sendPreflight(res, scope);
    // Shed new work while the event loop lags; probes are answered, so a busy pod is not killed for being busy.
    if (app.pressure.lagging && route !== '/healthz' && route !== '/readyz') return shed(app, res, scope);
    const handler = entry.methods[method] ?? (method === 'HEAD' && !entry.unsafeGet ? entry.methods.GET : undefined);
    if (!handler) {
      const allowed = Object.keys(entry.methods);
      if (entry.methods.GET && !entry.unsafeGet) allowed.push('HEAD');
      scope.headers['allow'] = [...allowed, 'OPTIONS'].join(', ');
      return sendError(res, scope, 'EG_ERR_METHOD_NOT_ALLOWED', `Method ${method} is not allowed on ${path}.`);
    }
    let pending: void | Promise<void>;
    try {
      pending = handler(app, req, res, scope);
    } catch (err) {
      return failRequest(app, res, scope, err);
    }
    if (pending) pending.catch((err: unknown) => failRequest(app, res, scope, err));
  };
}

function shed(app: AppContext, res: ServerResponse, scope: RequestScope): void {
  app.metrics.increment('admission.refused', 1, { reason: 'event_loop' });
  scope.headers['retry-after'] = String(app.conf.admission.retry_after_s);
  // Its body, if any, is not read.
  scope.drain.closeAfter(res);
  sendError(res, scope, 'EG_ERR_EVENT_LOOP_BUSY', `The event loop lags by ${Math.round(app.pressure.lagMs)} ms: retry later.`);
}

export function createHttpServer(current: () => Serving, drain: ConnectionDrain): Server {
  const handler = requestHandler(current, drain);
  const server = createServer(handler);
  // Expect: 100-continue. Node would send 100 to every such request; a body refused unread
  // (declared over max_body_size or the memory budget, an encoding it cannot inflate) gets its
  // answer without a 100, so that its client never uploads it. POST /v1/events sends the 100
  // itself, once the body is admitted.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (pathOf(req) !== '/v1/events') res.writeContinue();
    handler(req, res);
  });
  const { timeoutMs } = current().app.limits;
  // Node's own request timeout is a backstop behind ours (which answers 408 with a body).
  server.requestTimeout = timeoutMs + 5000;
  server.headersTimeout = Math.min(60000, timeoutMs + 5000);
  server.keepAliveTimeout = 65000;
  return server;
}
