import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { ProduceContext, Sink } from '../sink/sink';
import type { EventResult } from './result';
import type { EventValidator, Validated } from './validate';

export interface GateDeps {
  readonly validator: EventValidator;
  readonly metrics: Metrics;
  readonly log: Logger;
}

/** Counts per stream, so a batch makes one metric call per stream, not per event. */
function countByStream(streams: readonly (string | undefined)[], results: readonly EventResult[]) {
  const counts = new Map<string, { received: number; accepted: number; invalid: number; error: number }>();
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
 * to the sink, and count. An event is `accepted` only once the sink owns it.
 */
export class Gate {
  constructor(private readonly deps: GateDeps) {}

  async process(events: readonly unknown[], sink: Sink, ctx: ProduceContext, checkNumbers: boolean): Promise<EventResult[]> {
    const validated = await this.deps.validator.validate(events, checkNumbers);
    return this.produce(validated, sink, ctx);
  }

  /** Produces already validated events (also what the thread pool hands back). */
  async produce(validated: Validated, sink: Sink, ctx: ProduceContext): Promise<EventResult[]> {
    const { results, outbound, outboundIndex, streams } = validated;
    if (outbound.length > 0) {
      const outcomes = await sink.produce(outbound, ctx);
      for (let j = 0; j < outcomes.length; j++) {
        const o = outcomes[j];
        if (!o.ok) results[outboundIndex[j]] = { status: 'error', code: o.code, context: { message: o.message } };
      }
    }
    this.count(streams, results);
    return results;
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
