/**
 * Helpers for tests against the real broker of test/kafka/fixture.ts: unique
 * topics, reading a topic back, creating one with several partitions.
 */
import { randomBytes } from 'node:crypto';
import * as Kafka from 'node-rdkafka';

/** librdkafka's logical offset "start of the partition". */
const OFFSET_BEGINNING = -2;

/** The test broker's bootstrap address (set by the mocha global fixture). */
export function kafkaBootstrap(): string {
  const bootstrap = process.env.EVENTGATE_TEST_KAFKA;
  if (!bootstrap) {
    throw new Error('EVENTGATE_TEST_KAFKA is not set: run mocha with --require dist/test/kafka/fixture.js');
  }
  return bootstrap;
}

/** The test broker's SSL and SASL_SSL listeners and what a client needs for them (set by the fixture from broker.sh's security.env). */
export interface KafkaSecurity {
  /** HOST:PORT of the SSL listener. */
  readonly ssl: string;
  /** HOST:PORT of the SASL_SSL listener (SCRAM-SHA-512). */
  readonly saslSsl: string;
  /** PEM file of the CA that signed the broker's certificate. */
  readonly caLocation: string;
  readonly username: string;
  readonly password: string;
}

export function kafkaSecurity(): KafkaSecurity {
  const env = process.env;
  const names = ['EVENTGATE_TEST_KAFKA_SSL', 'EVENTGATE_TEST_KAFKA_SASL_SSL', 'EVENTGATE_TEST_KAFKA_CA', 'EVENTGATE_TEST_KAFKA_SASL_USERNAME', 'EVENTGATE_TEST_KAFKA_SASL_PASSWORD'];
  const missing = names.filter((n) => !env[n]);
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} not set: run mocha with --require dist/test/kafka/fixture.js, or export what \`npm run kafka\` prints`);
  }
  return {
    ssl: env.EVENTGATE_TEST_KAFKA_SSL as string,
    saslSsl: env.EVENTGATE_TEST_KAFKA_SASL_SSL as string,
    caLocation: env.EVENTGATE_TEST_KAFKA_CA as string,
    username: env.EVENTGATE_TEST_KAFKA_SASL_USERNAME as string,
    password: env.EVENTGATE_TEST_KAFKA_SASL_PASSWORD as string,
  };
}

const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
let topicCount = 0;

/** A topic name no other test and no earlier run has used. */
export function uniqueTopic(prefix = 'test'): string {
  topicCount += 1;
  return `${prefix.replace(/[^a-zA-Z0-9._-]/g, '_')}.${runId}.${topicCount}`;
}

export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: Buffer | null;
  readonly key: Buffer | null;
  readonly timestamp: number | undefined;
  /** Header values as UTF-8 strings; a repeated header keeps its last value. */
  readonly headers: Record<string, string>;
}

function toBuffer(data: Buffer | string | null | undefined): Buffer | null {
  if (data === null || data === undefined) return null;
  return typeof data === 'string' ? Buffer.from(data) : data;
}

function toConsumed(m: Kafka.Message): ConsumedMessage {
  const headers: Record<string, string> = {};
  for (const header of m.headers ?? []) {
    for (const [name, value] of Object.entries(header)) headers[name] = value.toString();
  }
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    value: m.value,
    key: toBuffer(m.key),
    timestamp: m.timestamp,
    headers,
  };
}

/** librdkafka errors as real Errors, code kept. */
function asError(err: Kafka.LibrdKafkaError): Error {
  return Object.assign(new Error(err.message), { code: err.code });
}

function connect<C extends Kafka.KafkaConsumer | Kafka.Producer>(client: C, timeoutMs: number): Promise<C> {
  return new Promise((resolve, reject) => {
    client.connect({ timeout: timeoutMs }, (err) => (err ? reject(asError(err)) : resolve(client)));
  });
}

function disconnect(client: Kafka.KafkaConsumer | Kafka.Producer): Promise<void> {
  return new Promise((resolve) => {
    if (!client.isConnected()) {
      resolve();
      return;
    }
    client.disconnect(() => resolve());
  });
}

