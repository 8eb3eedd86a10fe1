import type { IncomingMessage, ServerResponse } from 'node:http';
import { POOL_CODES, type BatchPool, type PooledBatch, type PoolRequest } from '../../batch/pool';
import { codeOf, EventGateError, messageOf, statusOf } from '../../errors';
import { answerFor, type Answer } from '../../gate/answer';
import type { RequestInfo } from '../../gate/validate';
import type { Sink } from '../../sink/sink';
import { isEvent, parseEvents, type ParsedEvents } from '../../event/parse';
import { checkContentType, readBody } from '../body';
import type { AppContext, RequestScope } from '../context';
import { failRequest } from '../fail';
import { countsOf } from '../access';
import { send, sendError, sendJson } from '../respond';

const THREAD_PATH = Object.freeze({ path: 'thread' });
const INLINE_PATH = Object.freeze({ path: 'inline' });

/** How long a client should wait before retrying events we could not take. */
const RETRY_AFTER_SECONDS = '5';

/*
 * A body with an item that is no event (not an object, an empty one, or one
 * nested too deep to be kept: what the OpenAPI document's Event excludes) is
 * the client's fault whether hasty or not: it is answered as without hasty,
 * event by event, never 202.
 */

function isHasty(query: URLSearchParams): boolean {
  const v = query.get('hasty');
  return v === 'true' || v === '1';
}

/** POST /v1/events */
export function postEvents(app: AppContext, req: IncomingMessage, res: ServerResponse, scope: RequestScope): void {
  try {
    checkContentType(req);
  } catch (err) {
    return refuseBody(app, res, scope, err);
  }
  // The body is read by callback, so its failures are caught here rather than by the request handler.
  readBody(
    req,
    app.limits,
    (body) => {
      let pending: Promise<void> | void;
      try {
        pending = answerBody(app, req, res, scope, body);
      } catch (err) {
        return failRequest(app, res, scope, err);
      }
      if (pending) pending.catch((err: unknown) => failRequest(app, res, scope, err));
    },
    scope,
  );
}

function answerBody(app: AppContext, req: IncomingMessage, res: ServerResponse, scope: RequestScope, body: Buffer | EventGateError): Promise<void> | void {
  if (body instanceof EventGateError) return refuseBody(app, res, scope, body);
  const request = { headers: req.headers, query: scope.query };
  if (app.pool?.wants(body)) {
    app.metrics.increment('batch.path', 1, THREAD_PATH);
    return answerPooled(app, app.pool, res, scope, body, isHasty(scope.query), request);
  }
  app.metrics.increment('batch.path', 1, INLINE_PATH);
  let parsed: ParsedEvents;
  try {
    parsed = parseEvents(body, app.eventLimits);
  } catch (err) {
    return refuseBody(app, res, scope, err);
  }
  return answerEvents(app, res, scope, parsed.events, isHasty(scope.query), parsed.tooDeep ? { ...request, tooDeep: parsed.tooDeep } : request);
}

/**
 * A large body: parsed, validated and serialized in a pool thread, produced
 * here. Answers as answerEvents does, event for event. A hasty request is
 * answered 202 once the thread is done (its count, and a malformed body's
 * 400, are known only then); producing still happens after the answer.
 */
