/** The eventgate config the bench runs with, written into its temp folder. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serviceConfSchema } from '../lib/config/schema';
import type { EventSet } from './events';

export interface BenchConfig {
  readonly path: string;
  /** The file sink's output (NDJSON of accepted events). */
  readonly sinkFile: string;
}

/** Whether this build has the large-batch thread pool (`batch.thread_pool`). */
export function hasThreadPool(): boolean {
  const props = serviceConfSchema.schema.properties as Record<string, unknown> | undefined;
  return props?.batch !== undefined;
}

/**
 * config.dev.yaml's shape, changed only where a benchmark needs it: one
 * process, warn-level logs (no line per request), a file sink in the temp
 * folder, one schema base and the benchmarked schema precached, and the
 * thread pool only when asked for (the targets are for one process on one
 * core, like the ceiling). JSON is YAML, so the file is written as JSON.
 */
export function writeConfig(
  dir: string,
  set: EventSet,
  port: number,
  threadPool: boolean,
  /** Further service conf keys (e.g. `kafka`, `topic_prefix`), merged over the defaults above. */
  extraConf: Readonly<Record<string, unknown>> = {},
  /** Further top-level keys (bench/pool.ts: `num_workers`), merged over the defaults above. */
  extraTop: Readonly<Record<string, unknown>> = {},
): BenchConfig {
  const sinkFile = join(dir, `${set.name}-events.ndjson`);
  const config = {
    num_workers: 0,
    logging: { name: 'eventgate-bench', level: 'warn' },
    services: [
      {
        name: 'eventgate',
        conf: {
          port,
          interface: '127.0.0.1',
          schema_base_uris: [set.schemaBase],
          schema_file_extension: '.yaml',
          schema_precache_uris: [set.schemaUri],
          allow_insecure_schemas: set.allowInsecure,
          stream_field: 'meta.stream',
          output_path: sinkFile,
          max_body_size: '10mb',
          ...(hasThreadPool() ? { batch: { thread_pool: { enabled: threadPool } } } : {}),
          ...extraConf,
        },
      },
    ],
    ...extraTop,
  };
  const path = join(dir, `${set.name}.config.yaml`);
  writeFileSync(path, JSON.stringify(config, null, 2) + '\n');
  return { path, sinkFile };
}
