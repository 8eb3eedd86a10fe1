/** How many threads a pool has when max_threads leaves it to us. */
import { availableParallelism } from 'node:os';

/**
 * Threads per HTTP worker when `max_threads` is 0: the cores shared out
 * among the worker processes, at least one. `num_workers: ncpu` (or ncpu*K)
 * leaves one thread per worker.
 */
export function defaultThreads(workers: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor(cores / Math.max(1, workers)));
}

/** How many HTTP worker processes `num_workers` asks for; 0 (one process) counts as one. */
export function workersOf(numWorkers: number | string, cores = availableParallelism()): number {
  // Any string is ncpu or ncpu*K (the config schema checks), so at least one per core.
  return typeof numWorkers === 'number' ? Math.max(1, numWorkers) : cores;
}
