/**
 * What happens with the outcomes of a produce call: metrics, the spool for
 * what Kafka did not take, a log line. Only an event whose fate is known to
 * be "not delivered" is spooled (see delivery.ts): one the call stopped
 * waiting for is spooled when its delivery report says it failed, and not
 * at all when Kafka took it late. The spool writes are tracked so that
 * closing the producer waits for them.
 */
import type { LogEvent } from '../../log-events';
import type { ErrorCode } from '../../errors';
import type { Logger } from '../../log';
import type { Metrics, Tags } from '../../metrics/metrics';
import type { OutboundEvent, ProduceContext, ProduceOutcome } from '../sink';
import type { FailedEvent, Spool } from '../spool';
import type { Delivery } from './delivery';

export class Settler {
  private readonly spooling = new Set<Promise<unknown>>();
  /** Late failures of this event-loop turn, spooled together. */
  private late: FailedEvent[] = [];

  constructor(
    private readonly deps: { readonly log: Logger; readonly metrics: Metrics; readonly tags: Tags; readonly spool?: Spool },
  ) {}

  /**
   * Counts and logs a call's answer, spools its failures with a fate;
   * resolves with the outcomes once those are spooled.
   */
  answer(
    delivery: Delivery,
    outcomes: readonly ProduceOutcome[],
    fated: readonly boolean[] | undefined,
    events: readonly OutboundEvent[],
    ctx: ProduceContext,
  ): Promise<ProduceOutcome[]> {
    const { metrics, tags, log } = this.deps;
    const failed: FailedEvent[] = [];
    const codes: Partial<Record<ErrorCode, number>> = {};
    let failures = 0;
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i];
      if (outcome.ok) continue;
      failures++;
      codes[outcome.code] = (codes[outcome.code] ?? 0) + 1;
      if (fated?.[i] ?? true) failed.push({ event: events[i], error: { code: outcome.code, message: outcome.message } });
    }
    metrics.timing('kafka.produce.duration', Date.now() - delivery.started, tags);
    if (failures < events.length) metrics.increment('kafka.produce.delivered', events.length - failures, tags);
    for (const [code, n] of Object.entries(codes)) metrics.increment('kafka.produce.failed', n, { ...tags, code });
    const result = outcomes as ProduceOutcome[];
    if (failures === 0) return Promise.resolve(result);

    const awaiting = failures - failed.length;
    const spooled = failed.length ? this.spool(failed) : Promise.resolve(false);
    return this.track(
      spooled.then((ok) => {
        log.warn(
          { event: 'kafka.not_produced' satisfies LogEvent, request_id: ctx.requestId, events: events.length, failed: failures, codes, spooled: failed.length ? ok : undefined, awaiting_report: awaiting || undefined },
          'events not produced to kafka',
        );
        return result;
      }),
    );
  }

  /** An event whose call had already been answered got its fate: counted, and spooled when it failed. */
  settleLate(event: OutboundEvent, outcome: ProduceOutcome): void {
    const { metrics, tags } = this.deps;
    metrics.increment('kafka.produce.late', 1, { ...tags, ok: outcome.ok ? 'true' : 'false' });
    if (outcome.ok) return;
    if (this.late.length === 0) queueMicrotask(() => this.spoolLate());
    this.late.push({ event, error: { code: outcome.code, message: outcome.message } });
  }

  /** Resolves once every spool write under way is done. */
  async idle(): Promise<void> {
    this.spoolLate();
    while (this.spooling.size) await Promise.all(this.spooling);
  }

  private spoolLate(): void {
    const failed = this.late;
    if (failed.length === 0) return;
    this.late = [];
    void this.track(
      this.spool(failed).then((ok) => {
        this.deps.log.warn({ event: 'kafka.late_undelivered' satisfies LogEvent, failed: failed.length, spooled: ok }, 'events kafka reported undelivered after their answer');
      }),
    );
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.spooling.add(work);
    void work.finally(() => this.spooling.delete(work));
    return work;
  }

  /** Appends to the spool; false when there is none or the write failed (logged). */
  private spool(failed: readonly FailedEvent[]): Promise<boolean> {
    const { spool, log, metrics, tags } = this.deps;
    if (!spool) return Promise.resolve(false);
    return spool.append(failed).then(
      () => true,
      (err: unknown) => {
        log.error({ event: 'kafka.spool_failed' satisfies LogEvent, err, failed: failed.length, path: spool.path }, 'failed events could not be spooled');
        metrics.increment('kafka.spool.failed', failed.length, tags);
        return false;
      },
    );
  }
}
