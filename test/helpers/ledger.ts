/**
 * The ledger of a fault test: a load generator that gives every event a
 * unique id (meta.id) and records what the service answered for it, a
 * reader of a whole topic, and the comparison of the answers with what the
 * topic and the spool hold.
 */
import { randomBytes } from 'node:crypto';
import * as Kafka from 'node-rdkafka';
import { call, type Reply } from '../helpers/http';
import { spooled } from './spool';

/** What the service told the client about one event; `none`: the request got no answer. */
export type Answer = 'accepted' | 'invalid' | 'error' | 'none';

export interface RequestRecord {
  readonly ids: readonly string[];
  /** Date.now() when sent and when answered (or failed). */
  readonly sent: number;
  readonly done: number;
  /** HTTP status, or undefined when there was no answer. */
  readonly status?: number;
  /** Socket error code (ECONNRESET, TEST_TIMEOUT, ...) when there was no answer. */
  readonly error?: string;
}

export interface LoadOptions {
  readonly stream: string;
  /** Requests in flight at once; each on a fresh connection, so the master spreads them over the workers. */
  readonly concurrency: number;
  /** A request unanswered this long is recorded as TEST_TIMEOUT: far past any bound the service promises. */
  readonly timeoutMs: number;
}

interface Item {
  event?: { meta?: { id?: unknown } };
}

const EVENTS_PER_REQUEST = [1, 2, 3, 4];
/** Every INVALID_EVERY-th request carries one event that fails validation (`test` must be a string). */
const INVALID_EVERY = 20;

/**
 * Keeps `concurrency` POSTs in flight until stopped. Every event has a fresh
 * meta.id; `answers` maps each id to what its answer said.
 */
export class LedgerLoad {
  readonly answers = new Map<string, Answer>();
  readonly requests: RequestRecord[] = [];
  /** Answers that do not fit the API (a status or body it does not document for POST /v1/events). */
  readonly anomalies: string[] = [];
  inFlight = 0;
  private running = true;
  private seq = 0;
  private readonly tag = randomBytes(4).toString('hex');
  private loops: Promise<void>[];

  constructor(
    private readonly port: number,
    private readonly opts: LoadOptions,
  ) {
    this.loops = this.start();
  }

  private start(): Promise<void>[] {
    return Array.from({ length: this.opts.concurrency }, () => this.loop());
  }

  /** Answers with this status so far. */
  count(status: number, since = 0): number {
    return this.requests.filter((r) => r.status === status && r.done >= since).length;
  }

