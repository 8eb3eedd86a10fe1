import type { Metrics } from '../metrics/metrics';
import type { EventResult } from './result';

/**
 * Events of one stream and schema URI: how many went to the sink and how
 * many failed validation against their schema. These are EventGate's own
 * counters (eventgate-wikimedia's `events.produced` and
 * `events.errors.validation`, by stream and schema_uri), which Wikimedia's
 * alerts and dashboards read.
 */
export interface SchemaCount {
  readonly stream: string;
  readonly uri: string;
  produced: number;
  invalid: number;
}

export interface SchemaCounts {
  readonly entries: SchemaCount[];
  /**
   * For each outbound event (in outbound order), its entry in `entries`:
   * what a sink's refusal of that event takes back from `produced`.
   */
  readonly ofOutbound: Uint32Array;
}

/** Not counted: EventGate counts an event under a schema only when it had one to check it against. */
const NONE = 0xffffffff;

/**
 * Counts by stream and schema URI, one map look-up per event (none when the
 * whole batch has one stream and one URI, the usual case). An `accepted`
 * result counts as produced (the sink's refusals are taken back later, see
 * ofOutbound); only a failure of the schema itself (EG_ERR_EVENT_INVALID)
 * counts as invalid: a missing or unknown schema is no validation error to
 * EventGate either.
 */
export function countBySchema(
  streams: readonly (string | undefined)[],
  uris: readonly (string | undefined)[],
  results: readonly EventResult[],
  outboundIndex: readonly number[] | Uint32Array,
): SchemaCounts {
  const entries: SchemaCount[] = [];
  const entryOf = new Int32Array(results.length).fill(-1);
  let last: SchemaCount | undefined;
  let lastAt = -1;
  let byKey: Map<string, number> | undefined;
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    const counted = r.status === 'accepted' || (r.status === 'invalid' && r.code === 'EG_ERR_EVENT_INVALID');
    const uri = uris[i];
    if (!counted || uri === undefined) continue;
    const stream = streams[i] ?? 'unknown';
    let at: number;
    if (last && last.stream === stream && last.uri === uri) at = lastAt;
    else {
      const key = `${stream}\n${uri}`;
      byKey ??= new Map(entries.map((e, j) => [`${e.stream}\n${e.uri}`, j]));
      at = byKey.get(key) ?? -1;
      if (at === -1) {
        at = entries.push({ stream, uri, produced: 0, invalid: 0 }) - 1;
        byKey.set(key, at);
      }
      last = entries[at];
      lastAt = at;
    }
    if (r.status === 'accepted') entries[at].produced++;
    else entries[at].invalid++;
    entryOf[i] = at;
  }
  const ofOutbound = new Uint32Array(outboundIndex.length);
  for (let j = 0; j < outboundIndex.length; j++) {
    const at = entryOf[outboundIndex[j]];
    ofOutbound[j] = at === -1 ? NONE : at;
  }
  return { entries, ofOutbound };
}

/** Takes the events a sink refused (their places in outbound order) back from `produced`. */
export function withoutRefused(counts: SchemaCounts, refused: readonly number[]): SchemaCount[] {
  if (refused.length === 0) return counts.entries;
  const entries = counts.entries.map((e) => ({ ...e }));
  for (const j of refused) {
    const at = counts.ofOutbound[j];
    if (at !== NONE && at !== undefined) entries[at].produced--;
  }
  return entries;
}

/** One increment per stream and schema URI, not per event. */
export function emitSchemaCounts(metrics: Metrics, entries: readonly SchemaCount[]): void {
  for (const e of entries) {
    const tags = { stream: e.stream, schema_uri: e.uri };
    if (e.produced > 0) metrics.increment('events.produced', e.produced, tags);
    if (e.invalid > 0) metrics.increment('events.validation_errors', e.invalid, tags);
  }
}
