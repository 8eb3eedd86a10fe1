/**
 * The metrics seam the core talks to. Names are dotted and static; variable
 * parts (stream, route, status) go in tags so that every backend can map them
 * its own way (statsd: appended to the name; tests: kept as a key).
 */
export type Tags = Readonly<Record<string, string | number>>;

export interface Metrics {
  increment(name: string, value?: number, tags?: Tags): void;
  timing(name: string, ms: number, tags?: Tags): void;
  gauge(name: string, value: number, tags?: Tags): void;
  /** Flush what is buffered; bounded, idempotent. */
  close(): Promise<void>;
}

/** Discards everything: for code paths that have no metrics configured. */
export const nullMetrics: Metrics = {
  increment() {},
  timing() {},
  gauge() {},
  close: () => Promise.resolve(),
};
