import type { IncomingMessage, ServerResponse } from 'node:http';
import { POOL_CODES, type BatchPool, type PooledBatch, type PoolRequest } from '../../batch/pool';
import { codeOf, EventGateError, messageOf, statusOf } from '../../errors';
import { answerFor, type Answer } from '../../gate/answer';
import type { RequestInfo } from '../../gate/validate';
import type { Admission, ProduceContext, Sink } from '../../sink/sink';
import { isEvent, parseEvents, type ParsedEvents } from '../../event/parse';
import { checkContentType, declaredLength, readBody, refusedUnread } from '../body';
import type { AppContext, RequestScope } from '../context';
import type { Ticket } from '../admission';
import { failRequest } from '../fail';
import { countsOf } from '../access';
import { send, sendError, sendJson } from '../respond';

const THREAD_PATH = Object.freeze({ path: 'thread' });
const INLINE_PATH = Object.freeze({ path: 'inline' });

/** How long a client should wait before retrying events we could not take. */
const RETRY_AFTER_SECONDS = '5';

/** Refusals of the memory budget: the body is (partly) unread. */
const ADMISSION_CODES: ReadonlySet<string> = new Set(['EG_ERR_MEMORY_BUSY', 'EG_ERR_BODY_OVER_BUDGET']);

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
  // A body readBody refuses unread (over max_body_size, an unknown encoding) is refused for that, not for memory.
  const unread = refusedUnread(req, app.limits);
  let admitted: Ticket | Promise<Ticket> | undefined;
  try {
    checkContentType(req);
    if (!unread) admitted = app.admission.admit(declaredLength(req));
  } catch (err) {
    return refuseBody(app, res, scope, err);
  }
  if (!(admitted instanceof Promise)) {
    scope.ticket = admitted;
    return readAdmitted(app, req, res, scope, unread);
  }
  // A large body beside a master: read only once the master granted its memory (bounded in time: lib/supervisor/lender.ts).
  admitted.then(
    (ticket) => {
      scope.ticket = ticket;
      // The client went away meanwhile: its answer's close, which releases a ticket, has been.
      if (res.closed || res.destroyed) return ticket.release();
      readAdmitted(app, req, res, scope, unread);
    },
    (err: unknown) => {
      try {
        refuseBody(app, res, scope, err);
      } catch (e) {
        failRequest(app, res, scope, e);
      }
    },
  );
}

function readAdmitted(app: AppContext, req: IncomingMessage, res: ServerResponse, scope: RequestScope, unread: boolean): void {
  // Expect: 100-continue (lib/http/server.ts): the client uploads only once the body is admitted.
  if (req.headers.expect !== undefined && !unread) res.writeContinue();
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
  // The thread built the answer, counts and error events: what is left here is the sink's work.
  const produce: Producing = (sink, ctx) => app.gate.producePrepared(batch.prepared, sink, ctx).then((failures) => batch.answerAfter(failures));
  if (hasty && !batch.holdsNonEvent) return answerHastily(app, res, scope, batch.count, produce, produce);
  sendAnswer(app, res, scope, await produce(app.sinks.guaranteed, { requestId: scope.id }), batch.count);
}

/** Produces a request's events to `sink` and gives its answer. */
type Producing = (sink: Sink, ctx: ProduceContext) => Promise<Answer>;

/**
 * A hasty request of `count` events: 202, then `background` produces them,
 * once the hasty sink has room for them (at once, unless it holds its most
 * events awaiting Kafka: then the request waits for room in turn, up to
 * kafka.produce_timeout_ms, so that hasty clients are held to the pace
 * Kafka's reports come back). Without room in time the request is answered
 * as without hasty by the hasty sink (`answer`: 503 for each valid event,
 * spooled), never told 202 for events the sink would refuse.
 */
function answerHastily(app: AppContext, res: ServerResponse, scope: RequestScope, count: number, background: Producing, answer: Producing): Promise<void> | void {
  const sink = app.sinks.hasty;
  const room = sink.admit?.(count, app.conf.kafka?.produce_timeout_ms ?? 0);
  if (!(room instanceof Promise)) return acceptHastily(app, res, scope, count, background, room);
  const from = Date.now();
  return room.then((admission) => {
    app.metrics.timing('events.hasty_wait', Date.now() - from);
    if (admission) return acceptHastily(app, res, scope, count, background, admission);
    app.metrics.increment('events.hasty_refused', 1);
    app.log.info({ request_id: scope.id, events: count }, 'hasty producer had no room in time: answering as without hasty');
    return answer(sink, { requestId: scope.id }).then((a) => sendAnswer(app, res, scope, a, count));
  });
}

function acceptHastily(app: AppContext, res: ServerResponse, scope: RequestScope, count: number, background: Producing, admission: Admission | undefined): void {
  if (res.destroyed || res.socket?.destroyed === true) {
    // The client left while it waited for room: nobody is told these events were received.
    admission?.release();
    return;
  }
  scope.events = { received: count, hasty: true };
  send(res, 202, `${count} events hastily received.`, scope);
  const ctx: ProduceContext = { requestId: scope.id, admission };
  const work = produceHastily(app, scope, count, () => background(app.sinks.hasty, ctx));
  // The room goes back when its call is done, or when no call came (no valid event).
  app.gate.track(admission ? work.finally(() => admission.release()) : work);
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
  const answer: Producing = (sink, ctx) => app.gate.process(events, sink, ctx, request).then((results) => answerFor(events, results, app.maxAnswerBytes));
  if (hasty && events.every(isEvent)) {
    // Only the status counts after a 202: the answer was given, its events are not shown.
    const background: Producing = (sink, ctx) => app.gate.process(events, sink, ctx, request).then((results) => answerFor(new Array<unknown>(results.length), results));
    return answerHastily(app, res, scope, events.length, background, answer);
  }
  return answer(app.sinks.guaranteed, { requestId: scope.id }).then((a) => sendAnswer(app, res, scope, a, events.length));
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
async function produceHastily(app: AppContext, scope: RequestScope, count: number, produce: () => Promise<Answer>): Promise<void> {
  try {
    const answer = await produce();
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
  if (ADMISSION_CODES.has(code)) {
    app.metrics.increment('admission.refused', 1, { reason: code === 'EG_ERR_MEMORY_BUSY' ? 'memory' : 'memory_never' });
    // Its body is (partly) unread: the connection closes once the answer is out.
    scope.drain.closeAfter(res);
  } else if (code === 'EG_ERR_BODY_TOO_LARGE' || code === 'EG_ERR_REQUEST_TIMEOUT') {
    // Part of the body is still unread: close rather than read it.
    scope.headers['connection'] = 'close';
  }
  if (statusOf(code) === 503) scope.headers['retry-after'] = String(app.conf.admission.retry_after_s);
  if (code === 'EG_ERR_BODY_EMPTY') {
    // EventGate's reason phrase, and the JSON error body every other refusal has.
    sendJson(res, 400, err.message, scope, { code, message: err.message });
    return;
  }
  sendError(res, scope, code, err.message);
}
