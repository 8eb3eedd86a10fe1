/**
 * The memory budget of one worker (README: Memory model). The service's
 * memory (admission.memory_limit, else the container's limit, else the
 * machine's) less a headroom, less the master, is shared out among the
 * workers. With no master (num_workers 0) the one process's share, less what
 * it takes idle, is what its request bodies may take, each counted as its
 * bytes x body_expansion. With a master, each worker keeps only its small
 * reserve; the rest is one pool shared by all workers, granted by the master
 * body by body (lib/memory/ledger.ts), so that one large body at a time fits
 * where a static share per worker would fit none.
 */
import { totalmem } from 'node:os';
import type { AdmissionConf } from '../config/admission';
import type { ThreadPoolConf } from '../config/schema';
import { containerMemoryLimit, type MemoryLimit } from './limit';

const MiB = 1024 * 1024;

export interface MemoryBudget {
  /** The service's memory and where it was read. */
  readonly totalBytes: number;
  readonly source: 'config' | 'cgroup' | 'machine';
  readonly sourceFile?: string;
  readonly workers: number;
  /** What this worker's bodies may take (bytes x expansion), at least 0. */
  readonly bodyBytes: number;
  /**
   * With a master: the pool all workers' large bodies share (the master's
   * ledger grants it); bodyBytes is then what one worker may hold at most
   * (its small reserve and the whole pool). 0: no master, no sharing.
   */
  readonly sharedBytes: number;
  /** Part of bodyBytes that only small bodies may take. */
  readonly smallReserve: number;
  readonly smallBodySize: number;
  readonly expansion: number;
  /** Largest body a large request may have: (bodyBytes - smallReserve) / expansion. */
  readonly largestBody: number;
  /** max_body_size, which largestBody should not be below. */
  readonly maxBodySize: number;
  /** Pool threads: as configured, but no more than the budget pays for (each may hold a max_body_size batch). */
  readonly threads: number;
  /** Per-thread V8 limits the budget implies (MiB); undefined: leave as configured. */
  readonly youngGenerationMb: number | undefined;
  readonly heapLimitMb: number | undefined;
  /**
   * Pool threads exit as soon as they are idle (min_threads 0, idle_timeout_ms
   * 0): a thread keeps the heap of its last batch (~100 MB after a 9.5 MB one,
   * measured) until it exits, memory no grant counts. One worker's thread
   * reuses it for its next batch; beside other workers it would hold what the
   * shared pool grants to them. So where the pool cannot hold a max-size body
   * for every worker, an idle thread gives its heap back.
   */
  readonly retireIdleThreads: boolean;
}

/** A size key of `admission` (0: derive) in bytes. */
type SizeOf = (size: number | string) => number;

export interface BudgetInput {
  readonly admission: AdmissionConf;
  readonly maxBodySize: number;
  readonly threadPool: ThreadPoolConf;
  /** HTTP worker processes; 0: one process, no master. */
  readonly numWorkers: number;
  readonly sizeOf: SizeOf;
  /** The container's limit (tests pass one); default: read it. */
  readonly limit?: MemoryLimit | null;
  readonly machineBytes?: number;
  /** Threads the pool would have without a budget (max_threads, or its default). */
  readonly threads: number;
}

