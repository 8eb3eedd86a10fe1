/**
 * `npm run bench`: for each event set and body kind, drives the ceiling
 * server and then eventgate with the same bodies, and prints the table and
 * eventgate's share of the ceiling. Never fails on a missed target; exits 1
 * only when something could not run.
 */
import { existsSync, mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventSets, exampleEvent, makeBodies, schemaFileOf, type EventSet, type Kind } from './events';
import { best, measure, quiet, type Load, type Measurement } from './measure';
import { parseOptions, USAGE, type Options } from './options';
import { hasThreadPool } from './config';
import { canPin } from './procs';
import { formatTable, formatVerdicts, formatWarnings, writeJson, type Scenario } from './report';
import { startCeiling, startEventgate, type Eventgate, type Server } from './servers';

/** The compiled file is dist/bench/run.js. */
const REPO = resolve(__dirname, '..', '..');

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);

interface Cpus {
  readonly server: number | undefined;
  readonly generator: number | undefined;
}

function sinkBytes(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

function emptySink(file: string): void {
  if (existsSync(file)) truncateSync(file, 0);
}

/** One row pair: ceiling then eventgate on the same bodies, `repeat` times, best of each kept. */
interface SetRun {
  readonly set: EventSet;
  readonly example: Record<string, unknown>;
  readonly ceiling: Server;
  readonly eventgate: Eventgate;
}

async function runKind(run: SetRun, kind: Kind, opts: Options, at: Cpus): Promise<Scenario> {
  const { example, ceiling, eventgate } = run;
  const bodies = makeBodies(example, kind, opts.batchSize, opts.bodies);
  const load: Load = {
    bodies,
    eventsPerBody: kind === 'single' ? 1 : opts.batchSize,
    connections: opts.connections,
    warmupMs: opts.warmupS * 1000,
    durationMs: opts.durationS * 1000,
    cpu: at.generator,
    spin: opts.spin,
  };
  const sink = eventgate.config.sinkFile;
  let c: Measurement | undefined;
  let e: Measurement | undefined;
  let written = 0;
  for (let i = 1; i <= opts.repeat; i++) {
    const of = opts.repeat > 1 ? ` (run ${i}/${opts.repeat})` : '';
    progress(`${run.set.name} ${kind}: ceiling${of}`);
    await quiet(opts.quietWaitS, progress);
    c = best(c, await measure(ceiling, load));
    progress(`${run.set.name} ${kind}: eventgate${of}`);
    emptySink(sink);
    await quiet(opts.quietWaitS, progress);
    const m = await measure(eventgate, load);
    if (best(e, m) === m) {
      e = m;
      written = sinkBytes(sink);
    }
    emptySink(sink);
  }
  if (!c || !e) throw new Error('nothing was measured');
  const meanBodyBytes = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0) / bodies.length;
  return { set: run.set.name, kind, eventsPerBody: load.eventsPerBody, meanBodyBytes, ceiling: c, eventgate: e, sinkBytes: written };
}

async function runSet(set: EventSet, opts: Options, ceiling: Server, tmp: string, at: Cpus): Promise<Scenario[]> {
  const example = exampleEvent(set);
  progress(`${set.name}: starting eventgate (${set.description})`);
  const eventgate = await startEventgate(REPO, tmp, set, { cpu: at.server, nodeArgs: opts.serverNodeArgs, threadPool: opts.threadPool });
  const out: Scenario[] = [];
  try {
    for (const kind of opts.kinds) out.push(await runKind({ set, example, ceiling, eventgate }, kind, opts, at));
  } finally {
    await eventgate.stop();
  }
  return out;
}

function selectedSets(opts: Options): EventSet[] {
  return eventSets(REPO, opts.wmfSchemas).filter((s) => {
    if (!opts.sets.includes(s.name)) return false;
    if (existsSync(schemaFileOf(s))) return true;
    progress(`skipping set ${s.name}: ${schemaFileOf(s)} not found`);
    return false;
  });
}

function metaOf(opts: Options, pinned: boolean): Record<string, unknown> {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? '?'}`,
    pinned: pinned ? 'server on cpu 0, generator on cpu 1' : 'no',
    thread_pool: !hasThreadPool() ? 'not in this build' : opts.threadPool ? 'on' : 'off',
    duration_s: opts.durationS,
    warmup_s: opts.warmupS,
    connections: opts.connections,
    batch_size: opts.batchSize,
    repeat: opts.repeat,
    spin: opts.spin,
    server_node_args: opts.serverNodeArgs.join(' '),
    ceiling_node_args: opts.ceilingNodeArgs.join(' '),
  };
}

/** Every selected set against one ceiling; a set that fails is reported and the others still run. */
async function runAll(opts: Options, at: Cpus): Promise<{ scenarios: Scenario[]; failed: number }> {
  const tmp = mkdtempSync(join(tmpdir(), 'eventgate-bench-'));
  const scenarios: Scenario[] = [];
  let failed = 0;
  try {
    const ceiling = await startCeiling(at.server, opts.ceilingNodeArgs);
    try {
      for (const set of selectedSets(opts)) {
        try {
          scenarios.push(...(await runSet(set, opts, ceiling, tmp, at)));
        } catch (err) {
          failed++;
          progress(`set ${set.name} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    } finally {
      await ceiling.stop();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { scenarios, failed };
}

async function main(): Promise<void> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2), process.env, REPO);
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const pinned = opts.pin && cpus().length >= 2 && canPin();
  const at: Cpus = { server: pinned ? 0 : undefined, generator: pinned ? 1 : undefined };
  const meta = metaOf(opts, pinned);
  process.stdout.write(
    `eventgate bench: node ${process.version}, ${String(meta.cpus)}; pinned: ${String(meta.pinned)}; thread pool: ${String(meta.thread_pool)}\n` +
      `${opts.connections} keep-alive connections, ${opts.warmupS} s warm-up + ${opts.durationS} s per row` +
      `${opts.repeat > 1 ? `, best of ${opts.repeat}` : ''}\n\n`,
  );

  const { scenarios, failed } = await runAll(opts, at);
  if (scenarios.length > 0) {
    const warnings = formatWarnings(scenarios, opts.spin);
    process.stdout.write(`${formatTable(scenarios)}\n\n${formatVerdicts(scenarios)}\n${warnings ? `\n${warnings}\n` : ''}`);
  }
  if (opts.json) {
    writeJson(opts.json, meta, scenarios);
    process.stdout.write(`\nJSON summary: ${opts.json}\n`);
  }
  // A missed target is not a failure; a set that could not run is.
  if (failed > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
