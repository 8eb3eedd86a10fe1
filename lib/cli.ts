import yargs from 'yargs';
import { EventGateError } from './errors';
import { loadConfigFile, type LoadedConfig } from './config/load';
import { createLogger } from './log';
import { MemoryMetrics } from './metrics/memory';
import { SERVICE_INFO } from './service';
import { runSingleProcess } from './supervisor/single';

interface RunArgs {
  config: string;
  checkConfig: boolean;
}

/** Prints every problem of a config and sets the exit code; no service is started. */
async function checkConfig(path: string): Promise<void> {
  try {
    await loadConfigFile(path);
    process.stdout.write(`${path}: config is valid\n`);
    process.exitCode = 0;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

async function run(args: RunArgs): Promise<void> {
  if (args.checkConfig) return checkConfig(args.config);
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfigFile(args.config);
  } catch (err) {
    // No logger config yet: the problem goes to stderr as plain text.
    process.stderr.write(`eventgate: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const log = createLogger(loaded.config.logging, { pid: process.pid });
  // statsd arrives with the supervisor; until then the metric calls are kept in memory.
  const metrics = new MemoryMetrics();
  try {
    await runSingleProcess(loaded, log, metrics);
  } catch (err) {
    log.fatal({ err, code: err instanceof EventGateError ? err.code : undefined }, 'eventgate could not start');
    process.exit(1);
  }
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
      (argv) => run({ config: argv.config, checkConfig: argv['check-config'] }),
    )
    .parseAsync();
}
