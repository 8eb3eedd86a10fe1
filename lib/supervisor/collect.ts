/**
 * The master's Prometheus scrape: asks every worker for its samples over the
 * IPC channel (ipc.ts `collect_metrics` / `metrics`), sums them with its own,
 * and keeps what workers that are gone had counted, so that the service's
 * counters do not go backwards when a worker is replaced.
 *
 * eventgate's own IPC rather than prom-client's AggregatorRegistry (which
 * speaks over the same channel): the messages stay in the typed union every
 * receiver checks, the master knows each worker's state (a worker still
 * loading is not waited for; one that exits mid-scrape is not waited for
 * either), and the counts of exited workers are kept, which the registry
 * drops with the worker.
 */
import { cumulative, fold, render, type Snapshot } from '../metrics/prometheus';
import type { MetricsMessage } from './ipc';
import type { WorkerRecord } from './record';
import type { WorkerSet } from './workers';

/** A worker that has not answered by then is counted with its previous answer. */
const COLLECT_TIMEOUT_MS = 1000;
/**
 * An exited worker's counts wait this long before they are folded into the
 * retired sum: its last `metrics` message (sent just before a planned exit)
 * may be read after the exit itself.
 */
const LATE_MS = 5000;

interface Waiting {
  readonly pending: Set<number>;
  done(): void;
}

export class ClusterMetrics {
  /** The latest samples of each worker not yet exited, by worker id. */
  private readonly latest = new Map<number, Snapshot>();
  /** Exited workers' counters and histograms, by worker id, until folded into `retired`. */
  private readonly gone = new Map<number, { snapshot: Snapshot; at: number }>();
  /** The sum of every worker that exited more than LATE_MS ago. */
  private retired: Snapshot = [];
  private folding: Promise<void> = Promise.resolve();
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();

  constructor(private readonly workers: WorkerSet) {}

  /** A scrape: the master's own samples, every worker's, and the retired counts. */
  async gather(own: Snapshot): Promise<string> {
    await this.collect();
    this.folding = this.folding.then(() => this.foldGone());
    await this.folding;
    // Newest worker first: a gauge's `first` aggregator then shows, for a slot held by a
    // draining worker and its successor, the successor's reading.
    const live = [...this.latest.entries()].sort((a, b) => b[0] - a[0]).map(([, s]) => s);
    const gone = [...this.gone.values()].map((g) => g.snapshot);
    return render([own, ...live, ...gone, this.retired]);
  }

  /** A worker's `metrics` message. */
  receive(w: WorkerRecord, msg: MetricsMessage): void {
    const gone = this.gone.get(w.id);
    if (gone) gone.snapshot = cumulative(msg.metrics);
    else this.latest.set(w.id, msg.metrics);
    if (msg.id !== undefined) this.answered(this.waiting.get(msg.id), w.id);
  }

  /** `w` exited: its counts stay in the sum, its gauges go, and no scrape waits for it. */
  exited(w: WorkerRecord): void {
    const snapshot = this.latest.get(w.id);
    this.latest.delete(w.id);
    this.gone.set(w.id, { snapshot: snapshot ? cumulative(snapshot) : [], at: Date.now() });
    for (const wait of this.waiting.values()) this.answered(wait, w.id);
  }

  private answered(wait: Waiting | undefined, workerId: number): void {
    if (wait?.pending.delete(workerId) && wait.pending.size === 0) wait.done();
  }

  /** Asks every worker that has said `ready`; resolves when all answered or after COLLECT_TIMEOUT_MS. */
  private collect(): Promise<void> {
    const id = this.nextId++;
    const pending = new Set<number>();
    for (const w of this.workers) {
      if (w.state === 'dead' || w.lastBeatAt === undefined || !w.worker.isConnected()) continue;
      pending.add(w.id);
      w.send({ type: 'collect_metrics', id });
    }
    if (pending.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve();
      };
      const timer = setTimeout(done, COLLECT_TIMEOUT_MS);
      this.waiting.set(id, { pending, done });
    });
  }

  /** Folds exited workers older than LATE_MS into `retired`; run one at a time (see gather). */
  private async foldGone(): Promise<void> {
    const cutoff = Date.now() - LATE_MS;
    const old: Snapshot[] = [];
    for (const [id, g] of this.gone) {
      if (g.at > cutoff) continue;
      old.push(g.snapshot);
      this.gone.delete(id);
    }
    if (old.length) this.retired = await fold([this.retired, ...old]);
  }
}
