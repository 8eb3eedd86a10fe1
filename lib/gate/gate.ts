import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { OutboundEvent, ProduceContext, Sink } from '../sink/sink';
import type { ErrorCode } from '../errors';
import { errorEventsOf, type ErrorEventOptions } from './error-events';
import type { EventResult, FailedResult } from './result';
import { countBySchema, emitSchemaCounts, withoutRefused, type SchemaCounts } from './schema-counts';
import type { EventValidator, RequestInfo, Validated } from './validate';

export interface GateDeps {
  readonly validator: EventValidator;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Error events about invalid events: where they go. Absent: none are made. */
  readonly errorEvents?: { readonly options: ErrorEventOptions; readonly sink: Sink };
}

export interface StreamCounts {
  received: number;
  accepted: number;
  invalid: number;
  error: number;
}

/**
 * A batch validated elsewhere (in a pool thread), with what is per event
 * already done there: serialized, counted, its error events made and
 * serialized. What is left is the sink's work and a constant.
 */
export interface PreparedBatch {
  readonly outbound: readonly OutboundEvent[];
  /** Events per stream, counted as if the sink takes every outbound event. */
  readonly counts: readonly (readonly [string, StreamCounts])[];
  /** Events per stream and schema URI, counted the same way. */
  readonly schemaCounts: SchemaCounts;
  /** The error events of its invalid events, validated and serialized; absent: none. */
  readonly errorEvents?: PreparedErrorEvents;
}

export interface PreparedErrorEvents {
  /** Error events made (one per invalid event). */
  readonly made: number;
  /** The valid ones, serialized. */
  readonly outbound: readonly OutboundEvent[];
  /** The first that failed validation itself, for the log. */
  readonly firstInvalid?: FailedResult;
}

/** An outbound event the sink did not take: `at` is its place in `outbound`. */
export interface SinkFailure {
  readonly at: number;
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * Counts per stream, so a batch makes one metric call per stream, not per
 * event. Most batches (and every single event) have one stream: no map then.
 */
export function countByStream(streams: readonly (string | undefined)[], results: readonly EventResult[]): [string, StreamCounts][] {
  const first = streams[0] ?? 'unknown';
  let one = true;
  for (let i = 1; i < results.length && one; i++) one = (streams[i] ?? 'unknown') === first;
  if (one) {
    const c: StreamCounts = { received: results.length, accepted: 0, invalid: 0, error: 0 };
    for (let i = 0; i < results.length; i++) c[results[i].status]++;
    return [[first, c]];
  }
  const counts = new Map<string, StreamCounts>();
  for (let i = 0; i < results.length; i++) {
    const stream = streams[i] ?? 'unknown';
    let c = counts.get(stream);
    if (!c) counts.set(stream, (c = { received: 0, accepted: 0, invalid: 0, error: 0 }));
    c.received++;
    c[results[i].status]++;
  }
  return [...counts];
}

/**
 * process(events) -> one result per event: validate, produce what is valid
 * to the sink, report invalid events as error events, and count. An event is
 * `accepted` only once the sink owns it.
 */
export class Gate {
  private readonly background = new Set<Promise<void>>();

  constructor(private readonly deps: GateDeps) {}

  process(events: readonly unknown[], sink: Sink, ctx: ProduceContext, request?: RequestInfo): Promise<EventResult[]> {
    const validated = this.deps.validator.validate(events, request);
    // No await when the validator answered synchronously: one promise less per request.
    return validated instanceof Promise ? validated.then((v) => this.produce(events, v, sink, ctx)) : this.produce(events, validated, sink, ctx);
  }

  /**
   * Produces spooled events again (eventgate replay), each with the Kafka timestamp it was given
   * at receipt (null: the time of producing), not one taken anew from its event time: the window
   * of timestamp_max_past_ms is around the receipt, which may be long before the replay.
   */
  async reprocess(events: readonly unknown[], timestamps: readonly (number | null)[], sink: Sink, ctx: ProduceContext): Promise<EventResult[]> {
    const v = await this.deps.validator.validate(events);
    const outbound = v.outbound.map((o, j) => ({ ...o, timestamp: timestamps[v.outboundIndex[j]] ?? undefined }));
    return this.produce(events, { ...v, outbound }, sink, ctx);
  }

