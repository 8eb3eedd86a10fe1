/**
 * The one produce step of a prepared batch, whichever executor prepared it:
 * produce its valid events, count, produce its error events in the
 * background, and finish its answer with what the sink refused.
 */
import type { Answer } from '../answer/answer';
import { finishAnswer, type SinkFailure } from '../answer/packed';
import type { FailedResult } from '../gate/result';
import { emitSchemaCounts, withoutRefused } from '../gate/schema-counts';
import type { StreamCounts } from '../gate/stream-counts';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { OutboundEvent, ProduceContext, Sink } from '../sink/sink';
import type { PreparedBatch } from './prepare';
import type { LogEvent } from '../log-events';

export interface GateDeps {
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Where error events go; absent: none are produced. */
  readonly errorSink?: Sink;
  /** max_answer_bytes. */
  readonly maxAnswerBytes: number;
}

const NO_FAILURES: readonly SinkFailure[] = Object.freeze([]);

/**
 * produce(prepared) -> its answer. An event is `accepted` only once the
 * sink owns it. Keeps the work that outlives its request (hasty events,
 * error events) so that close() can wait for it.
 */
export class Gate {
  private readonly background = new Set<Promise<void>>();

  constructor(private readonly deps: GateDeps) {}

  produce(prepared: PreparedBatch, sink: Sink, ctx: ProduceContext): Promise<Answer> {
    const { outbound } = prepared;
    if (outbound.length === 0) return Promise.resolve(this.settle(prepared, NO_FAILURES, ctx));
    return sink.produce(outbound, ctx).then((outcomes) => {
      let failures: SinkFailure[] | undefined;
      for (let j = 0; j < outcomes.length; j++) {
        const o = outcomes[j];
        if (!o.ok) (failures ??= []).push({ at: j, code: o.code, message: o.message });
      }
      return this.settle(prepared, failures ?? NO_FAILURES, ctx);
    });
  }

  /** Runs work that outlives its request (hasty events, error events); close() waits for it. */
  track(work: Promise<void>): void {
    const tracked = work.finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  /** Resolves once all background work has finished. */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** Once the sink has answered: count, send the error events on their way, and finish the answer. */
  private settle(prepared: PreparedBatch, failures: readonly SinkFailure[], ctx: ProduceContext): Answer {
    this.count(prepared, failures);
    const sink = this.deps.errorSink;
    const made = prepared.errorEvents;
    if (sink && made && made.made > 0) {
      this.track(this.produceErrorEvents(made.made, made.made - made.outbound.length, made.firstInvalid, made.outbound, sink, ctx));
    }
    return finishAnswer(prepared.answer, prepared.count, failures, prepared.outbound, prepared.outboundIndex, this.deps.maxAnswerBytes);
  }

  /** Produces validated error events: `invalid` of the `made` failed their own validation. Their failures are logged, never reported again. */
  private async produceErrorEvents(
    made: number,
    invalid: number,
    firstInvalid: FailedResult | undefined,
    outbound: readonly OutboundEvent[],
    sink: Sink,
    ctx: ProduceContext,
  ): Promise<void> {
    const { log, metrics } = this.deps;
    try {
      const outcomes = outbound.length ? await sink.produce(outbound, ctx) : [];
      const failed = invalid + outcomes.filter((o) => !o.ok).length;
      metrics.increment('error_events.produced', made - failed);
      if (failed > 0) {
        metrics.increment('error_events.failed', failed);
        const first = firstInvalid ?? outcomes.find((o) => !o.ok);
        log.error({ request_id: ctx.requestId, failed, first, event: 'error_events.failed' satisfies LogEvent }, 'error events could not be produced');
      }
    } catch (err) {
      metrics.increment('error_events.failed', made);
      log.error({ err, request_id: ctx.requestId, event: 'error_events.failed' satisfies LogEvent }, 'error events could not be produced');
    }
  }

  /** Counts a prepared batch: what the sink refused moves from accepted to error. */
  private count(prepared: PreparedBatch, failures: readonly SinkFailure[]): void {
    emitSchemaCounts(this.deps.metrics, withoutRefused(prepared.schemaCounts, failures.map((f) => f.at)));
    if (failures.length === 0) return this.emitCounts(prepared.counts);
    const counts = new Map(prepared.counts.map(([stream, c]) => [stream, { ...c }]));
    for (const f of failures) {
      const c = counts.get(prepared.outbound[f.at].stream);
      if (!c) continue;
      c.accepted--;
      c.error++;
    }
    this.emitCounts(counts);
  }

  private emitCounts(counts: Iterable<readonly [string, StreamCounts]>): void {
    const { metrics } = this.deps;
    for (const [stream, c] of counts) {
      const tags = { stream };
      metrics.increment('events.received', c.received, tags);
      if (c.accepted) metrics.increment('events.accepted', c.accepted, tags);
      if (c.invalid) metrics.increment('events.invalid', c.invalid, tags);
      if (c.error) metrics.increment('events.error', c.error, tags);
    }
  }
}
