/**
 * The 3-node replicated cluster of test/kafka/cluster.sh, for the suites that
 * need it (not the global fixture: it costs three JVMs). `useCluster()` in a
 * describe starts it in `before` and stops it in `after`, pass or fail; a run
 * killed before `after` is cleaned up by cluster.sh's watchdog
 * (EVENTGATE_KAFKA_OWNER_PID).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as Kafka from 'node-rdkafka';

export const CLUSTER_SCRIPT = path.resolve(__dirname, '..', '..', '..', 'test', 'kafka', 'cluster.sh');

export type NodeId = 1 | 2 | 3;
export const NODE_IDS: readonly NodeId[] = [1, 2, 3];

/** Runs cluster.sh; its stderr (a failed start's log tails) goes straight to ours. */
function clusterScript(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [CLUSTER_SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out.trim());
      else reject(new Error(`test/kafka/cluster.sh ${args.join(' ')} failed with exit code ${code}`));
    });
  });
}

export class KafkaCluster {
  private constructor(
    /** The folder cluster.sh runs the nodes from (a child of a temporary folder of ours). */
    readonly dir: string,
    /** The three brokers, comma-separated, for metadata.broker.list. */
    readonly bootstrap: string,
  ) {}

  /** Starts a cluster in a new temporary folder; resolves once it takes acks=all produce requests. */
  static async start(): Promise<KafkaCluster> {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'eventgate-test-cluster-'));
    const dir = path.join(parent, 'cluster');
    const env: NodeJS.ProcessEnv = { ...process.env, EVENTGATE_KAFKA_OWNER_PID: String(process.pid) };
    delete env.EVENTGATE_KAFKA_CLUSTER_PORT;
    try {
      const out = await clusterScript(['start', dir], env);
      return new KafkaCluster(dir, out.split('\n').pop() ?? '');
    } catch (err) {
      await clusterScript(['stop', dir]).catch(() => undefined);
      await rmdir(parent).catch(() => undefined);
      throw err;
    }
  }

  /** Stops every node and removes the data. */
  async stop(): Promise<void> {
    await clusterScript(['stop', this.dir]);
    await rmdir(path.dirname(this.dir)).catch(() => undefined);
  }

  /** kill -9 of node `id`; resolves once the process is gone. */
  async kill(id: NodeId): Promise<void> {
    await clusterScript(['kill', this.dir, String(id)]);
  }

  /** SIGSTOP: the node hangs with its connections open. */
  async pause(id: NodeId): Promise<void> {
    await clusterScript(['pause', this.dir, String(id)]);
  }

  /** SIGCONT of a paused node. */
  async cont(id: NodeId): Promise<void> {
    await clusterScript(['cont', this.dir, String(id)]);
  }

  /**
   * Stops node `id` gracefully if it runs (a killed one is fine too) and
   * starts it again on the same ports and data; resolves once every
   * partition has all its replicas in sync again.
   */
  async restart(id: NodeId): Promise<void> {
    await clusterScript(['restart', this.dir, String(id)]);
  }

  /** Resolves once every partition (of `topic`, else of every topic) has all its replicas in sync. */
  async inSync(topic?: string): Promise<void> {
    await clusterScript(['insync', this.dir, ...(topic ? [topic] : [])]);
  }

  /** The node leading `partition` of `topic`, as the cluster's metadata says now. */
  async leader(topic: string, partition = 0): Promise<NodeId> {
    const id = Number(await clusterScript(['leader', this.dir, topic, String(partition)]));
    if (!NODE_IDS.includes(id as NodeId)) throw new Error(`cluster.sh leader printed ${id}, not a node id`);
    return id as NodeId;
  }

  /** Creates `topic` with `partitions` partitions, replicated on all three nodes; resolves once its replicas are in sync. */
  async createTopic(topic: string, partitions = 1, timeoutMs = 15000): Promise<void> {
    const admin = Kafka.AdminClient.create({ 'metadata.broker.list': this.bootstrap, 'log_level': 3 });
    try {
      await new Promise<void>((resolve, reject) => {
        admin.createTopic({ topic, num_partitions: partitions, replication_factor: 3 }, timeoutMs, (err) =>
          err ? reject(Object.assign(new Error(err.message), { code: err.code })) : resolve(),
        );
      });
    } finally {
      admin.disconnect();
    }
    await this.inSync(topic);
  }
}

/**
 * Mocha hooks of a suite against the cluster: started in `before` (given
 * `timeoutMs`: three JVMs on a small machine), stopped in `after` even when
 * tests failed. The returned getter throws when `before` did not start it.
 */
export function useCluster(timeoutMs = 180000): () => KafkaCluster {
  let cluster: KafkaCluster | undefined;
  before(async function () {
    this.timeout(timeoutMs);
    const started = Date.now();
    cluster = await KafkaCluster.start();
    process.stderr.write(`kafka test cluster at ${cluster.bootstrap}, ready in ${Date.now() - started} ms\n`);
  });
  after(async function () {
    this.timeout(60000);
    const c = cluster;
    cluster = undefined;
    await c?.stop();
  });
  return () => {
    if (!cluster) throw new Error('the Kafka cluster is not running (its before hook failed or has not run)');
    return cluster;
  };
}