  /** Produces already validated events (also what the thread pool hands back). */
  produce(events: readonly unknown[], validated: Validated, sink: Sink, ctx: ProduceContext): Promise<EventResult[]> {
    const { results, outbound, outboundIndex } = validated;
    if (outbound.length === 0) return Promise.resolve(this.settle(events, validated, ctx));
    return sink.produce(outbound, ctx).then((outcomes) => {
      for (let j = 0; j < outcomes.length; j++) {
        const o = outcomes[j];
        if (!o.ok) results[outboundIndex[j]] = { status: 'error', code: o.code, context: { message: o.message } };
      }
      return this.settle(events, validated, ctx);
    });
  }

  /**
   * Produces a batch a pool thread prepared; resolves with what the sink
   * refused (none, usually). Counts and error events as produce() does.
   */
  producePrepared(batch: PreparedBatch, sink: Sink, ctx: ProduceContext): Promise<SinkFailure[]> {
    const { outbound } = batch;
    const settle = (failures: SinkFailure[]) => {
      this.countPrepared(batch, failures);
      const target = this.deps.errorEvents;
      const made = batch.errorEvents;
      if (target && made && made.made > 0) {
        const { outbound: errorOutbound, firstInvalid } = made;
        this.track(this.produceErrorOutbound(made.made, made.made - errorOutbound.length, firstInvalid, errorOutbound, target.sink, ctx));
      }
      return failures;
    };
    if (outbound.length === 0) return Promise.resolve(settle([]));
    return sink.produce(outbound, ctx).then((outcomes) => {
      const failures: SinkFailure[] = [];
      for (let j = 0; j < outcomes.length; j++) {
        const o = outcomes[j];
        if (!o.ok) failures.push({ at: j, code: o.code, message: o.message });
      }
      return settle(failures);
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

  /** Once the sink has answered: count, report invalid events, and give the final results. */
  private settle(events: readonly unknown[], validated: Validated, ctx: ProduceContext): EventResult[] {
    this.count(validated);
    this.reportInvalid(events, validated, ctx);
    return validated.results;
  }

  private reportInvalid(events: readonly unknown[], validated: Validated, ctx: ProduceContext): void {
    const target = this.deps.errorEvents;
    if (!target) return;
    const errorEvents = errorEventsOf(events, validated, target.options);
    if (errorEvents.length === 0) return;
    this.track(this.produceErrorEvents(errorEvents, target.sink, ctx));
  }

  /** Error events go through the same validation; their own failures are logged, never reported again. */
  private async produceErrorEvents(errorEvents: Record<string, unknown>[], sink: Sink, ctx: ProduceContext): Promise<void> {
    const { log, metrics, validator } = this.deps;
    let validated: Validated;
    try {
      validated = await validator.validate(errorEvents);
    } catch (err) {
      metrics.increment('error_events.failed', errorEvents.length);
      log.error({ err, request_id: ctx.requestId }, 'error events could not be produced');
      return;
    }
    const invalid = validated.results.filter((r) => r.status !== 'accepted');
    await this.produceErrorOutbound(errorEvents.length, invalid.length, invalid[0], validated.outbound, sink, ctx);
  }

  /** Produces validated error events: `invalid` of the `made` failed their own validation. */
  private async produceErrorOutbound(
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
        log.error({ request_id: ctx.requestId, failed, first }, 'error events could not be produced');
      }
    } catch (err) {
      metrics.increment('error_events.failed', made);
      log.error({ err, request_id: ctx.requestId }, 'error events could not be produced');
    }
  }

  /** Counts a prepared batch: what the sink refused moves from accepted to error. */
  private countPrepared(batch: PreparedBatch, failures: readonly SinkFailure[]): void {
    emitSchemaCounts(this.deps.metrics, withoutRefused(batch.schemaCounts, failures.map((f) => f.at)));
    if (failures.length === 0) return this.emitCounts(batch.counts);
    const counts = new Map(batch.counts.map(([stream, c]) => [stream, { ...c }]));
    for (const f of failures) {
      const c = counts.get(batch.outbound[f.at].stream);
      if (!c) continue;
      c.accepted--;
      c.error++;
    }
    this.emitCounts(counts);
  }

  private count(validated: Validated): void {
    this.emitCounts(countByStream(validated.streams, validated.results));
    // The sink's refusals are in the results already: no outbound events to map back.
    emitSchemaCounts(this.deps.metrics, countBySchema(validated.streams, validated.uris, validated.results, []).entries);
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
