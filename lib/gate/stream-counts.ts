import type { EventResult } from './result';

export interface StreamCounts {
  received: number;
  accepted: number;
  invalid: number;
  error: number;
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
