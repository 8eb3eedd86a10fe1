/**
 * The one mapping from eventgate's metric names (dotted, static, variable
 * parts in tags: see metrics.ts) to Prometheus names. Every metric goes
 * through it; docs/metrics.md lists the result for each name and
 * test/metrics/docs.test.ts checks the two agree.
 *
 *   counter  a.b.c          -> eventgate_a_b_c_total
 *   timing   a.b            -> eventgate_a_b_duration_seconds (histogram, ms / 1000)
 *            a.load_time    -> eventgate_a_load_time_seconds   (a last segment that says duration or time keeps it)
 *   gauge    a.b            -> eventgate_a_b
 *            a.rtt_avg_ms   -> eventgate_a_rtt_avg_seconds     (a gauge in ms is given in seconds)
 *
 * Tag keys become label names. A family folds several counters into one
 * metric with a label for their last segment: `events.accepted` ->
 * `eventgate_events_total{status="accepted"}`.
 */

export type MetricKind = 'counter' | 'timing' | 'gauge';

export const NAMESPACE = 'eventgate';

/** Counters whose last segment becomes a label of one metric: prefix -> label and members. */
const FAMILIES: Readonly<Record<string, { readonly label: string; readonly members: readonly string[] }>> = {
  events: { label: 'status', members: ['received', 'accepted', 'invalid', 'error'] },
};

/**
 * Names that are EventGate's (eventgate-wikimedia's), kept as Wikimedia's
 * alerts and dashboards know them rather than made by the rules above.
 */
const EVENTGATE_NAMES: Readonly<Record<string, string>> = {
  'counter:events.validation_errors': 'eventgate_validation_errors_total',
};

export interface PromName {
  /** The Prometheus metric name. */
  readonly name: string;
  /** A label the mapping adds (a family member), with its value. */
  readonly label?: { readonly name: string; readonly value: string };
  /** Multiply each sample by this (milliseconds to seconds). */
  readonly scale: number;
}

function snake(dotted: string): string {
  return dotted.replace(/[^A-Za-z0-9_]/g, '_');
}

export function prometheusName(kind: MetricKind, dotted: string): PromName {
  const kept = EVENTGATE_NAMES[`${kind}:${dotted}`];
  if (kept) return { name: kept, scale: 1 };
  const dot = dotted.lastIndexOf('.');
  const head = dot === -1 ? '' : dotted.slice(0, dot);
  const last = dotted.slice(dot + 1);
  switch (kind) {
    case 'counter': {
      const family = FAMILIES[head];
      if (family?.members.includes(last)) return { name: `${NAMESPACE}_${snake(head)}_total`, label: { name: family.label, value: last }, scale: 1 };
      return { name: `${NAMESPACE}_${snake(dotted)}_total`, scale: 1 };
    }
    case 'timing': {
      const says = /(duration|time)$/.test(last);
      return { name: `${NAMESPACE}_${snake(dotted)}${says ? '' : '_duration'}_seconds`, scale: 1 / 1000 };
    }
    case 'gauge':
      if (last.endsWith('_ms')) return { name: `${NAMESPACE}_${snake(dotted.slice(0, -3))}_seconds`, scale: 1 / 1000 };
      return { name: `${NAMESPACE}_${snake(dotted)}`, scale: 1 };
  }
}
