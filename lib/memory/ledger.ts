/**
 * The master's ledger of the memory shared by its workers for large bodies
 * (README: Memory model). A worker asks for a grant of a body's cost before
 * reading it; the ledger grants it when the grants of all workers leave room,
 * and frees it when the worker says the body's answer is done, or when the
 * worker exits (a crash, a replacement): its grants die with it. One ledger
 * for all workers is what lets two workers in 300 MiB take a 10 MB body at a
 * time, which static per-worker shares could not.
 */

export type LedgerAnswer = 'granted' | 'busy' | 'never';

export class MemoryLedger {
  private readonly grants = new Map<number, Map<number, number>>();
  private held = 0;

  /** `capacity`: bytes (body bytes x expansion) all grants together may hold. */
  constructor(private capacity: number) {}

  /** A new config (a reload) may size the pool anew; grants held stay until freed. */
  resize(capacity: number): void {
    this.capacity = capacity;
  }

  get inUse(): number {
    return this.held;
  }

  get size(): number {
    return this.capacity;
  }

  /** Worker `worker` asks for `bytes` under its own grant id `id`. */
  ask(worker: number, id: number, bytes: number): LedgerAnswer {
    if (bytes > this.capacity) return 'never';
    if (this.held + bytes > this.capacity) return 'busy';
    let mine = this.grants.get(worker);
    if (!mine) this.grants.set(worker, (mine = new Map<number, number>()));
    // An id asked twice (it cannot be, but a repeat must not hold twice).
    this.held += bytes - (mine.get(id) ?? 0);
    mine.set(id, bytes);
    return 'granted';
  }

  /** The body of grant `id` is gone. Unknown ids (freed already, or never granted) are ignored. */
  done(worker: number, id: number): void {
    const mine = this.grants.get(worker);
    const bytes = mine?.get(id);
    if (mine === undefined || bytes === undefined) return;
    mine.delete(id);
    this.held -= bytes;
    if (mine.size === 0) this.grants.delete(worker);
  }

  /** The worker is gone: everything it held is free. */
  workerGone(worker: number): void {
    const mine = this.grants.get(worker);
    if (!mine) return;
    for (const bytes of mine.values()) this.held -= bytes;
    this.grants.delete(worker);
  }

  /** Bytes `worker` holds now. */
  heldBy(worker: number): number {
    let n = 0;
    for (const bytes of this.grants.get(worker)?.values() ?? []) n += bytes;
    return n;
  }
}
