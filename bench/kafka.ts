/**
 * `npm run bench:kafka`: eventgate producing to a real local Kafka, beside
 * eventgate's file sink measured in the same run on the same bodies. Starts
 * a private broker (test/kafka/broker.sh via test/kafka/fixture.ts; or uses
 * EVENTGATE_TEST_KAFKA when set) or, with --cluster, the 3-node cluster of
 * test/kafka/cluster.ts; measures the file sink, then guaranteed and hasty
 * (`?hasty=true`) requests, single events and batches, and prints each Kafka
 * row as a share of the file sink's row of the same kind. Hasty answers 202
 * before producing, so its rows measure intake, not delivery. Never fails on
 * numbers; exits 1 only when something could not run. Kafka and eventgate
 * are always stopped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventSets, exampleEvent, makeBodies, type EventSet, type Kind } from './events';
import { describeTopic, startKafka, type BenchKafka } from './kafka-brokers';
import { formatRows, formatTargets, formatWarnings, writeJson, type KafkaRow, type Path } from './kafka-report';
import { best, measure, quiet, type Load, type Measurement } from './measure';
import { parseOptions, USAGE, type Options } from './options';
import { canPin } from './procs';
import { startEventgate } from './servers';

/** The compiled file is dist/bench/kafka.js. */
const REPO = resolve(__dirname, '..', '..');
const progress = (line: string) => process.stderr.write(`bench:kafka: ${line}\n`);

const KAFKA_USAGE =
  `${USAGE.replace('npm run bench', 'npm run bench:kafka')}\n\n` +
  '  --cluster            the 3-node cluster (RF 3, acks=all)   BENCH_KAFKA_CLUSTER=1\n' +
  '                       instead of the single broker\n' +
  '  BENCH_KAFKA_SECTION  JSON merged into the kafka config section, to compare settings\n' +
  '                       (e.g. \'{"hasty":{"conf":{"linger.ms":5}}}\'); printed with the results\n' +
  '  (--duration defaults to 5; --sets is ignored: the bundled test schema only)';

interface Cpus {
  readonly server: number | undefined;
  readonly generator: number | undefined;
}

interface Run {
  readonly set: EventSet;
  readonly bodies: ReadonlyMap<Kind, readonly string[]>;
  readonly opts: Options;
  readonly at: Cpus;
  readonly tmp: string;
}

/** One eventgate (the file sink without `conf`, else Kafka), one row per path and kind, eventgate stopped. */
async function runServer(run: Run, paths: readonly Path[], conf: Readonly<Record<string, unknown>> | undefined, watchPids: readonly number[]): Promise<KafkaRow[]> {
  const { opts, at } = run;
  const eventgate = await startEventgate(REPO, run.tmp, run.set, { cpu: at.server, nodeArgs: opts.serverNodeArgs, threadPool: opts.threadPool, conf });
  const rows: KafkaRow[] = [];
  try {
    for (const path of paths) {
      for (const kind of opts.kinds) {
        const eventsPerBody = kind === 'single' ? 1 : opts.batchSize;
        const load: Load = {
          bodies: run.bodies.get(kind) ?? [],
          eventsPerBody,
          connections: opts.connections,
          warmupMs: opts.warmupS * 1000,
          durationMs: opts.durationS * 1000,
          cpu: at.generator,
          spin: opts.spin,
          path: path === 'hasty' ? '/v1/events?hasty=true' : '/v1/events',
          watchPids,
        };
        let m: Measurement | undefined;
        for (let i = 1; i <= opts.repeat; i++) {
          progress(`${path} ${kind}${opts.repeat > 1 ? ` (run ${i}/${opts.repeat})` : ''}`);
          await quiet(opts.quietWaitS, progress);
          m = best(m, await measure(eventgate, load));
        }
        if (m) rows.push({ path, kind, eventsPerBody, m });
      }
    }
  } finally {
    await eventgate.stop();
  }
  return rows;
}

