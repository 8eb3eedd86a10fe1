import yargs from 'yargs';
import { configReport } from './check-config';
import { codeOf, messageOf } from './errors';
import { loadConfigFile, type LoadedConfig } from './config/load';
import { logStreamOf } from './config/outputs';
import { createLogger } from './log';
import { ReloadableMetrics } from './metrics/factory';
import { failedReport, replaySpool, type ReplayReport } from './replay';
import { budgetLine } from './memory/budget';
import { budgetOf, SERVICE_INFO } from './service';
import { runMaster } from './supervisor/master';
import { desiredWorkers, isWorkerCountSpec, type RunOptions } from './supervisor/options';
import { runSingleProcess } from './supervisor/single';
import type { LogEvent } from './log-events';

interface RunArgs {
  config: string;
  checkConfig: boolean;
  /** `-n`: worker count spec, wins over num_workers. */
  numWorkers?: string;
  debug: boolean;
}

/**
 * Prints the migration report of a config (check-config.ts): problems on
 * stderr, accepted keys with no effect on stdout; exit 1 when there is a
 * problem, 0 with notes only. No service is started.
 */
async function checkConfig(path: string): Promise<void> {
  const { problems, notes, loaded } = await configReport(path);
  if (notes.length > 0) {
    process.stdout.write(`${path}: accepted, no effect here:\n${notes.map((n) => `  note: ${n.path}: ${n.reason}\n`).join('')}`);
  }
  if (problems.length > 0) {
    process.stderr.write(`${path}: start would refuse this config:\n${problems.map((p) => `  ${p}\n`).join('')}`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${path}: config is valid\n`);
  if (loaded) process.stdout.write(`${budgetLine(budgetOf(loaded, desiredWorkers(loaded.config, {})))}\n`);
  process.exitCode = 0;
}

async function run(args: RunArgs): Promise<void> {
  if (args.checkConfig) return checkConfig(args.config);
  if (args.numWorkers !== undefined && !isWorkerCountSpec(args.numWorkers)) {
    process.stderr.write(`eventgate: -n ${args.numWorkers}: use a number, ncpu or ncpu*K\n`);
    process.exit(1);
  }
  const options: RunOptions = { numWorkers: args.numWorkers, debug: args.debug };
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfigFile(args.config);
  } catch (err) {
    // No logger config yet: the problem goes to stderr as plain text.
    process.stderr.write(`eventgate: ${messageOf(err)}\n`);
    process.exit(1);
  }
  // worker_id 0: the master, or the one process; workers log with their own id.
  const log = createLogger(loaded.config.logging, { worker_id: 0 }, logStreamOf(loaded.config));
  if (loaded.notes?.length) {
    log.warn({ event: 'config_notes' satisfies LogEvent, notes: loaded.notes }, 'config keys accepted that have no effect here (eventgate --check-config lists them)');
  }
  const metrics = new ReloadableMetrics(loaded.config.metrics, log);
  try {
    if (desiredWorkers(loaded.config, options) === 0) await runSingleProcess(loaded, log, metrics, options);
    else await runMaster(loaded, log, metrics, options);
  } catch (err) {
    log.fatal({ event: 'process.start_failed' satisfies LogEvent, err, code: codeOf(err) }, 'eventgate could not start');
    process.exit(1);
  }
}

/**
 * `eventgate replay FILE`: stdout holds its JSON report and nothing else, also
 * when it fails (the report then has `error`), so `| jq` always reads one
 * document; logs go to stderr. Exit 0 when every event went in, 1 otherwise.
 */
async function replay(file: string, configPath: string): Promise<void> {
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfigFile(configPath);
  } catch (err) {
    process.stderr.write(`eventgate: ${messageOf(err)}\n`);
    process.stdout.write(`${JSON.stringify(failedReport(file, err))}\n`);
    process.exit(1);
  }
  // stdout is the report's alone: logging.streams (stdout among them, often) give way to stderr.
  const log = createLogger({ ...loaded.config.logging, streams: [] }, { worker_id: 0, command: 'replay' }, 'stderr');
  // A one-off command serves no scrape endpoint: Prometheus would see it come and go.
  const metrics = new ReloadableMetrics(loaded.config.metrics, log, { kind: 'tool' });
  let report: ReplayReport;
  try {
    report = await replaySpool(file, loaded, { log, metrics });
  } catch (err) {
    report = failedReport(file, err);
  }
  if (report.error) log.fatal({ event: 'replay.failed' satisfies LogEvent, code: report.error.code, file: report.file, msg_detail: report.error.message }, 'replay failed');
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exitCode = report.failed_file || report.error ? 1 : 0;
  await metrics.close();
  // Producers' background timers must not keep a finished command alive.
  process.exit();
}

export function main(argv: string[]): void {
  void yargs(argv)
    .scriptName('eventgate')
    .usage('$0 -c config.yaml\n\nValidates JSON events against their schemas and produces the valid ones.')
    .option('config', {
      alias: 'c',
      type: 'string',
      default: './config.yaml',
      describe: 'Config file (YAML)',
    })
    .option('num-workers', {
      alias: 'n',
      type: 'string',
      describe: 'Worker processes: a number, ncpu or ncpu*K; 0 runs one process (overrides num_workers)',
    })
    .option('debug', {
      type: 'boolean',
      default: false,
      describe: 'Start workers with the inspector and profiling flags (as debug_mode: true)',
    })
    .option('check-config', {
      type: 'boolean',
      default: false,
      describe: 'Validate the config file, list every problem, exit 0 or 1',
    })
    .version(SERVICE_INFO.version)
    .help()
    .alias('h', 'help')
    .strict()
    .command(
      '$0',
      'Run the service',
      () => {},
      (argv) => run({ config: argv.config, checkConfig: argv['check-config'], numWorkers: argv['num-workers'], debug: argv.debug }),
    )
    .command(
      'replay <file>',
      'Produce the events of a failed-events spool file again; failures go to a new file',
      (y) => y.positional('file', { type: 'string', demandOption: true, describe: 'Spool file (failed_events_path)' }),
      (argv) => replay(argv.file, argv.config),
    )
    .parseAsync();
}
