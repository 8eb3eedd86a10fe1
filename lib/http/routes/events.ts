import type { IncomingMessage, ServerResponse } from 'node:http';
import { codeOf, EventGateError } from '../../errors';
import { mayHoldHugeNumber } from '../../gate/fields';
import type { RequestInfo } from '../../gate/validate';
import { checkContentType, parseEvents, readBody } from '../body';
import type { AppContext, RequestScope } from '../context';
import { send, sendError, sendJson } from '../respond';
import { answerFor } from '../results';

/** How long a client should wait before retrying events we could not take. */
const RETRY_AFTER_SECONDS = '5';

function isHasty(query: URLSearchParams): boolean {
  const v = query.get('hasty');
  return v === 'true' || v === '1';
}

/** POST /v1/events */
export async function postEvents(app: AppContext, req: IncomingMessage, res: ServerResponse, scope: RequestScope): Promise<void> {
  let events: unknown[];
  let text: string;
  try {
    checkContentType(req);
    ({ events, text } = parseEvents(await readBody(req, app.limits)));
  } catch (err) {
    return refuseBody(app, res, scope, err);
  }
  await answerEvents(app, res, scope, events, mayHoldHugeNumber(text), isHasty(scope.query), { headers: req.headers, query: scope.query });
}

/** Validates, produces and answers: shared by POST /v1/events and GET /v1/_test/events. */
export async function answerEvents(
  app: AppContext,
  res: ServerResponse,
  scope: RequestScope,
  events: unknown[],
  checkNumbers: boolean,
  hasty: boolean,
  request: RequestInfo,
): Promise<void> {
  const ctx = { requestId: scope.id };
  if (hasty) {
    send(res, 202, `${events.length} events hastily received.`, scope.headers);
    app.gate.track(produceHastily(app, scope, events, checkNumbers, request));
    return;
  }
  const results = await app.gate.process(events, app.sinks.guaranteed, ctx, checkNumbers, request);
  const answer = answerFor(events, results);
  if (answer.status !== 201) {
    app.log.info({ request_id: scope.id, status: answer.status, reason: answer.reason }, 'events not accepted');
  }
  if (answer.retryable) scope.headers['retry-after'] = RETRY_AFTER_SECONDS;
  if (answer.body) sendJson(res, answer.status, answer.reason, scope.headers, answer.body);
  else send(res, answer.status, answer.reason, scope.headers);
}

/** The client has its 202: failures can only be logged and counted. */
async function produceHastily(app: AppContext, scope: RequestScope, events: unknown[], checkNumbers: boolean, request: RequestInfo): Promise<void> {
  try {
    const results = await app.gate.process(events, app.sinks.hasty, { requestId: scope.id }, checkNumbers, request);
    const answer = answerFor(events, results);
    if (answer.status !== 201) {
      app.metrics.increment('events.hasty_failed', results.filter((r) => r.status !== 'accepted').length);
      app.log.warn({ request_id: scope.id, status: answer.status, reason: answer.reason }, 'hasty events failed');
    }
  } catch (err) {
    app.metrics.increment('events.hasty_failed', events.length);
    app.log.error({ err, request_id: scope.id, events: events.length }, 'hasty events could not be processed');
  }
}

function refuseBody(app: AppContext, res: ServerResponse, scope: RequestScope, err: unknown): void {
  const code = codeOf(err);
  if (!(err instanceof EventGateError)) throw err;
  app.metrics.increment('requests.refused', 1, { code });
  app.log.info({ request_id: scope.id, code, msg_detail: err.message }, 'request body refused');
  if (code === 'EG_ERR_BODY_ABORTED') {
    // The client is gone; nobody reads an answer.
    res.destroy();
    return;
  }
  if (code === 'EG_ERR_BODY_TOO_LARGE' || code === 'EG_ERR_REQUEST_TIMEOUT') {
    // Part of the body is still unread: close rather than read it.
    scope.headers['connection'] = 'close';
  }
  if (code === 'EG_ERR_BODY_EMPTY') {
    // EventGate answers an empty body with the reason phrase only.
    send(res, 400, err.message, scope.headers);
    return;
  }
  sendError(res, scope.headers, code, err.message);
}
