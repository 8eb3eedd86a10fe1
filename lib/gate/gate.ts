import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { ProduceContext, Sink } from '../sink/sink';
import { errorEventFor, type ErrorEventOptions } from './error-events';
import type { EventResult } from './result';
import type { EventValidator, RequestInfo, Validated } from './validate';

export interface GateDeps {
  readonly validator: EventValidator;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Error events about invalid events: where they go. Absent: none are made. */
  readonly errorEvents?: { readonly options: ErrorEventOptions; readonly sink: Sink };
}

interface StreamCounts {
  received: number;
  accepted: number;
  invalid: number;
  error: number;
}

/**
 * Counts per stream, so a batch makes one metric call per stream, not per
 * event. Most batches (and every single event) have one stream: no map then.
 */
function countByStream(streams: readonly (string | undefined)[], results: readonly EventResult[]): Iterable<[string, StreamCounts]> {
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
  return counts;
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
    this.count(validated.streams, validated.results);
    this.reportInvalid(events, validated, ctx);
    return validated.results;
  }

  private reportInvalid(events: readonly unknown[], validated: Validated, ctx: ProduceContext): void {
    const target = this.deps.errorEvents;
    if (!target) return;
    const errorEvents: Record<string, unknown>[] = [];
    validated.results.forEach((r, i) => {
      if (r.status !== 'invalid') return;
      errorEvents.push(errorEventFor({ event: events[i], code: r.code, context: r.context, schemaUri: validated.uris[i], stream: validated.streams[i] }, target.options));
    });
    if (errorEvents.length === 0) return;
    this.track(this.produceErrorEvents(errorEvents, target.sink, ctx));
  }

  /** Error events go through the same validation; their own failures are logged, never reported again. */
  private async produceErrorEvents(errorEvents: Record<string, unknown>[], sink: Sink, ctx: ProduceContext): Promise<void> {
    const { log, metrics, validator } = this.deps;
    try {
      const validated = await validator.validate(errorEvents);
      const outcomes = validated.outbound.length ? await sink.produce(validated.outbound, ctx) : [];
      const failed = validated.results.filter((r) => r.status !== 'accepted').length + outcomes.filter((o) => !o.ok).length;
      metrics.increment('error_events.produced', errorEvents.length - failed);
      if (failed > 0) {
        metrics.increment('error_events.failed', failed);
        const first = validated.results.find((r) => r.status !== 'accepted') ?? outcomes.find((o) => !o.ok);
        log.error({ request_id: ctx.requestId, failed, first }, 'error events could not be produced');
      }
    } catch (err) {
      metrics.increment('error_events.failed', errorEvents.length);
      log.error({ err, request_id: ctx.requestId }, 'error events could not be produced');
    }
  }

  private count(streams: readonly (string | undefined)[], results: readonly EventResult[]): void {
    const { metrics } = this.deps;
    for (const [stream, c] of countByStream(streams, results)) {
      const tags = { stream };
      metrics.increment('events.received', c.received, tags);
      if (c.accepted) metrics.increment('events.accepted', c.accepted, tags);
      if (c.invalid) metrics.increment('events.invalid', c.invalid, tags);
      if (c.error) metrics.increment('events.error', c.error, tags);
    }
  }
}
