/** The `admission` keys of services[0].conf: the memory budget, shedding and the connection cap (README: Memory model). */
import { anyOf, int, num, obj, str, type Infer } from './shape';

const SIZE_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(b|kb|mb|gb)?\\s*$';
/** A size in bytes: a number, or a string such as 64kb (lib/config/load.ts parseSize); 0 where a key allows it means "derive it". */
const size = <D extends number | string>(def: D, description: string) => anyOf(int({ minimum: 0 }), str({ pattern: SIZE_PATTERN }), { default: def, description });

/**
 * What a worker takes in at once (README: Memory model). Grouped so that the
 * memory model is one object to read and to set.
 */
export const admissionSchema = obj(
  {
    memory_limit: size(
      0,
      "Memory of the whole service (master and workers). 0: the container's limit (the process's memory cgroup, v2 memory.max or v1 memory.limit_in_bytes), else the machine's memory.",
    ),
    memory_headroom: num({
      minimum: 0,
      maximum: 0.9,
      default: 0.1,
      description: 'Share of memory_limit left unplanned: page cache, GC timing, allocator slack.',
    }),
    master_memory: size(
      '32mb',
      "Memory counted for the master (with num_workers 0: not counted): its heap and node's code pages. Measured idle in a memory cgroup: ~24 MiB of anonymous memory.",
    ),
    worker_memory: size(
      '56mb',
      'Memory counted for an idle worker (heap, one idle pool thread, sockets), before any body. Measured idle in a memory cgroup: ~39 MiB of anonymous memory.',
    ),
    body_memory: size(
      0,
      "Per worker: the memory request bodies may take, counted as body bytes x body_expansion. 0: derived (README: Memory model): with num_workers 0 what is left of memory_limit for the one process; with a master, the workers share what is left beside their small reserves, granted by the master body by body.",
    ),
    body_expansion: num({
      minimum: 1,
      default: 11,
      description:
        'Memory a body costs per byte from its arrival to its answer (the bytes, the parsed events, validation, serialized values, young-generation copies): measured ~11 for 9.5 MB batches in a pool thread.',
    }),
    small_body_size: size('64kb', 'A body of at most this size (declared, or read so far) is small: it may use small_reserve, which large bodies may not.'),
    small_reserve: size('4mb', 'Part of body_memory that only small bodies may take, so that large batches never starve single events.'),
    max_event_loop_delay_ms: int({
      minimum: 0,
      default: 1000,
      description: 'While the event loop lags by more than this, new requests get 503 with Retry-After (/healthz and /readyz are answered). 0: never.',
    }),
    max_connections: int({
      minimum: 0,
      default: 1000,
      description:
        'Open connections per worker. At the cap, the connection idle longest is closed to make room; with none idle, the new one is answered 503 with Retry-After and closed. 0: no cap.',
    }),
    retry_after_s: int({ minimum: 1, default: 2, description: 'Retry-After (seconds) of the 503s above.' }),
  },
  { defaulted: true },
);

export type AdmissionConf = Infer<typeof admissionSchema>;