async function partitionsOf(consumer: Kafka.KafkaConsumer, topic: string, deadline: number): Promise<number[]> {
  for (;;) {
    const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => {
      consumer.getMetadata({ topic, timeout: Math.max(100, deadline - Date.now()) }, (err, data) =>
        err ? reject(asError(err)) : resolve(data),
      );
    });
    const found = metadata.topics.find((t) => t.name === topic);
    if (found && found.partitions.length > 0) return found.partitions.map((p) => p.id);
    if (Date.now() >= deadline) throw new Error(`topic ${topic} does not exist`);
  }
}

/** The high watermark (offset of the next message) of each partition of `topic`, now. */
function highWatermarks(consumer: Kafka.KafkaConsumer, topic: string, partitions: readonly number[], timeoutMs: number): Promise<Map<number, number>> {
  return Promise.all(
    partitions.map(
      (partition) =>
        new Promise<[number, number]>((resolve, reject) => {
          consumer.queryWatermarkOffsets(topic, partition, timeoutMs, (err, offsets) => (err ? reject(asError(err)) : resolve([partition, offsets.highOffset])));
        }),
    ),
  ).then((pairs) => new Map(pairs));
}

/**
 * Reads `topic` from the beginning of every partition until at least `count`
 * messages have arrived, and then on to the high watermark each partition
 * has at that moment: everything the topic holds, so that a message beyond
 * the `count` expected (an extra, a duplicate) is in the result for the
 * test to see. Returns them in offset order per partition. Rejects when
 * they have not all arrived within `timeoutMs`, saying how many did.
 */
export async function consumeAll(
  topic: string,
  count: number,
  timeoutMs = 30000,
  bootstrap = kafkaBootstrap(),
): Promise<ConsumedMessage[]> {
  const deadline = Date.now() + timeoutMs;
  const consumer = new Kafka.KafkaConsumer(
    {
      'metadata.broker.list': bootstrap,
      'group.id': `eventgate-test-${randomBytes(6).toString('hex')}`,
      'enable.auto.commit': false,
      'log_level': 3,
    },
    { 'auto.offset.reset': 'earliest' },
  );
  const messages: ConsumedMessage[] = [];
  /** Per partition, the offset after the last message read. */
  const next = new Map<number, number>();
  /** Per partition, the high watermark to read to; undefined until `count` messages are in. */
  let ends: Map<number, number> | undefined;
  const done = (): boolean => ends !== undefined && [...ends].every(([p, end]) => (next.get(p) ?? 0) >= end);
  try {
    await connect(consumer, timeoutMs);
    const partitions = await partitionsOf(consumer, topic, deadline);
    // assign, not subscribe: no consumer-group rebalance to wait for.
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: OFFSET_BEGINNING })));
    consumer.setDefaultConsumeTimeout(100);
    while (!done()) {
      if (Date.now() >= deadline) {
        throw new Error(`consumed ${messages.length} of ${count} messages from ${topic} within ${timeoutMs} ms${ends ? ' (then not to the high watermark)' : ''}`);
      }
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) => {
        consumer.consume(1000, (err, got) => (err ? reject(asError(err)) : resolve(got)));
      });
      for (const m of batch) {
        messages.push(toConsumed(m));
        next.set(m.partition, m.offset + 1);
      }
      if (!ends && messages.length >= count) ends = await highWatermarks(consumer, topic, partitions, Math.max(100, deadline - Date.now()));
    }
  } finally {
    await disconnect(consumer);
  }
  return messages;
}

/** Creates `topic` with `partitions` partitions (replication factor 1) and the topic-level `config` (e.g. max.message.bytes). */
export async function createTopic(
  topic: string,
  partitions = 1,
  timeoutMs = 10000,
  bootstrap = kafkaBootstrap(),
  config: Readonly<Record<string, string>> = {},
): Promise<void> {
  const admin = Kafka.AdminClient.create({ 'metadata.broker.list': bootstrap, 'log_level': 3 });
  try {
    await new Promise<void>((resolve, reject) => {
      admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1, config: { ...config } }, timeoutMs, (err) =>
        err ? reject(asError(err)) : resolve(),
      );
    });
  } finally {
    admin.disconnect();
  }
}
