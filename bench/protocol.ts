/** Messages between the bench runner and its load generator process (IPC). */

/** Runner -> generator: one measurement. */
export interface LoadJob {
  readonly type: 'job';
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Request bodies, used round-robin; each connection starts at a different one. */
  readonly bodies: readonly string[];
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Keep the generator's event loop polling instead of sleeping (see README, "Spinning"). */
  readonly spin: boolean;
  /**
   * Cluster workers behind the port: connections are spread evenly over them
   * by the x-served-by of their first answer (a connection that lands on a
   * worker with its share already reconnects, during the warm-up). The kernel
   * alone can hand one worker every connection.
   */
  readonly spreadOver?: number;
}

/** Generator -> runner: the warm-up is over and counting starts now. */
export interface LoadStarted {
  readonly type: 'started';
}

/** Generator -> runner: what the measured window saw. */
export interface LoadResult {
  readonly type: 'result';
  readonly elapsedMs: number;
  /** Complete responses, any status. */
  readonly responses: number;
  readonly statuses: Readonly<Record<string, number>>;
  /** Socket errors and connections closed with a request in flight. */
  readonly errors: number;
  readonly firstError?: string;
  /** The first non-2xx response, cut short, to see why. */
  readonly firstNon2xx?: string;
  /** Histogram counts (see histogram.ts), latency in µs. */
  readonly latency: number[];
  /** CPU time the generator process used in the window. */
  readonly cpuMs: number;
}

export type LoadMessage = LoadStarted | LoadResult;