export function memoryBudget(input: BudgetInput): MemoryBudget {
  const { admission: a, maxBodySize, sizeOf } = input;
  const configured = sizeOf(a.memory_limit);
  const limit = input.limit === undefined ? containerMemoryLimit() : (input.limit ?? undefined);
  const machine = input.machineBytes ?? totalmem();
  const [totalBytes, source, sourceFile] =
    configured > 0
      ? ([configured, 'config', undefined] as const)
      : limit && limit.bytes < machine
        ? ([limit.bytes, 'cgroup', limit.source] as const)
        : ([machine, 'machine', undefined] as const);
  const workers = Math.max(1, input.numWorkers);
  const master = input.numWorkers > 0 ? sizeOf(a.master_memory) : 0;
  const planned = totalBytes * (1 - a.memory_headroom) - master;
  const share = planned / workers - sizeOf(a.worker_memory);
  const shared = input.numWorkers > 0;
  // body_memory set: per worker, as without a master; the pool is that less the reserve, times the workers.
  const perWorker = sizeOf(a.body_memory) > 0 ? sizeOf(a.body_memory) : share;
  const reserve = sizeOf(a.small_reserve);
  const sharedBytes = shared ? Math.max(0, Math.floor(sizeOf(a.body_memory) > 0 ? (perWorker - reserve) * workers : planned - workers * (sizeOf(a.worker_memory) + reserve))) : 0;
  const bodyBytes = Math.max(0, Math.floor(shared ? Math.min(reserve, Math.max(0, perWorker)) + sharedBytes : perWorker));
  const smallReserve = Math.min(bodyBytes, reserve);
  const expansion = a.body_expansion;
  const perLargeBody = Math.max(1, maxBodySize * expansion);
  const threads = Math.min(input.threads, Math.max(1, Math.floor((bodyBytes - smallReserve) / perLargeBody)));
  const tp = input.threadPool;
  // A thread's young generation is committed as it grows and stays: where a thread is allowed
  // little, it gets V8's own size (16 MB) rather than the configured one.
  const youngCap = Math.max(16, Math.floor(bodyBytes / MiB / 8));
  const youngGenerationMb = tp.young_generation_mb > 0 && tp.young_generation_mb > youngCap ? youngCap : undefined;
  // Without a configured heap limit, a thread's old generation (V8's default: a share of the
  // machine, not of the container) is bounded by what one max-size batch needs, or the thread's
  // part of the budget where that is more: GC then runs before the heap outgrows the budget.
  const heapLimitMb =
    tp.heap_limit_mb > 0 ? undefined : Math.max(64 + Math.ceil((6 * maxBodySize) / MiB), Math.floor(bodyBytes / MiB / threads));
  const retireIdleThreads = shared && workers > 1 && sharedBytes < workers * perLargeBody;
  return {
    totalBytes,
    source,
    sourceFile,
    workers,
    bodyBytes,
    sharedBytes,
    smallReserve,
    smallBodySize: sizeOf(a.small_body_size),
    expansion,
    largestBody: Math.floor((bodyBytes - smallReserve) / expansion),
    maxBodySize,
    threads,
    youngGenerationMb,
    heapLimitMb,
    retireIdleThreads,
  };
}

/** The budget as a log line's fields (and --check-config's line), in MiB where it is memory. */
export function budgetFields(b: MemoryBudget): Record<string, number | string> {
  const mib = (n: number) => Math.round((n / MiB) * 10) / 10;
  return {
    memory_mib: mib(b.totalBytes),
    memory_source: b.sourceFile ?? b.source,
    workers: b.workers,
    body_memory_mib: mib(b.bodyBytes),
    shared_body_memory_mib: mib(b.sharedBytes),
    small_reserve_mib: mib(b.smallReserve),
    largest_body_mib: mib(b.largestBody),
    pool_threads: b.threads,
  };
}

/** What --check-config says of the budget: one line an operator reads against the pod's limit. */
export function budgetLine(b: MemoryBudget): string {
  const mib = (n: number) => `${(n / MiB).toFixed(0)} MiB`;
  const from = b.source === 'cgroup' ? `the container's limit (${b.sourceFile})` : b.source === 'config' ? 'admission.memory_limit' : "the machine's memory";
  return (
    `memory budget: ${mib(b.totalBytes)} from ${from}; ` +
    (b.sharedBytes > 0
      ? `${b.workers} worker(s) share ${mib(b.sharedBytes)} for large request bodies, granted by the master, each keeping ${mib(b.smallReserve)} for small ones (bytes x ${b.expansion})`
      : `each of ${b.workers} worker(s) holds request bodies up to ${mib(b.bodyBytes)} (bytes x ${b.expansion}, ${mib(b.smallReserve)} kept for small ones)`) +
    `: the largest body it can take is ${mib(b.largestBody)}, ${b.threads} pool thread(s)` +
    (b.largestBody < b.maxBodySize ? `; below max_body_size (${mib(b.maxBodySize)}): larger bodies get 413 EG_ERR_BODY_OVER_BUDGET` : '')
  );
}
