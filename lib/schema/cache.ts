/**
 * What the repository remembers per schema URI: the compiled schema, or a
 * failure until it expires. Failures expire so that a schema published
 * after a client first asked for it is found without a restart. Both are
 * bounded: clients choose the URIs, so a flood of made-up (or merely many)
 * ones must not grow memory without end.
 */
import type { EventGateError } from '../errors';

export interface SchemaCacheOptions<T> {
  /** How long a failure is remembered; 0: not at all. */
  readonly ttlMs: number;
  /** Compiled schemas held at most; past it the least recently used one goes. */
  readonly maxSchemas: number;
  /** Failures held at most; past it the oldest one goes. */
  readonly maxFailures: number;
  /** Told of each schema evicted, to free what else holds it (ajv does). */
  readonly onEvict?: (schema: T, uri: string) => void;
  readonly now?: () => number;
}

interface Held<T> {
  readonly value: T;
  /** Looked up since eviction last came round to it. */
  used: boolean;
}

interface Failure {
  readonly error: EventGateError;
  readonly expiresAt: number;
}

export class SchemaCache<T> {
  // Eviction is CLOCK (second chance), an approximation of LRU whose hit
  // costs one flag write: true LRU moves the entry on every hit, and a hit
  // is the hot path of every event.
  private readonly ok = new Map<string, Held<T>>();
  // Every failure lives equally long, so insertion order is expiry order:
  // the oldest entry is always first, which makes pruning cheap.
  private readonly failed = new Map<string, Failure>();
  private readonly now: () => number;

  constructor(private readonly opts: SchemaCacheOptions<T>) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** The schema, the failure if it has not expired, or undefined. */
  get(uri: string): T | EventGateError | undefined {
    const held = this.ok.get(uri);
    if (held !== undefined) {
      held.used = true;
      return held.value;
    }
    const failure = this.failed.get(uri);
    if (failure === undefined) return undefined;
    if (failure.expiresAt > this.now()) return failure.error;
    this.failed.delete(uri);
    return undefined;
  }

  /** Returns how many schemas it evicted to make room (0 or 1). */
  setOk(uri: string, schema: T): number {
    this.failed.delete(uri);
    this.ok.delete(uri);
    // Marked used: with every older entry used too, the newest would otherwise go first.
    this.ok.set(uri, { value: schema, used: true });
    return this.ok.size > this.opts.maxSchemas ? this.evictOne() : 0;
  }

  /** Returns how many failures it dropped before their time to make room. */
  setFailed(uri: string, error: EventGateError): number {
    if (this.opts.ttlMs <= 0) return 0;
    const now = this.now();
    this.failed.delete(uri);
    this.failed.set(uri, { error, expiresAt: now + this.opts.ttlMs });
    let dropped = 0;
    for (const [key, f] of this.failed) {
      const live = f.expiresAt > now;
      if (live && this.failed.size <= this.opts.maxFailures) break;
      this.failed.delete(key);
      if (live) dropped++;
    }
    return dropped;
  }

  clear(): void {
    this.ok.clear();
    this.failed.clear();
  }

  get size(): { ok: number; failed: number } {
    return { ok: this.ok.size, failed: this.failed.size };
  }

  private evictOne(): number {
    // Oldest first: one used since the hand last passed goes to the back
    // unmarked (the Map visits it again); the first unused one is evicted.
    for (const [key, held] of this.ok) {
      if (held.used) {
        held.used = false;
        this.ok.delete(key);
        this.ok.set(key, held);
        continue;
      }
      this.ok.delete(key);
      this.opts.onEvict?.(held.value, key);
      return 1;
    }
    return 0;
  }
}
