/**
 * What happens once a produce call has every outcome: metrics, the spool
 * for what Kafka did not take, a log line. The spool writes are tracked so
 * that closing the producer waits for them.
 */
import type { ErrorCode } from '../../errors';
import type { Logger } from '../../log';
import type { Metrics, Tags } from '../../metrics/metrics';
import type { OutboundEvent, ProduceContext, ProduceOutcome } from '../sink';
import type { FailedEvent, Spool } from '../spool';
import type { Delivery } from './delivery';

export class Settler {
  private readonly spooling = new Set<Promise<unknown>>();

  constructor(
    private readonly deps: { readonly log: Logger; readonly metrics: Metrics; readonly tags: Tags; readonly spool?: Spool },
  ) {}

  /** Counts, logs and spools a finished call; resolves with its outcomes once its failures are spooled. */
  settle(delivery: Delivery, events: readonly OutboundEvent[], ctx: ProduceContext): Promise<ProduceOutcome[]> {
    const { metrics, tags, log } = this.deps;
    const outcomes = delivery.outcomes as ProduceOutcome[];
    const failed: FailedEvent[] = [];
    const codes: Partial<Record<ErrorCode, number>> = {};
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i];
      if (outcome.ok) continue;
      failed.push({ event: events[i], error: { code: outcome.code, message: outcome.message } });
      codes[outcome.code] = (codes[outcome.code] ?? 0) + 1;
    }
    metrics.timing('kafka.produce.duration', Date.now() - delivery.started, tags);
    if (failed.length < events.length) metrics.increment('kafka.produce.delivered', events.length - failed.length, tags);
    for (const [code, n] of Object.entries(codes)) metrics.increment('kafka.produce.failed', n, { ...tags, code });
    if (failed.length === 0) return Promise.resolve(outcomes);

    const spooled = this.spool(failed).then((ok) => {
      log.warn({ request_id: ctx.requestId, events: events.length, failed: failed.length, codes, spooled: ok }, 'events not produced to kafka');
      return outcomes;
    });
    this.spooling.add(spooled);
    void spooled.finally(() => this.spooling.delete(spooled));
    return spooled;
  }

  /** Resolves once every spool write under way is done. */
  async idle(): Promise<void> {
    await Promise.all(this.spooling);
  }

  /** Appends to the spool; false when there is none or the write failed (logged). */
  private spool(failed: readonly FailedEvent[]): Promise<boolean> {
    const { spool, log, metrics, tags } = this.deps;
    if (!spool) return Promise.resolve(false);
    return spool.append(failed).then(
      () => true,
      (err: unknown) => {
        log.error({ err, failed: failed.length, path: spool.path }, 'failed events could not be spooled');
        metrics.increment('kafka.spool.failed', failed.length, tags);
        return false;
      },
    );
  }
}
