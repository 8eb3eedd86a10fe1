import type { BatchPool } from '../batch/pool';
import type { ServiceConf } from '../config/schema';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { PrepareDeps } from '../pipeline/prepare';
import type { Gate } from '../pipeline/produce';
import type { Sinks } from '../sink/create';
import type { StreamRegistry } from '../stream';
import type { AccessLog, AccessNotes } from './access';
import type { BodyAdmission, Ticket } from './admission';
import type { BodyLimits } from './body';
import type { LoopPressure } from './pressure';
import type { AnswerScope, HeaderPolicy } from './respond';

export interface ServiceInfo {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly home?: string;
}

export type { Sinks } from '../sink/create';

/** What the routes need, built once per service (and again on reload). */
export interface AppContext {
  readonly conf: ServiceConf;
  readonly info: ServiceInfo;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** The produce step, and the work that outlives requests. */
  readonly gate: Gate;
  /** The inline executor of the prepare step: the worker's own validator. */
  readonly inline: PrepareDeps;
  readonly sinks: Sinks;
  /** Stream config, when `stream_config_uri` is set. */
  readonly streams?: StreamRegistry;
  /** Large batches go here; absent when batch.thread_pool.enabled is false. */
  readonly pool?: BatchPool;
  readonly limits: BodyLimits;
  /** Bodies held against the worker's memory budget. */
  readonly admission: BodyAdmission;
  /** Event-loop lag: new requests are shed while it is past the threshold. */
  readonly pressure: LoopPressure;
  readonly headers: HeaderPolicy;
  /** Absent when access_log is off. */
  readonly accessLog?: AccessLog;
  /** Undefined when ready to take events, else why not. */
  notReadyReason(): string | undefined;
}

/** One request as routes see it. */
export interface RequestScope extends AnswerScope, AccessNotes {
  readonly id: string;
  readonly query: URLSearchParams;
  /** The body's hold on the memory budget, from its admission to the answer's close. */
  ticket?: Ticket;
}