  private nextBody(): { events: Record<string, unknown>[]; ids: string[]; invalid: Set<string> } {
    const n = EVENTS_PER_REQUEST[this.seq % EVENTS_PER_REQUEST.length];
    const withInvalid = this.seq % INVALID_EVERY === INVALID_EVERY - 1;
    const events: Record<string, unknown>[] = [];
    const ids: string[] = [];
    const invalid = new Set<string>();
    for (let k = 0; k < n; k++) {
      const id = `${this.tag}-${this.seq}-${k}`;
      const bad = withInvalid && k === 0;
      events.push({ $schema: '/test/event/1.0.0', meta: { stream: this.opts.stream, id }, test: bad ? 42 : 'ledger', test_int: this.seq });
      ids.push(id);
      if (bad) invalid.add(id);
    }
    this.seq++;
    return { events, ids, invalid };
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const { events, ids } = this.nextBody();
      const sent = Date.now();
      this.inFlight++;
      try {
        const reply = await call(this.port, {
          method: 'POST',
          path: '/v1/events',
          body: events.length === 1 ? events[0] : events,
          headers: { 'x-request-id': ids[0] },
          fresh: true,
          timeoutMs: this.opts.timeoutMs,
        });
        this.requests.push({ ids, sent, done: Date.now(), status: reply.status });
        this.record(ids, reply);
      } catch (err) {
        this.requests.push({ ids, sent, done: Date.now(), error: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
        for (const id of ids) this.answers.set(id, 'none');
      } finally {
        this.inFlight--;
      }
    }
  }

  private record(ids: readonly string[], reply: Reply): void {
    if (reply.status === 201) {
      for (const id of ids) this.answers.set(id, 'accepted');
      return;
    }
    const body = reply.json as { invalid?: Item[]; error?: Item[] } | undefined;
    if (![207, 400, 500, 503].includes(reply.status) || !Array.isArray(body?.invalid) || !Array.isArray(body?.error)) {
      this.anomalies.push(`${reply.status} ${reply.reason} ${reply.text.slice(0, 300)}`);
      for (const id of ids) this.answers.set(id, 'none');
      return;
    }
    const listed = new Map<unknown, Answer>();
    for (const item of body.invalid) listed.set(item.event?.meta?.id, 'invalid');
    for (const item of body.error) listed.set(item.event?.meta?.id, 'error');
    for (const id of ids) {
      const answer = listed.get(id);
      // Only a 207 leaves accepted events out of its lists.
      if (answer === undefined && reply.status !== 207) this.anomalies.push(`${reply.status} ${reply.reason}: event ${id} not listed`);
      this.answers.set(id, answer ?? (reply.status === 207 ? 'accepted' : 'none'));
    }
  }

  /** Stops sending; resolves when the requests in flight are answered. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Sends again after stop(). */
  resume(): void {
    if (this.running) return;
    this.running = true;
    this.loops = this.start();
  }
}

/** librdkafka's logical offset "start of the partition". */
const OFFSET_BEGINNING = -2;

function rdkafkaError(err: Kafka.LibrdKafkaError): Error {
  return Object.assign(new Error(err.message), { code: err.code });
}

/** meta.id of every message of `topic`, read from the beginning up to the end offsets of now; a repeated id appears as often as it is there. */
export async function topicIds(bootstrap: string, topic: string, timeoutMs = 30000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const consumer = new Kafka.KafkaConsumer(
    { 'metadata.broker.list': bootstrap, 'group.id': `eventgate-ledger-${randomBytes(6).toString('hex')}`, 'enable.auto.commit': false, 'log_level': 3 },
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: timeoutMs }, (err) => (err ? reject(rdkafkaError(err)) : resolve())));
  const ids: string[] = [];
  try {
    const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => {
      consumer.getMetadata({ topic, timeout: timeoutMs }, (err, data) => (err ? reject(rdkafkaError(err)) : resolve(data)));
    });
    const partitions = metadata.topics.find((t) => t.name === topic)?.partitions.map((p) => p.id) ?? [];
    if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions`);
    /** Per partition, the offset the read must reach (the high watermark now). */
    const ends = new Map<number, number>();
    for (const partition of partitions) {
      const marks = await new Promise<Kafka.WatermarkOffsets>((resolve, reject) => {
        consumer.queryWatermarkOffsets(topic, partition, timeoutMs, (err, offsets) => (err ? reject(rdkafkaError(err)) : resolve(offsets)));
      });
      if (marks.highOffset > marks.lowOffset) ends.set(partition, marks.highOffset);
    }
    consumer.assign(partitions.map((partition) => ({ topic, partition, offset: OFFSET_BEGINNING })));
    consumer.setDefaultConsumeTimeout(100);
    while (ends.size > 0) {
      if (Date.now() > deadline) throw new Error(`reading ${topic}: partitions ${[...ends.keys()].join(',')} not read to their end within ${timeoutMs} ms`);
      const batch = await new Promise<Kafka.Message[]>((resolve, reject) => consumer.consume(1000, (err, got) => (err ? reject(rdkafkaError(err)) : resolve(got))));
      for (const m of batch) {
        const end = ends.get(m.partition);
        if (end === undefined || m.offset >= end) continue;
        const event = JSON.parse((m.value as Buffer).toString('utf8')) as { meta?: { id?: string } };
        ids.push(String(event.meta?.id));
        if (m.offset >= end - 1) ends.delete(m.partition);
      }
    }
  } finally {
    await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  }
  return ids;
}

/** meta.id of every event of a spool file (none when there is no file). */
export async function spoolIds(path: string): Promise<string[]> {
  return (await spooled(path)).map((e) => String((e.event as { meta?: { id?: string } }).meta?.id));
}

function counted(ids: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** What a ledger check found wrong: the ids (the first few shown in messages) and how many. */
export interface LedgerFindings {
  /** Answered accepted, but in the topic not exactly once. */
  readonly acceptedNotOnce: string[];
  /** Answered error, in neither the topic nor the spool. */
  readonly errorLost: string[];
  /** In the topic and in the spool at once (a replay would duplicate it). */
  readonly inBoth: string[];
  /** Answered invalid, yet in the topic or the spool. */
  readonly invalidWritten: string[];
}

export interface LedgerSummary {
  readonly answers: Record<Answer, number>;
  /** Distinct events of the load in the topic, and messages beyond the first of an event. */
  readonly inTopic: number;
  readonly duplicates: number;
  readonly spooled: number;
  readonly inBoth: number;
}

/** Compares the answers with the topic's and the spool's contents. */
export function checkLedger(answers: ReadonlyMap<string, Answer>, topic: readonly string[], spool: readonly string[]): LedgerFindings {
  const inTopic = counted(topic);
  const inSpool = new Set(spool);
  const findings: LedgerFindings = { acceptedNotOnce: [], errorLost: [], inBoth: [], invalidWritten: [] };
  for (const [id, answer] of answers) {
    const n = inTopic.get(id) ?? 0;
    if (answer === 'accepted' && n !== 1) findings.acceptedNotOnce.push(`${id} (${n} times)`);
    if (answer === 'error' && n === 0 && !inSpool.has(id)) findings.errorLost.push(id);
    if (answer === 'invalid' && (n > 0 || inSpool.has(id))) findings.invalidWritten.push(id);
    if (n > 0 && inSpool.has(id)) findings.inBoth.push(id);
  }
  return findings;
}

/** Validated events (answered accepted or error) that `topic` does not hold. */
export function missingFrom(answers: ReadonlyMap<string, Answer>, topic: readonly string[]): string[] {
  const inTopic = new Set(topic);
  return [...answers].filter(([id, a]) => (a === 'accepted' || a === 'error') && !inTopic.has(id)).map(([id]) => id);
}

export function summarize(answers: ReadonlyMap<string, Answer>, topic: readonly string[], spool: readonly string[]): LedgerSummary {
  const counts: Record<Answer, number> = { accepted: 0, invalid: 0, error: 0, none: 0 };
  for (const a of answers.values()) counts[a]++;
  const inTopic = counted(topic.filter((id) => answers.has(id)));
  const inSpool = new Set(spool);
  return {
    answers: counts,
    inTopic: inTopic.size,
    duplicates: [...inTopic.values()].reduce((sum, n) => sum + n - 1, 0),
    spooled: inSpool.size,
    inBoth: [...inTopic.keys()].filter((id) => inSpool.has(id)).length,
  };
}

/** "N: a, b, c, ..." for an assertion message. */
export function shown(ids: readonly string[]): string {
  return `${ids.length}: ${ids.slice(0, 8).join(', ')}${ids.length > 8 ? ', ...' : ''}`;
}