async function answerPooled(
  app: AppContext,
  pool: BatchPool,
  res: ServerResponse,
  scope: RequestScope,
  body: Buffer,
  hasty: boolean,
  request: PoolRequest,
): Promise<void> {
  let batch: PooledBatch;
  try {
    batch = await pool.validate(body, request);
  } catch (err) {
    const code = codeOf(err);
    // The body's own faults (empty, malformed) are answered as in-thread parsing answers them.
    if (!POOL_CODES.has(code)) return refuseBody(app, res, scope, err);
    app.log.warn({ request_id: scope.id, code, msg_detail: messageOf(err) }, 'thread pool could not take the batch');
    if (statusOf(code) === 503) scope.headers['retry-after'] = RETRY_AFTER_SECONDS;
    return sendError(res, scope, code, messageOf(err));
  }
  const ctx = { requestId: scope.id };
  // The thread built the answer, counts and error events: what is left here is the sink's work.
  const produce = (sink: Sink) => app.gate.producePrepared(batch.prepared, sink, ctx).then((failures) => batch.answerAfter(failures));
  const allEvents = hasty && !batch.holdsNonEvent;
  if (allEvents && !hastyFull(app, scope, batch.count)) {
    scope.events = { received: batch.count, hasty: true };
    send(res, 202, `${batch.count} events hastily received.`, scope);
    app.gate.track(produceHastily(app, scope, batch.count, produce));
    return;
  }
  sendAnswer(app, res, scope, await produce(allEvents ? app.sinks.hasty : app.sinks.guaranteed), batch.count);
}

/**
 * Whether the hasty sink holds its most events awaiting Kafka: its client is
 * then not told 202 for events the sink would refuse, but answered as
 * without hasty, by the hasty sink (503 for each valid event, spooled).
 */
function hastyFull(app: AppContext, scope: RequestScope, events: number): boolean {
  const full = app.sinks.hasty.full?.(events);
  if (full === undefined) return false;
  app.metrics.increment('events.hasty_refused', 1);
  app.log.debug({ request_id: scope.id, msg_detail: full }, 'hasty sink full: answering as without hasty');
  return true;
}

/** Validates, produces and answers: shared by POST /v1/events and GET /v1/_test/events. */
export function answerEvents(
  app: AppContext,
  res: ServerResponse,
  scope: RequestScope,
  events: unknown[],
  hasty: boolean,
  request: RequestInfo,
): Promise<void> | void {
  const ctx = { requestId: scope.id };
  const allEvents = hasty && events.every(isEvent);
  if (allEvents && !hastyFull(app, scope, events.length)) {
    scope.events = { received: events.length, hasty: true };
    send(res, 202, `${events.length} events hastily received.`, scope);
    // Only the status counts here: the answer was given, its events are not shown.
    const produce = (sink: Sink) => app.gate.process(events, sink, ctx, request).then((results) => answerFor(new Array<unknown>(results.length), results));
    app.gate.track(produceHastily(app, scope, events.length, produce));
    return;
  }
  const sink = allEvents ? app.sinks.hasty : app.sinks.guaranteed;
  return app.gate.process(events, sink, ctx, request).then((results) => sendAnswer(app, res, scope, answerFor(events, results, app.maxAnswerBytes), events.length));
}

function sendAnswer(app: AppContext, res: ServerResponse, scope: RequestScope, answer: Answer, received: number): void {
  if (app.accessLog) scope.events = countsOf(answer, received);
  if (answer.status !== 201) {
    app.log.info({ request_id: scope.id, status: answer.status, reason: answer.reason }, 'events not accepted');
  }
  if (answer.retryable) scope.headers['retry-after'] = RETRY_AFTER_SECONDS;
  if (answer.body !== undefined) scope.headers['content-type'] = 'application/json; charset=utf-8';
  send(res, answer.status, answer.reason, scope, answer.body);
}

/** The client has its 202: failures can only be logged and counted. */
async function produceHastily(app: AppContext, scope: RequestScope, count: number, produce: (sink: Sink) => Promise<Answer>): Promise<void> {
  try {
    const answer = await produce(app.sinks.hasty);
    if (answer.status !== 201) {
      app.metrics.increment('events.hasty_failed', answer.failed);
      app.log.warn({ request_id: scope.id, status: answer.status, reason: answer.reason }, 'hasty events failed');
    }
  } catch (err) {
    app.metrics.increment('events.hasty_failed', count);
    app.log.error({ err, request_id: scope.id, events: count }, 'hasty events could not be processed');
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
    // EventGate's reason phrase, and the JSON error body every other refusal has.
    sendJson(res, 400, err.message, scope, { code, message: err.message });
    return;
  }
  sendError(res, scope, code, err.message);
}
