/**
 * A fake of the Kafka client a producer drives (lib/sink/kafka/client.ts
 * ProducerClient), made by a factory the producer is given: each test
 * says how connects go, answers metadata probes, delivers reports and
 * emits librdkafka's events, and reads back what was produced on which
 * client. It stands in for node-rdkafka only: the producer's own logic runs
 * as it is.
 */
import bunyan from 'bunyan';
import * as Kafka from 'node-rdkafka';
import type { ClientError, ClientEvents, ClientFactory, ProducerClient } from '../../lib/sink/kafka/client';
import type { FailedEvent, Spool } from '../../lib/sink/spool';

export interface Produced {
  readonly topic: string;
  readonly value: Buffer;
  readonly opaque: unknown;
  /** Whether its delivery report was given. */
  reported: boolean;
}

/** What the next connect() of any client of the factory answers: null succeeds. */
export type ConnectResult = ClientError | null;

export class FakeClient implements ProducerClient {
  readonly produced: Produced[] = [];
  /** connect, flush and disconnect, in the order they were called. */
  readonly calls: string[] = [];
  /** When connect() was called (Date.now()). */
  connectAt: number | undefined;
  polls = 0;
  private connectedNow = false;
  private readonly listeners = new Map<keyof ClientEvents, ((...args: never[]) => void)[]>();
  /** At flush(): reports for what is unreported (true), or nothing (false: the reports never come). */
  flushDelivers = true;
  /** What getMetadata() callbacks are waiting for an answer. */
  readonly probes: ((err: unknown) => void)[] = [];
  /** Thrown by produce() when set (librdkafka refusing at once). */
  produceThrows: ClientError | undefined;

  constructor(
    readonly id: number,
    private readonly nextConnect: () => ConnectResult,
  ) {}

  connect(_options: { timeout: number }, done: (err: ClientError | null | undefined) => void): void {
    this.calls.push('connect');
    this.connectAt = Date.now();
    const err = this.nextConnect();
    setImmediate(() => {
      this.connectedNow = err === null;
      done(err);
    });
  }

  produce(topic: string, _partition: null, value: Buffer, _key: Buffer | null, _timestamp: number | null, opaque: unknown): void {
    if (this.produceThrows) throw Object.assign(new Error(this.produceThrows.message), { code: this.produceThrows.code });
    if (!this.connectedNow) throw new Error('Producer not connected');
    this.produced.push({ topic, value, opaque, reported: false });
  }

  poll(): void {
    this.polls++;
  }

  flush(_timeoutMs: number, done: (err: unknown) => void): void {
    this.calls.push('flush');
    setImmediate(() => {
      if (this.flushDelivers) for (let i = 0; i < this.produced.length; i++) if (!this.produced[i].reported) this.report(i);
      done(null);
    });
  }

  disconnect(_timeoutMs: number, done: (err: unknown) => void): void {
    this.calls.push('disconnect');
    setImmediate(() => {
      this.connectedNow = false;
      done(null);
    });
  }

  isConnected(): boolean {
    return this.connectedNow;
  }

  getMetadata(_options: { timeout: number }, done: (err: unknown) => void): void {
    this.probes.push(done);
  }

  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
  }

  emit<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as unknown as (...a: Parameters<ClientEvents[E]>) => void)(...args);
  }

  /** The delivery report of message `index`: delivered, or failed with `err`. */
  report(index: number, err: ClientError | null = null): void {
    const message = this.produced[index];
    message.reported = true;
    this.emit('delivery-report', err, { opaque: message.opaque });
  }

  /** Answers the oldest metadata probe waiting. */
  answerProbe(err: unknown = null): void {
    const done = this.probes.shift();
    if (!done) throw new Error(`client ${this.id} has no probe waiting`);
    done(err);
  }
}

export interface FakeFactory {
  readonly factory: ClientFactory;
  /** Every client made, in order. */
  readonly clients: FakeClient[];
  /** The answers of the connects to come, in order; once empty, connects succeed. */
  readonly connects: ConnectResult[];
  /** The latest client. */
  last(): FakeClient;
}

export function fakeFactory(connects: ConnectResult[] = []): FakeFactory {
  const clients: FakeClient[] = [];
  const queue = [...connects];
  return {
    clients,
    connects: queue,
    factory: () => {
      const client = new FakeClient(clients.length, () => queue.shift() ?? null);
      clients.push(client);
      return client;
    },
    last: () => {
      const client = clients[clients.length - 1];
      if (!client) throw new Error('no client made yet');
      return client;
    },
  };
}

/** librdkafka's error events, as node-rdkafka hands them to JS (code -1, see observe.ts errorKind). */
export const BROKER_DOWN: ClientError = { message: 'all broker connections are down', code: -1 };
export const FATAL: ClientError = { message: 'gap-less ordering would not be guaranteed if proceeding', code: -1 };
export const REFUSED: ClientError = { message: 'broker transport failure', code: Kafka.CODES.ERRORS.ERR__TRANSPORT };

/** A statistics document with one partition leader, its connection up or not, and a bootstrap connection. */
export function stats(leaderUp: boolean, bootstrapUp = false): { message: string } {
  return {
    message: JSON.stringify({
      brokers: {
        'b:1/1': { nodeid: 1, state: leaderUp ? 'UP' : 'DOWN', toppars: { 't-0': {} } },
        'b:1/bootstrap': { nodeid: -1, state: bootstrapUp ? 'UP' : 'DOWN' },
      },
    }),
  };
}

/** A spool in memory. */
export class MemorySpool implements Spool {
  readonly path = 'memory';
  readonly entries: FailedEvent[] = [];

  append(failed: readonly FailedEvent[]): Promise<void> {
    this.entries.push(...failed);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface Recorded {
  readonly event?: string;
  readonly [field: string]: unknown;
}

/** A logger whose records the test reads. */
export function recordingLogger(): { log: bunyan; records: () => Recorded[]; events: () => string[] } {
  const ring = new bunyan.RingBuffer({ limit: 1000 });
  const log = bunyan.createLogger({ name: 'test', streams: [{ type: 'raw', stream: ring, level: 'trace' }] });
  const records = (): Recorded[] => ring.records as Recorded[];
  return { log, records, events: () => records().flatMap((r) => (r.event ? [r.event] : [])) };
}
