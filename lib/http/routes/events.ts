import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Answer } from '../../answer/answer';
import { POOL_CODES, type PoolRequest } from '../../batch/pool';
import { codeOf, EventGateError, messageOf, statusOf } from '../../errors';
import type { RequestInfo } from '../../gate/validate';
import { prepareBody, prepareEvents, type PreparedBatch } from '../../pipeline/prepare';
import type { Admission, ProduceContext } from '../../sink/sink';
import { checkContentType, declaredLength, readBody, refusedUnread } from '../body';
import type { AppContext, RequestScope } from '../context';
import type { Ticket } from '../admission';
import { failRequest } from '../fail';
import { countsOf } from '../access';
import { send, sendError, sendJson } from '../respond';
import type { LogEvent } from '../../log-events';

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
 * event by event, never 202 (PreparedBatch.holdsNonEvent).
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

/**
 * The one path of a body: prepared by one of two executors (a pool thread
 * for a large body, else inline), then produced and answered the same way.
 */
function answerBody(app: AppContext, req: IncomingMessage, res: ServerResponse, scope: RequestScope, body: Buffer | EventGateError): Promise<void> | void {
  if (body instanceof EventGateError) return refuseBody(app, res, scope, body);
  const request: PoolRequest = { headers: req.headers, query: scope.query };
  let prepared: PreparedBatch | Promise<PreparedBatch>;
  try {
    prepared = prepareOn(app, body, request);
  } catch (err) {
    return refusePrepare(app, res, scope, err);
  }
  if (!(prepared instanceof Promise)) return answerPrepared(app, res, scope, prepared, isHasty(scope.query));
  return prepared.then(
    (p) => answerPrepared(app, res, scope, p, isHasty(scope.query)),
    (err: unknown) => refusePrepare(app, res, scope, err),
  );
}

/** Runs the prepare step on its executor: synchronous inline when every schema is cached (the hot path). */
function prepareOn(app: AppContext, body: Buffer, request: PoolRequest): PreparedBatch | Promise<PreparedBatch> {
  if (app.pool?.wants(body)) {
    app.metrics.increment('batch.path', 1, THREAD_PATH);
    return app.pool.prepare(body, request);
  }
  app.metrics.increment('batch.path', 1, INLINE_PATH);
  return prepareBody(body, request, app.inline);
}

/**
 * A body the prepare step did not prepare: the pool's own faults as such;
 * the body's refusals (empty, malformed) by refuseBody; a validation fault
 * is thrown on, to be answered as any internal error (failRequest).
 */
function refusePrepare(app: AppContext, res: ServerResponse, scope: RequestScope, err: unknown): void {
  const code = codeOf(err);
  if (!(err instanceof EventGateError) || !POOL_CODES.has(code)) return refuseBody(app, res, scope, err);
  app.log.warn({ request_id: scope.id, code, msg_detail: messageOf(err), event: 'pool.batch_refused' satisfies LogEvent }, 'thread pool could not take the batch');
  if (statusOf(code) === 503) scope.headers['retry-after'] = RETRY_AFTER_SECONDS;
  sendError(res, scope, code, messageOf(err));
}

/**
 * A prepared batch: produced and answered, or, hasty and holding only
 * events, answered 202 once validated and produced after the answer.
 */
function answerPrepared(app: AppContext, res: ServerResponse, scope: RequestScope, prepared: PreparedBatch, hasty: boolean): Promise<void> | void {
  if (hasty && !prepared.holdsNonEvent) return answerHastily(app, res, scope, prepared);
  return app.gate.produce(prepared, app.sinks.guaranteed, { requestId: scope.id }).then((a) => sendAnswer(app, res, scope, a, prepared.count));
}

/**
 * A hasty request: 202, then its events are produced in the background,
 * once the hasty sink has room for them (at once, unless it holds its most
 * events awaiting Kafka: then the request waits for room in turn, up to
 * kafka.produce_timeout_ms, so that hasty clients are held to the pace
 * Kafka's reports come back). Without room in time the request is answered
 * as without hasty by the hasty sink (503 for each valid event, spooled),
 * never told 202 for events the sink would refuse.
 */
function answerHastily(app: AppContext, res: ServerResponse, scope: RequestScope, prepared: PreparedBatch): Promise<void> | void {
  const sink = app.sinks.hasty;
  const count = prepared.count;
  const room = sink.admit?.(count, app.conf.kafka?.produce_timeout_ms ?? 0);
  if (!(room instanceof Promise)) return acceptHastily(app, res, scope, prepared, room);
  const from = Date.now();
  return room.then((admission) => {
    app.metrics.timing('events.hasty_wait', Date.now() - from);
    if (admission) return acceptHastily(app, res, scope, prepared, admission);
    app.metrics.increment('events.hasty_refused', 1);
    app.log.info({ request_id: scope.id, events: count, event: 'hasty.no_room' satisfies LogEvent }, 'hasty producer had no room in time: answering as without hasty');
    return app.gate.produce(prepared, sink, { requestId: scope.id }).then((a) => sendAnswer(app, res, scope, a, count));
  });
}

function acceptHastily(app: AppContext, res: ServerResponse, scope: RequestScope, prepared: PreparedBatch, admission: Admission | undefined): void {
  if (res.destroyed || res.socket?.destroyed === true) {
    // The client left while it waited for room: nobody is told these events were received.
    admission?.release();
    return;
  }
  const count = prepared.count;
  scope.events = { received: count, hasty: true };
  send(res, 202, `${count} events hastily received.`, scope);
  const ctx: ProduceContext = { requestId: scope.id, admission };
  const work = produceHastily(app, scope, count, () => app.gate.produce(prepared, app.sinks.hasty, ctx));
  // The room goes back when its call is done, or when no call came (no valid event).
  app.gate.track(admission ? work.finally(() => admission.release()) : work);
}

/** GET /v1/_test/events: the configured test events, prepared inline, produced and answered as if POSTed. */
export function answerEvents(app: AppContext, res: ServerResponse, scope: RequestScope, events: unknown[], request: RequestInfo): Promise<void> | void {
  const prepared = prepareEvents(events, request, app.inline);
  if (!(prepared instanceof Promise)) return answerPrepared(app, res, scope, prepared, false);
  return prepared.then((p) => answerPrepared(app, res, scope, p, false));
}

function sendAnswer(app: AppContext, res: ServerResponse, scope: RequestScope, answer: Answer, received: number): void {
  if (app.accessLog) scope.events = countsOf(answer, received);
  if (answer.status !== 201) {
    app.log.info({ request_id: scope.id, status: answer.status, reason: answer.reason, event: 'events.not_accepted' satisfies LogEvent }, 'events not accepted');
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
      app.log.warn({ request_id: scope.id, status: answer.status, reason: answer.reason, event: 'hasty.failed' satisfies LogEvent }, 'hasty events failed');
    }
  } catch (err) {
    app.metrics.increment('events.hasty_failed', count);
    app.log.error({ err, request_id: scope.id, events: count, event: 'hasty.produce_failed' satisfies LogEvent }, 'hasty events could not be processed');
  }
}

function refuseBody(app: AppContext, res: ServerResponse, scope: RequestScope, err: unknown): void {
  const code = codeOf(err);
  if (!(err instanceof EventGateError)) throw err;
  app.metrics.increment('requests.refused', 1, { code });
  app.log.info({ request_id: scope.id, code, msg_detail: err.message, event: 'request.refused' satisfies LogEvent }, 'request body refused');
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
