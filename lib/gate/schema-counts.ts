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

const NO_OUTBOUND = new Uint32Array(0);

/** Whether a result counts: taken by the sink (so far), or invalid against its schema. */
function kindOf(r: EventResult): 'produced' | 'invalid' | undefined {
  if (r.status === 'accepted') return 'produced';
  return r.status === 'invalid' && r.code === 'EG_ERR_EVENT_INVALID' ? 'invalid' : undefined;
}

/**
 * Counts by stream and schema URI. An `accepted` result counts as produced
 * (the sink's refusals are taken back later, see ofOutbound); only a
 * failure of the schema itself (EG_ERR_EVENT_INVALID) counts as invalid: a
 * missing or unknown schema is no validation error to EventGate either.
 * Most batches, and every single event, have one stream and one URI: no map
 * and no key strings then.
 */
export function countBySchema(
  streams: readonly (string | undefined)[],
  uris: readonly (string | undefined)[],
  results: readonly EventResult[],
  outboundIndex: readonly number[] | Uint32Array,
): SchemaCounts {
  const n = results.length;
  const stream0 = streams[0] ?? 'unknown';
  const uri0 = uris[0];
  let one = uri0 !== undefined;
  for (let i = 1; i < n && one; i++) one = uris[i] === uri0 && (streams[i] ?? 'unknown') === stream0;
  if (one) {
    const entry: SchemaCount = { stream: stream0, uri: uri0!, produced: 0, invalid: 0 };
    for (let i = 0; i < n; i++) {
      const r = results[i];
      if (r.status === 'accepted') entry.produced++;
      else if (r.status === 'invalid' && r.code === 'EG_ERR_EVENT_INVALID') entry.invalid++;
    }
    // Every outbound event is a valid one of this stream and URI: entry 0.
    return { entries: [entry], ofOutbound: outboundIndex.length ? new Uint32Array(outboundIndex.length) : NO_OUTBOUND };
  }
  return countMixed(streams, uris, results, outboundIndex);
}

/** countBySchema for a batch of several streams or URIs. */
function countMixed(
  streams: readonly (string | undefined)[],
  uris: readonly (string | undefined)[],
  results: readonly EventResult[],
  outboundIndex: readonly number[] | Uint32Array,
): SchemaCounts {
  const n = results.length;
  const entries: SchemaCount[] = [];
  const byKey = new Map<string, number>();
  const entryOf = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const kind = kindOf(results[i]);
    const uri = uris[i];
    if (!kind || uri === undefined) continue;
    const stream = streams[i] ?? 'unknown';
    const key = `${stream}\n${uri}`;
    let at = byKey.get(key);
    if (at === undefined) {
      at = entries.push({ stream, uri, produced: 0, invalid: 0 }) - 1;
      byKey.set(key, at);
    }
    entries[at][kind]++;
    entryOf[i] = at;
  }
  const ofOutbound = outboundIndex.length ? new Uint32Array(outboundIndex.length) : NO_OUTBOUND;
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
