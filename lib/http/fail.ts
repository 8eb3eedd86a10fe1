import type { ServerResponse } from 'node:http';
import { codeOf } from '../errors';
import type { AppContext, RequestScope } from './context';
import { sendError } from './respond';
import type { LogEvent } from '../log-events';

/**
 * A request that failed on our side (a bug, a validation fault on either
 * executor): logged with its id, counted, answered 500 (or cut off if the
 * answer had begun). The answer says nothing of the error: its text is not
 * the client's.
 */
export function failRequest(app: AppContext, res: ServerResponse, scope: RequestScope, err: unknown): void {
  app.log.error({ err, request_id: scope.id, code: codeOf(err), event: 'request.failed' satisfies LogEvent }, 'request failed');
  app.metrics.increment('http.internal_error');
  if (res.headersSent) res.destroy();
  else sendError(res, scope, 'EG_ERR_INTERNAL', 'Internal error; see the service log for this request id.');
}
