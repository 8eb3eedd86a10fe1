/**
 * The access log: one bunyan line per request (opt-in, `access_log` in the
 * service conf), a `sample_rate` share of them. What the line holds is
 * metadata only: never a body, an event or a header other than the user
 * agent, since bodies carry what clients send about their users.
 */
import type { IncomingMessage } from 'node:http';
import type { ServiceConf } from '../config/schema';
import type { Answer } from '../answer/answer';
import type { Logger } from '../log';
import type { LogEvent } from '../log-events';

/** The events of one request, as its answer counted them (a hasty request: only how many came). */
export interface EventCounts {
  readonly received: number;
  readonly accepted?: number;
  readonly invalid?: number;
  readonly error?: number;
  readonly hasty?: true;
}

/** The counts of an answer to `received` events. */
export function countsOf(answer: Answer, received: number): EventCounts {
  return { received, accepted: received - answer.failed, invalid: answer.invalid, error: answer.failed - answer.invalid };
}

/** What a request's scope carries for the access log; the events route fills it in. */
export interface AccessNotes {
  events?: EventCounts;
  /** Body bytes read off the wire (compressed, if it was); unset when the body was not read. */
  bytesIn?: number;
}

/** Called once the response closed, with the status the request metric records. */
export type AccessFinish = (status: number | 'aborted', durationMs: number) => void;

export interface AccessLog {
  /** At the request's arrival: undefined when this request is not sampled. */
  begin(req: IncomingMessage, requestId: string, route: string, notes: AccessNotes): AccessFinish | undefined;
}

/** The access log of a service conf; undefined when it is off (or samples nothing). */
export function accessLogOf(conf: ServiceConf['access_log'], log: Logger): AccessLog | undefined {
  if (!conf.enabled || conf.sample_rate <= 0) return undefined;
  const rate = conf.sample_rate;
  return {
    begin(req, requestId, route, notes) {
      if (rate < 1 && Math.random() >= rate) return undefined;
      // Out: what the connection sent for this answer (status line, headers, body). In: the
      // body as read (the connection's count cannot tell this request's headers and body apart
      // from what else arrived with them).
      const socket = req.socket;
      const outAtStart = socket.bytesWritten;
      return (status, durationMs) => {
        log.info(
          {
            event: 'http.access' satisfies LogEvent,
            request_id: requestId,
            method: req.method,
            route,
            status,
            duration_ms: Math.round(durationMs * 1000) / 1000,
            bytes_in: notes.bytesIn ?? 0,
            bytes_out: socket.bytesWritten - outAtStart,
            events: notes.events,
            user_agent: req.headers['user-agent'],
          },
          'access',
        );
      };
    },
  };
}
