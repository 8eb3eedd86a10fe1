import type { ServerResponse } from 'node:http';
import type { AppContext, RequestScope } from '../context';
import { send, sendError, sendJson } from '../respond';

const ROBOTS = 'User-agent: *\nDisallow: /\n';

/** GET /_info, /_info/name, /_info/version, /_info/home, as service-runner answers them. */
export function info(app: AppContext, res: ServerResponse, scope: RequestScope, part: string | undefined): void {
  const { name, version, description, home } = app.info;
  switch (part) {
    case undefined:
      return sendJson(res, 200, undefined, scope, { name, version, description, home });
    case 'name':
      return sendJson(res, 200, undefined, scope, { name });
    case 'version':
      return sendJson(res, 200, undefined, scope, { version });
    case 'home':
      // Without a homepage in package.json, this service's own API document is its home.
      scope.headers['location'] = home ?? '/?spec';
      return send(res, 301, undefined, scope);
    default:
      return sendError(res, scope, 'EG_ERR_NOT_FOUND', `No such route: /_info/${part}`);
  }
}

export function robots(res: ServerResponse, scope: RequestScope): void {
  scope.headers['content-type'] = 'text/plain; charset=utf-8';
  send(res, 200, undefined, scope, ROBOTS);
}

/** Liveness: answering at all shows the event loop turns. */
export function healthz(res: ServerResponse, scope: RequestScope): void {
  sendJson(res, 200, undefined, scope, { status: 'ok' });
}

/** Readiness: config, precached schemas and sinks are all ready. */
export function readyz(app: AppContext, res: ServerResponse, scope: RequestScope): void {
  const reason = app.notReadyReason();
  if (reason === undefined) return sendJson(res, 200, undefined, scope, { status: 'ready' });
  sendJson(res, 503, undefined, scope, { status: 'not ready', code: 'EG_ERR_NOT_READY', reason });
}
