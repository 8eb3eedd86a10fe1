/**
 * The Kafka that bench/kafka.ts produces to: the private single broker of
 * test/kafka/fixture.ts (or a running one named by EVENTGATE_TEST_KAFKA), or
 * with --cluster the 3-node cluster of test/kafka/cluster.ts (replication
 * factor 3, min.insync.replicas=2; the guaranteed producer's acks=all then
 * waits for a second replica).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as Kafka from 'node-rdkafka';
import { KafkaCluster, NODE_IDS } from '../test/kafka/cluster';
import { startBroker, stopBroker } from '../test/kafka/fixture';

export interface BenchKafka {
  /** For the header: what runs where. */
  readonly description: string;
  readonly bootstrap: string;
  /** The broker JVMs, whose CPU the rows show apart (empty for a broker we did not start). */
  readonly pids: readonly number[];
  /** Makes `topic` exist as the rows need it (on the cluster: replicated on all three nodes). */
  prepareTopic(topic: string): Promise<void>;
  stop(): Promise<void>;
}

function pidOf(file: string): number[] {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? [pid] : [];
  } catch {
    return [];
  }
}

async function singleBroker(): Promise<BenchKafka> {
  const external = process.env.EVENTGATE_TEST_KAFKA;
  if (external) {
    return {
      description: `broker ${external} (EVENTGATE_TEST_KAFKA; its CPU is in 'other')`,
      bootstrap: external,
      pids: [],
      prepareTopic: () => Promise.resolve(),
      stop: () => Promise.resolve(),
    };
  }
  const broker = await startBroker();
  return {
    description: `private single broker ${broker.bootstrap} (replication factor 1)`,
    bootstrap: broker.bootstrap,
    pids: pidOf(join(broker.dir, 'pid')),
    // Auto-created on the first produce (the warm-up's), as in the tests.
    prepareTopic: () => Promise.resolve(),
    stop: () => stopBroker(broker.dir),
  };
}

async function cluster(): Promise<BenchKafka> {
  const c = await KafkaCluster.start();
  return {
    description: `private 3-node cluster ${c.bootstrap} (replication factor 3, min.insync.replicas=2)`,
    bootstrap: c.bootstrap,
    pids: NODE_IDS.flatMap((id) => pidOf(join(c.dir, `node${id}`, 'pid'))),
    // Created before the rows, so that no row waits for an auto-create, and the replication factor is 3 whatever the broker defaults say.
    prepareTopic: (topic) => c.createTopic(topic, 1),
    stop: () => c.stop(),
  };
}

const TOPIC_TIMEOUT_MS = 10000;

function call<T>(f: (cb: (err: Kafka.LibrdKafkaError | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => f((err, value) => (err ? reject(Object.assign(new Error(err.message), { code: err.code })) : resolve(value))));
}

/**
 * `topic` as Kafka holds it after the rows, per partition: leader, replicas,
 * in-sync replicas and messages (the high watermark: every produced event,
 * warm-ups and retries included). What shows that the rows replicated as claimed.
 */
export async function describeTopic(bootstrap: string, topic: string): Promise<string> {
  const producer = new Kafka.Producer({ 'metadata.broker.list': bootstrap, 'log_level': 3 });
  try {
    await call((cb) => {
      producer.connect({ timeout: TOPIC_TIMEOUT_MS }, cb);
    });
    const metadata = await call<Kafka.Metadata>((cb) => {
      producer.getMetadata({ topic, timeout: TOPIC_TIMEOUT_MS }, cb);
    });
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions ?? [];
    if (partitions.length === 0) return `topic ${topic}: not found`;
    const lines: string[] = [];
    for (const p of partitions) {
      const w = await call<Kafka.WatermarkOffsets>((cb) => {
        producer.queryWatermarkOffsets(topic, p.id, TOPIC_TIMEOUT_MS, cb);
      });
      lines.push(
        `topic ${topic} partition ${p.id}: leader ${p.leader}, replicas [${p.replicas.join(',')}], in sync [${p.isrs.join(',')}], ` +
          `${(w.highOffset - w.lowOffset).toLocaleString('en-US')} messages`,
      );
    }
    return lines.join('\n');
  } finally {
    if (producer.isConnected()) await new Promise<void>((done) => producer.disconnect(() => done()));
  }
}

export function startKafka(useCluster: boolean): Promise<BenchKafka> {
  return useCluster ? cluster() : singleBroker();
}
