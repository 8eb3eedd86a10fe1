/**
 * Faults of a replicated Kafka cluster (and of eventgate's own workers)
 * under load, with their ledger: the real `bin/eventgate` (2 workers,
 * guaranteed mode, acks=all, the spool on) takes a steady load while a fault
 * runs; then it is stopped gracefully (so the fate of every event is known:
 * delivered, or spooled), the topic is read back, the spool is read,
 * `eventgate replay` puts the spool back and the topic is read again.
 * Shared by test/e2e/kafka-cluster-faults.test.ts and bench/faults.ts.
 */
import { join } from 'node:path';
import { Eventgate, TempConfig, send } from '../helpers/eventgate-process';
import { until } from '../helpers/until';
import { NODE_IDS, type KafkaCluster, type NodeId } from '../kafka/cluster';
import { uniqueTopic } from './kafka';
import { LedgerLoad, spoolIds, topicIds, type RequestRecord } from './ledger';
import { eventgate, replayReport, type Exited } from '../helpers/kafka-service';

export const PRODUCE_TIMEOUT_MS = 3000;
export const STREAM = 'test.event';
const CONCURRENCY = 4;
/** 201 answers that show the service is taking events (before a fault, and again after it). */
const STEADY_201 = 30;

export type FaultName = 'leader-kill' | 'no-leader' | 'two-paused' | 'worker-kill' | 'rolling-restart';

/**
 * message.timeout.ms of the no-leader fault: past produce_timeout_ms (the answer comes first) and
 * far past any produce a working cluster answers, so that only events never sent time out.
 */
const MESSAGE_TIMEOUT_MS = 5000;

export interface FaultContext {
  readonly cluster: KafkaCluster;
  /** eventgate's failed-events spool. */
  readonly spoolPath: string;
  readonly topic: string;
  readonly service: Eventgate;
  readonly load: LedgerLoad;
}

export interface Fault {
  readonly name: FaultName;
  readonly title: string;
  /**
   * What the fault makes for sure, so that the checks on it have something to
   * check: events answered error, and a spool (which `eventgate replay` then
   * puts back). A fault without `spool` must leave the spool empty.
   */
  readonly makes: { readonly errors: boolean; readonly spool: boolean };
  /** librdkafka topic settings of this fault's eventgate (kafka.topic_conf). */
  readonly topicConf?: Readonly<Record<string, string | number>>;
  /** Runs the fault while the load runs; resolves when it is over (the cluster or service whole again). */
  run(ctx: FaultContext): Promise<void>;
}

/** Resolves once a request sent at or after `since` has been answered `status`. */
function answeredSince(load: LedgerLoad, since: number, status: number, timeoutMs: number, what: string): Promise<unknown> {
  return until(() => load.requests.some((r) => r.sent >= since && r.status === status), timeoutMs, what);
}

export const FAULTS: readonly Fault[] = [
  {
    name: 'leader-kill',
    title: 'the partition leader is killed (kill -9) under load and comes back',
    // Errors are likely (events waiting out the election past produce_timeout_ms) but not certain.
    makes: { errors: false, spool: false },
    async run({ cluster, topic, load }) {
      const leader = await cluster.leader(topic);
      await cluster.kill(leader);
      const killed = Date.now();
      await until(async () => (await cluster.leader(topic)) !== leader, 30000, `a new leader of ${topic} after node ${leader} died`);
      // Events go in again through the new leader before the old one is back.
      await answeredSince(load, killed, 201, 30000, '201 answers through the new leader');
      await cluster.restart(leader);
    },
  },
  {
    name: 'no-leader',
    title: `the partition leader is killed (kill -9) between requests while a follower hangs, so that no leader can be elected until events outlive message.timeout.ms (${MESSAGE_TIMEOUT_MS} ms) unsent`,
    makes: { errors: true, spool: true },
    // A topic property: in kafka.conf, node-rdkafka's (empty) topic config would replace it.
    topicConf: { 'message.timeout.ms': MESSAGE_TIMEOUT_MS },
    async run({ cluster, topic, load, spoolPath }) {
      const leader = await cluster.leader(topic);
      const follower = NODE_IDS.find((id) => id !== leader) as NodeId;
      // Nothing in flight at the kill: an event sent to the leader before it died could be in the
      // topic as well as timed out and spooled (librdkafka's "possibly persisted").
      await load.stop();
      await cluster.pause(follower);
      let paused = true;
      try {
        await cluster.kill(leader);
        const killed = Date.now();
        load.resume();
        // One controller of three left: no new leader, no broker takes the events sent now. Each is
        // answered 503 at produce_timeout_ms and spooled once librdkafka times it out, never sent.
        await answeredSince(load, killed, 503, 30000, 'a 503 for a request sent while there is no leader');
        await load.stop();
        const owed = load.requests.filter((r) => r.sent >= killed).flatMap((r) => r.ids.filter((id) => load.answers.get(id) === 'error'));
        await until(async () => {
          const spooled = new Set(await spoolIds(spoolPath));
          return owed.every((id) => spooled.has(id));
        }, 30000, `the ${owed.length} events answered error spooled after message.timeout.ms`);
        await cluster.cont(follower);
        paused = false;
      } finally {
        if (paused) await cluster.cont(follower);
      }
      await until(async () => (await cluster.leader(topic)) !== leader, 30000, `a new leader of ${topic} after node ${leader} died`);
      load.resume();
      await cluster.restart(leader);
    },
  },
  {
    name: 'two-paused',
    // The fault waits for a 503; what was in flight to the hung leader is written once it resumes (message.timeout.ms is 5 min).
    makes: { errors: true, spool: false },
    title: 'two of three brokers hang (SIGSTOP) for longer than produce_timeout_ms, then resume',
    async run({ cluster, topic, load }) {
      const leader = await cluster.leader(topic);
      const follower = ([1, 2, 3] as NodeId[]).find((id) => id !== leader) as NodeId;
      await cluster.pause(leader);
      await cluster.pause(follower);
      const paused = Date.now();
      try {
        // A request sent after the pause and answered 503 waited produce_timeout_ms: the hang lasted longer.
        await answeredSince(load, paused, 503, 30000, 'a 503 for a request sent while two brokers hang');
      } finally {
        await cluster.cont(leader);
        await cluster.cont(follower);
      }
      await cluster.inSync();
    },
  },
  {
    name: 'worker-kill',
    title: 'an HTTP worker is killed (kill -9) with requests in flight',
    makes: { errors: false, spool: false },
    async run({ service, load }) {
      const workers = await service.waitForWorkers(2);
      const [pid] = [...workers.values()];
      await until(() => load.inFlight > 0, 5000, 'requests in flight');
      process.kill(pid, 'SIGKILL');
      await until(() => {
        const live = [...service.listening().values()];
        return live.length === 2 && !live.includes(pid);
      }, 30000, `worker ${pid} replaced`);
    },
  },
  {
    name: 'rolling-restart',
    title: 'a rolling restart of the brokers, one at a time, each back in the ISR before the next',
    makes: { errors: false, spool: false },
    async run({ cluster }) {
      for (const id of [1, 2, 3] as NodeId[]) await cluster.restart(id);
    },
  },
];

