/**
 * What the repository remembers per schema URI: the compiled schema, or a
 * failure until it expires. Failures expire so that a schema published
 * after a client first asked for it is found without a restart.
 */
import type { EventGateError } from '../errors';

/** Bounds the failures held: clients choose the URIs, so a flood of made-up ones must not grow memory without end. */
export const MAX_FAILURES = 10_000;

interface Failure {
  readonly error: EventGateError;
  readonly expiresAt: number;
}

export class SchemaCache<T> {
  private readonly ok = new Map<string, T>();
  // Every failure lives equally long, so insertion order is expiry order:
  // the oldest entry is always first, which makes pruning cheap.
  private readonly failed = new Map<string, Failure>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxFailures = MAX_FAILURES,
  ) {}

  /** The schema, the failure if it has not expired, or undefined. */
  get(uri: string): T | EventGateError | undefined {
    const schema = this.ok.get(uri);
    if (schema !== undefined) return schema;
    const failure = this.failed.get(uri);
    if (failure === undefined) return undefined;
    if (failure.expiresAt > this.now()) return failure.error;
    this.failed.delete(uri);
    return undefined;
  }

  setOk(uri: string, schema: T): void {
    this.failed.delete(uri);
    this.ok.set(uri, schema);
  }

  setFailed(uri: string, error: EventGateError): void {
    if (this.ttlMs <= 0) return;
    const now = this.now();
    this.failed.delete(uri);
    this.failed.set(uri, { error, expiresAt: now + this.ttlMs });
    for (const [key, f] of this.failed) {
      if (f.expiresAt > now && this.failed.size <= this.maxFailures) break;
      this.failed.delete(key);
    }
  }

  clear(): void {
    this.ok.clear();
    this.failed.clear();
  }

  get size(): { ok: number; failed: number } {
    return { ok: this.ok.size, failed: this.failed.size };
  }
}
