/**
 * `npm run bench:kafka`: eventgate producing to a real local Kafka broker.
 * Starts a private broker (test/kafka/broker.sh via test/kafka/fixture.ts;
 * or uses EVENTGATE_TEST_KAFKA when set), starts eventgate on the bundled
 * test schema with kafka.conf pointing at it and a unique topic_prefix, and
 * measures guaranteed and hasty (`?hasty=true`) requests, single events and
 * batches. Hasty answers 202 before producing, so its rows measure intake,
 * not delivery. Never fails on numbers; exits 1 only when something could
 * not run. The broker and eventgate are always stopped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startBroker, stopBroker } from '../test/kafka/fixture';
import { eventSets, exampleEvent, makeBodies, type Kind } from './events';
import { measure, type Measurement } from './measure';
import { parseOptions, USAGE, type Options } from './options';
import { canPin } from './procs';
import { MEASUREMENT_HEADER, measurementCells, table } from './report';
import { startEventgate, type Eventgate } from './servers';

/** The compiled file is dist/bench/kafka.js. */
const REPO = resolve(__dirname, '..', '..');
const progress = (line: string) => process.stderr.write(`bench:kafka: ${line}\n`);

type Mode = 'guaranteed' | 'hasty';
const MODES: readonly Mode[] = ['guaranteed', 'hasty'];

interface Row {
  readonly mode: Mode;
  readonly kind: Kind;
  readonly eventsPerBody: number;
  readonly m: Measurement;
}

interface Cpus {
  readonly server: number | undefined;
  readonly generator: number | undefined;
}

async function runRows(eventgate: Eventgate, example: Record<string, unknown>, opts: Options, at: Cpus): Promise<Row[]> {
  const rows: Row[] = [];
  for (const mode of MODES) {
    for (const kind of opts.kinds) {
      const eventsPerBody = kind === 'single' ? 1 : opts.batchSize;
      progress(`${mode} ${kind}`);
      const m = await measure(eventgate, {
        bodies: makeBodies(example, kind, opts.batchSize, opts.bodies),
        eventsPerBody,
        connections: opts.connections,
        warmupMs: opts.warmupS * 1000,
        durationMs: opts.durationS * 1000,
        cpu: at.generator,
        spin: opts.spin,
        path: mode === 'hasty' ? '/v1/events?hasty=true' : '/v1/events',
      });
      rows.push({ mode, kind, eventsPerBody, m });
    }
  }
  return rows;
}

function formatRows(rows: readonly Row[]): string {
  const out = [['mode', 'kind', 'answer', ...MEASUREMENT_HEADER]];
  for (const r of rows) {
    const answer = r.mode === 'hasty' ? '202 before produce' : 'after delivery';
    out.push([r.mode, `${r.kind} (${r.eventsPerBody})`, answer, ...measurementCells(r.m)]);
  }
  return table(out);
}

function formatWarnings(rows: readonly Row[]): string {
  const out: string[] = [];
  for (const r of rows) {
    const { m } = r;
    if (m.non2xx || m.errors) {
      out.push(`${r.mode} ${r.kind}: ${m.non2xx} non-2xx, ${m.errors} errors; first: ${m.firstNon2xx ?? m.firstError ?? '?'}`);
    }
  }
  return out.length ? `warnings:\n  ${out.join('\n  ')}` : '';
}

/** eventgate against `bootstrap`, the rows measured, eventgate stopped. */
async function runAgainst(bootstrap: string, opts: Options, at: Cpus): Promise<Row[]> {
  const set = eventSets(REPO, opts.wmfSchemas).find((s) => s.name === 'test');
  if (!set) throw new Error('no test event set');
  const tmp = mkdtempSync(join(tmpdir(), 'eventgate-bench-kafka-'));
  let eventgate: Eventgate | undefined;
  try {
    const topicPrefix = `bench.${Date.now().toString(36)}.`;
    progress(`starting eventgate (kafka ${bootstrap}, topic prefix ${topicPrefix})`);
    eventgate = await startEventgate(REPO, tmp, set, {
      cpu: at.server,
      nodeArgs: opts.serverNodeArgs,
      threadPool: opts.threadPool,
      conf: { topic_prefix: topicPrefix, kafka: { conf: { 'metadata.broker.list': bootstrap } } },
    });
    return await runRows(eventgate, exampleEvent(set), opts, at);
  } finally {
    if (eventgate) await eventgate.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  let opts: Options;
  try {
    // The shared flags; 5 s per row unless told otherwise. --sets is ignored: the bundled test schema only.
    opts = parseOptions(process.argv.slice(2), { BENCH_DURATION: '5', ...process.env }, REPO);
  } catch (err) {
    process.stderr.write(`bench:kafka: ${(err as Error).message}\n\n${USAGE.replace('npm run bench', 'npm run bench:kafka')}\n`);
    process.exitCode = 2;
    return;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE.replace('npm run bench', 'npm run bench:kafka')}\n`);
    return;
  }
  const pinned = opts.pin && cpus().length >= 2 && canPin();
  const at: Cpus = { server: pinned ? 0 : undefined, generator: pinned ? 1 : undefined };

  let brokerDir: string | undefined;
  let rows: Row[];
  try {
    let bootstrap = process.env.EVENTGATE_TEST_KAFKA;
    if (!bootstrap) {
      progress('starting a private Kafka broker (test/kafka/broker.sh)');
      const started = Date.now();
      const broker = await startBroker();
      brokerDir = broker.dir;
      bootstrap = broker.bootstrap;
      progress(`broker at ${bootstrap}, ready in ${Date.now() - started} ms`);
    }
    process.stdout.write(
      `eventgate kafka bench: node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}; ` +
        `pinned: ${pinned ? 'server on cpu 0, generator on cpu 1 (broker unpinned)' : 'no'}\n` +
        `broker ${bootstrap}${brokerDir ? ' (private)' : ' (EVENTGATE_TEST_KAFKA)'}; ` +
        `${opts.connections} keep-alive connections, ${opts.warmupS} s warm-up + ${opts.durationS} s per row\n\n`,
    );
    rows = await runAgainst(bootstrap, opts, at);
  } finally {
    if (brokerDir) {
      progress('stopping the broker');
      await stopBroker(brokerDir);
    }
  }
  const warnings = formatWarnings(rows);
  process.stdout.write(
    `${formatRows(rows)}\n\n` +
      'guaranteed: 2xx after Kafka acknowledged every event; hasty: 202 as soon as the events are\n' +
      'validated, before they are produced: its events/s and latency are intake, not delivery.\n' +
      (warnings ? `\n${warnings}\n` : ''),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:kafka failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