export interface FaultRun {
  readonly fault: Fault;
  readonly topic: string;
  readonly requests: readonly RequestRecord[];
  readonly answers: ReadonlyMap<string, 'accepted' | 'invalid' | 'error' | 'none'>;
  readonly anomalies: readonly string[];
  /** When the fault started and ended (Date.now()). */
  readonly faultStart: number;
  readonly faultEnd: number;
  /** meta.id of every message of the topic, and of the spool, after eventgate stopped and before the replay. */
  readonly topicBefore: readonly string[];
  readonly spool: readonly string[];
  /** The topic after `eventgate replay` of the spool. */
  readonly topicAfter: readonly string[];
  readonly replay: Record<string, unknown> | undefined;
  readonly shutdown: { code: number | null; signal: NodeJS.Signals | null };
}

/**
 * One fault with its ledger. Leaves the cluster whole (every replica in sync)
 * and stops every process it started, pass or fail.
 */
export async function runFault(cluster: KafkaCluster, fault: Fault): Promise<FaultRun> {
  const prefix = `${uniqueTopic(`faults.${fault.name}`)}.`;
  const topic = prefix + STREAM;
  await cluster.createTopic(topic);
  const cfg = await TempConfig.onFreePort();
  const spoolPath = join(cfg.dir, 'failed-events.ndjson');
  cfg.write(
    { num_workers: 2, shutdown_timeout_ms: 20000, logging: { level: 'info' } },
    {
      topic_prefix: prefix,
      failed_events_path: spoolPath,
      kafka: {
        conf: { 'metadata.broker.list': cluster.bootstrap, 'log_level': 3 },
        ...(fault.topicConf ? { topic_conf: fault.topicConf } : {}),
        produce_timeout_ms: PRODUCE_TIMEOUT_MS,
        connect_timeout_ms: 5000,
        flush_timeout_ms: 5000,
      },
    },
  );
  const service = new Eventgate(cfg.path);
  let load: LedgerLoad | undefined;
  let replayer: ReturnType<typeof eventgate> | undefined;
  try {
    await service.waitForWorkers(2, 30000);
    await until(async () => (await send(cfg.port, 'GET', '/readyz')).status === 200, 30000, '/readyz 200');
    load = new LedgerLoad(cfg.port, { stream: STREAM, concurrency: CONCURRENCY, timeoutMs: 30000 });
    const live = load;
    await until(() => live.count(201) >= STEADY_201, 30000, `${STEADY_201} answers 201 before the fault`);
    const faultStart = Date.now();
    await fault.run({ cluster, topic, service, load, spoolPath });
    const faultEnd = Date.now();
    await until(() => live.count(201, faultEnd) >= STEADY_201, 30000, `${STEADY_201} answers 201 after the fault`);
    await load.stop();

    service.signal('SIGTERM');
    const shutdown = await Promise.race([
      service.exited,
      new Promise<never>((_r, reject) => setTimeout(() => reject(new Error('eventgate did not exit within 40 s of SIGTERM')), 40000)),
    ]);
    const topicBefore = await topicIds(cluster.bootstrap, topic);
    const spool = await spoolIds(spoolPath);

    let replay: Record<string, unknown> | undefined;
    if (spool.length > 0) {
      replayer = eventgate(['replay', spoolPath, '-c', cfg.path]);
      const exit: Exited = await replayer.exited(60000);
      replay = { code: exit.code, ...replayReport(exit) };
    }
    const topicAfter = replay ? await topicIds(cluster.bootstrap, topic) : topicBefore;
    return {
      fault,
      topic,
      requests: load.requests,
      answers: load.answers,
      anomalies: load.anomalies,
      faultStart,
      faultEnd,
      topicBefore,
      spool,
      topicAfter,
      replay,
      shutdown,
    };
  } finally {
    await load?.stop();
    await replayer?.kill();
    await service.kill();
    cfg.remove();
    // The next fault starts from a whole cluster, whatever happened here.
    await cluster.inSync().catch(() => undefined);
  }
}
