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
  /**
   * One librdkafka statistics document of a producer (`guaranteed`, `hasty`),
   * parsed: for a backend that sends it whole, as EventGate does
   * (eventgate-statsd.ts). Backends without a use for it leave it out.
   */
  kafkaStatistics?(producer: string, stats: unknown): void;
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
