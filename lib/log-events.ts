/**
 * The `event` field of lifecycle log lines: a stable name for what happened,
 * so that tests, alerts and operators' queries match it rather than the
 * message, which may be reworded. A line names its event as
 * `{ event: 'worker.listening' satisfies LogEvent, ... }`: a misspelt name is
 * a compile error. docs/operations.md ("Log events") documents each one, and
 * a test keeps that table and this list in step.
 *
 * Dotted snake_case, named for the happening. `config_notes` and
 * `memory_budget` predate the scheme; README.md and docs/migrating.md name
 * them, so they keep their names.
 */
export const LOG_EVENTS = [
  // The master and the processes it runs.
  'master.starting',
  'master.started',
  'master.gave_up',
  'master.task_failed',
  'process.start_failed',
  'process.uncaught_error',
  'worker.forked',
  'worker.listening',
  'worker.draining_unasked',
  'worker.drained',
  'worker.drain_unclean',
  'worker.start_failed',
  'worker.start_retry',
  'worker.replacement_retry',
  'worker.exited_in_shutdown',
  'worker.died',
  'worker.killed',
  'worker.heap_over_limit',
  'worker.heap_limit_too_low',
  'worker.heap_backoff',
  'worker.heap_backoff_longer',
  'worker.heap_no_successor',
  'worker.ipc_error',
  'worker.stderr',
  'signal.ignored',
  // The graceful exit of any process (exit.ts).
  'shutdown.started',
  'shutdown.signal_merged',
  'shutdown.second_signal',
  'shutdown.timeout',
  'shutdown.failed',
  'shutdown.stopped',
  'shutdown.before_listening',
  // SIGHUP.
  'reload.started',
  'reload.no_file',
  'reload.refused',
  'reload.apply_failed',
  'reload.failed',
  'reload.done',
  'reload.num_workers_kept',
  'reload.address_kept',
  'roll.started',
  'roll.abandoned',
  'roll.done',
  // Debug mode and profiling.
  'debug.flags_ignored',
  'debug.logs_removed',
  'debug.logs_remove_failed',
  'v8log.named',
  'v8log.unnamed',
  // The service in a worker or the one process.
  'config_notes',
  'memory_budget',
  'memory_budget.below_max_body',
  'service.start_failed',
  'service.listening',
  'service.ready_timeout',
  'schema.base_missing',
  'schema.loaded',
  'schema.load_failed',
  'schema.ajv_log',
  'schema.ajv_warning',
  'schema.ajv_error',
  'stream_config.load_retry',
  'stream_config.changed',
  'stream_config.refresh_failed',
  'stream_config.warnings',
  'http.access',
  'metrics.listening',
  'metrics.listen_failed',
  'metrics.scrape_failed',
  'metrics.statsd_send_failed',
  'replay.failed',
] as const;

export type LogEvent = (typeof LOG_EVENTS)[number];