/** The file sink's rows, then Kafka's: the same bodies, connections and pinning. */
async function runAll(kafka: BenchKafka, opts: Options, at: Cpus, section: Readonly<Record<string, unknown>>): Promise<{ rows: KafkaRow[]; topic: string }> {
  const set = eventSets(REPO, opts.wmfSchemas).find((s) => s.name === 'test');
  if (!set) throw new Error('no test event set');
  const example = exampleEvent(set);
  const bodies = new Map(opts.kinds.map((kind) => [kind, makeBodies(example, kind, opts.batchSize, opts.bodies)] as const));
  const tmp = mkdtempSync(join(tmpdir(), 'eventgate-bench-kafka-'));
  try {
    const run: Run = { set, bodies, opts, at, tmp };
    progress('file sink: starting eventgate without kafka.conf');
    // The brokers' CPU is watched here too: an idle broker's background work is the baseline of its column.
    const fileRows = await runServer(run, ['file'], undefined, kafka.pids);
    const topicPrefix = `bench.${Date.now().toString(36)}.`;
    const stream = (example.meta as { stream: string }).stream;
    const topic = `${topicPrefix}${stream}`;
    await kafka.prepareTopic(topic);
    progress(`kafka: starting eventgate (kafka ${kafka.bootstrap}, topic prefix ${topicPrefix})`);
    const conf = { topic_prefix: topicPrefix, kafka: { ...section, conf: { ...(section.conf as object | undefined), 'metadata.broker.list': kafka.bootstrap } } };
    return { rows: [...fileRows, ...(await runServer(run, ['guaranteed', 'hasty'], conf, kafka.pids))], topic };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

interface Parsed {
  readonly opts: Options;
  readonly cluster: boolean;
  /** BENCH_KAFKA_SECTION: merged into the kafka config section. */
  readonly section: Readonly<Record<string, unknown>>;
}

function parse(argv: readonly string[], env: NodeJS.ProcessEnv): Parsed {
  const raw = env.BENCH_KAFKA_SECTION;
  const section: unknown = raw ? JSON.parse(raw) : {};
  if (typeof section !== 'object' || section === null || Array.isArray(section)) throw new Error('BENCH_KAFKA_SECTION must be a JSON object');
  const cluster = argv.includes('--cluster') || (env.BENCH_KAFKA_CLUSTER !== undefined && !['', '0'].includes(env.BENCH_KAFKA_CLUSTER));
  // The shared flags; 5 s per row unless told otherwise.
  const opts = parseOptions(argv.filter((a) => a !== '--cluster'), { BENCH_DURATION: '5', ...env }, REPO);
  return { opts, cluster, section: section as Record<string, unknown> };
}

async function main(): Promise<void> {
  let parsed: Parsed;
  try {
    parsed = parse(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`bench:kafka: ${(err as Error).message}\n\n${KAFKA_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const { opts, cluster, section } = parsed;
  if (opts.help) {
    process.stdout.write(`${KAFKA_USAGE}\n`);
    return;
  }
  const pinned = opts.pin && cpus().length >= 2 && canPin();
  const at: Cpus = { server: pinned ? 0 : undefined, generator: pinned ? 1 : undefined };

  progress(cluster ? 'starting the 3-node cluster (test/kafka/cluster.sh)' : 'starting Kafka');
  const started = Date.now();
  const kafka = await startKafka(cluster);
  let rows: KafkaRow[];
  let topicState: string;
  try {
    progress(`${kafka.description}, ready in ${Date.now() - started} ms`);
    process.stdout.write(
      `eventgate kafka bench: node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}; ` +
        `pinned: ${pinned ? 'server on cpu 0, generator on cpu 1 (Kafka unpinned)' : 'no'}\n` +
        `${kafka.description}\n` +
        (Object.keys(section).length ? `kafka section overrides (BENCH_KAFKA_SECTION): ${JSON.stringify(section)}\n` : '') +
        `${opts.connections} keep-alive connections, ${opts.warmupS} s warm-up + ${opts.durationS} s per row\n\n`,
    );
    const ran = await runAll(kafka, opts, at, section);
    rows = ran.rows;
    topicState = await describeTopic(kafka.bootstrap, ran.topic).catch((err: unknown) => `topic ${ran.topic}: not described (${String(err)})`);
  } finally {
    progress('stopping Kafka');
    await kafka.stop();
  }
  const warnings = formatWarnings(rows, opts.spin);
  process.stdout.write(
    `${formatRows(rows)}\n\n${formatTargets(rows)}\n\n${topicState}\n\n` +
      "file sink: eventgate without kafka.conf, writing NDJSON to a temp file; 'x file' is events/s\n" +
      "÷ the file sink's of the same kind, 'x file cpu' the file sink's srv µs/ev ÷ the row's.\n" +
      "guaranteed: 2xx after Kafka acknowledged every event (acks=all); hasty: 202 as soon as the events\n" +
      'are validated, before they are produced: its events/s and latency are intake, not delivery.\n' +
      "kafka µs/ev: CPU of the broker JVMs per event (not in 'other').\n" +
      (warnings ? `\n${warnings}\n` : ''),
  );
  if (opts.json) {
    const meta = {
      date: new Date().toISOString(),
      node: process.version,
      kafka: kafka.description,
      cluster,
      pinned,
      duration_s: opts.durationS,
      warmup_s: opts.warmupS,
      connections: opts.connections,
      batch_size: opts.batchSize,
      kafka_section: section,
    };
    writeJson(opts.json, meta, rows);
    process.stdout.write(`\nJSON summary: ${opts.json}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:kafka failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
