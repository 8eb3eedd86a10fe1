/**
 * Shared set-up of the end-to-end tests: the real service (in this process,
 * port 0) producing to a real Kafka broker, requests bounded in time, and the
 * comparison of what was POSTed with what a consumer reads back.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpoolEntry } from '../../lib/sink/spool';
import { call, type Call, type Reply } from '../helpers/http';
import { ROOT, startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';
import { kafkaBootstrap, uniqueTopic, type ConsumedMessage } from './kafka';

export const TEST_SCHEMA = '/test/event/1.0.0';
export const ERROR_SCHEMA = '/error/1.0.0';
/** The `test` field's default in the bundled test schema. */
export const TEST_DEFAULT = 'default value';
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface KafkaService extends TestService {
  /** The service's topic_prefix: unique to this service. */
  readonly prefix: string;
  /** failed_events_path, in a temporary folder of its own. */
  readonly spoolPath: string;
  topic(stream: string): string;
}

export interface KafkaServiceOptions {
  /** Bootstrap address; default: the shared test broker. */
  readonly bootstrap?: string;
  /** Merged into services[0].conf. */
  readonly conf?: Record<string, unknown>;
  /** Merged into services[0].conf.kafka (beside conf). */
  readonly kafka?: Record<string, unknown>;
  /** Wait until /readyz answers 200 (default true). */
  readonly ready?: boolean;
}

/** The real service with Kafka sinks, a unique topic_prefix and a spool in a fresh temporary folder. */
export async function startKafkaService(opts: KafkaServiceOptions = {}): Promise<KafkaService> {
  const dir = mkdtempSync(join(tmpdir(), 'eventgate-e2e-'));
  const prefix = `${uniqueTopic('e2e')}.`;
  const spoolPath = join(dir, 'failed-events.ndjson');
  let svc: TestService;
  try {
    svc = await startTestService({
      topic_prefix: prefix,
      failed_events_path: spoolPath,
      ...opts.conf,
      kafka: {
        connect_timeout_ms: 5000,
        poll_interval_ms: 5,
        ...opts.kafka,
        conf: { 'metadata.broker.list': opts.bootstrap ?? kafkaBootstrap(), 'log_level': 3 },
      },
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const service: KafkaService = {
    ...svc,
    prefix,
    spoolPath,
    topic: (stream) => prefix + stream,
    async close() {
      await svc.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (opts.ready ?? true) {
    try {
      await until(async () => (await call(service.port, { path: '/readyz' })).status === 200, 20000, '/readyz 200');
    } catch (err) {
      await service.close();
      throw err;
    }
  }
  return service;
}

/** Rejects when `promise` has not settled within `ms`: a request that hangs fails its test instead of stalling it. */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** One request, failing when it is not answered within `ms`. */
export function request(port: number, c: Call, ms = 15000): Promise<Reply> {
  return within(ms, call(port, c), `${c.method ?? 'GET'} ${c.path}`);
}

/** POSTs `events` with an x-request-id (and a user-agent, which enrichment copies into the event). */
export function postEvents(port: number, events: unknown, requestId: string, opts: { hasty?: boolean; ms?: number } = {}): Promise<Reply> {
  const path = opts.hasty ? '/v1/events?hasty=true' : '/v1/events';
  return request(port, { method: 'POST', path, body: events, headers: { 'x-request-id': requestId, 'user-agent': USER_AGENT } }, opts.ms);
}

export const USER_AGENT = 'eventgate-e2e/1.0';


export type TestEvent = {
  $schema: string;
  meta: { stream: string; id?: string; dt?: string; request_id?: string };
  test?: string;
  test_int: number;
  [field: string]: unknown;
};

/**
 * `n` events of `stream`, numbered from `from` in test_int. They vary in what
 * the client fills in: every third has neither meta.id nor meta.dt (both
 * enriched), every third has only meta.dt, the rest have both; every other
 * one leaves `test` to the schema default.
 */
/** An hour before the run: event times of makeEvents start here, a tenth of a second apart. */
const DT_BASE = Date.now() - 3_600_000;

export function makeEvents(stream: string, n: number, from = 0): TestEvent[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const meta: TestEvent['meta'] = { stream };
    // Recent times: only inside timestamp_max_past_ms is meta.dt the Kafka timestamp.
    if (i % 3 !== 0) meta.dt = new Date(DT_BASE + i * 100).toISOString();
    if (i % 3 === 2) meta.id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    const event: TestEvent = { $schema: TEST_SCHEMA, meta, test_int: i, test_map: { i: String(i), text: 'h\u00e9llo \u2603' } };
    if (i % 2 === 0) event.test = `value ${i}`;
    return event;
  });
}

/** A sent event and the request it went in. */
export interface Sent {
  readonly event: TestEvent;
  readonly requestId: string;
  /** When the request was sent and answered: an enriched meta.dt lies between. */
  readonly from: number;
  readonly to: number;
}

/**
 * What Kafka must hold for `sent`, given the enriched meta.id / meta.dt the
 * message carries (checked here: a UUID, a time within the request): the
 * event as sent, plus the schema default of `test`, plus meta.request_id and
 * the user-agent copied from the request headers.
 */
export function expectedEvent(sent: Sent, got: Record<string, unknown>): Record<string, unknown> {
  const e = structuredClone(sent.event);
  const meta = (got.meta ?? {}) as { id?: unknown; dt?: unknown };
  if (e.meta.id === undefined) {
    expect(meta.id, `enriched meta.id of event ${e.test_int}`).to.be.a('string').that.matches(UUID);
    e.meta.id = meta.id as string;
  }
  if (e.meta.dt === undefined) {
    const dt = meta.dt;
    expect(dt, `enriched meta.dt of event ${e.test_int}`).to.be.a('string');
    expect(new Date(Date.parse(dt as string)).toISOString(), 'meta.dt is ISO 8601 UTC').to.equal(dt);
    expect(Date.parse(dt as string), 'meta.dt is the time of receipt').to.be.within(sent.from, sent.to);
    e.meta.dt = dt as string;
  }
  e.meta.request_id ??= sent.requestId;
  e.test ??= TEST_DEFAULT;
  return { ...e, http: { request_headers: { 'user-agent': USER_AGENT } } };
}

/**
 * Checks that `messages` are exactly the `sent` events, in order, each with
 * its defaults and enrichment, its timestamp from meta.dt, no headers (the
 * default kafka.message_headers) and a null key; and that enriched ids are unique.
 */
export function expectDelivered(messages: readonly ConsumedMessage[], sent: readonly Sent[]): void {
  expect(messages.map((m) => parse(m).test_int), 'events in the order they were sent').to.deep.equal(sent.map((s) => s.event.test_int));
  const ids = new Set<unknown>();
  messages.forEach((m, i) => {
    const got = parse(m);
    const want = expectedEvent(sent[i], got);
    expect(got, `event ${sent[i].event.test_int}`).to.deep.equal(want);
    ids.add((got.meta as { id?: unknown }).id);
    expect(m.timestamp, `timestamp of event ${sent[i].event.test_int}`).to.equal(Date.parse((want.meta as { dt: string }).dt));
    expect(m.headers, `headers of event ${sent[i].event.test_int}: none, as EventGate`).to.deep.equal({});
    expect(m.key, 'no stream config: no key').to.equal(null);
  });
  expect(ids.size, 'distinct meta.id per event').to.equal(messages.length);
}

export function parse(m: ConsumedMessage): Record<string, unknown> & { test_int?: unknown } {
  expect(m.value, `message at offset ${m.offset} has a value`).to.be.instanceOf(Buffer);
  return JSON.parse((m.value as Buffer).toString('utf8')) as Record<string, unknown>;
}

/** test_int of each event of a spool, sorted. */
export function spooledInts(entries: readonly SpoolEntry[]): number[] {
  return entries.map((e) => (e.event as { test_int: number }).test_int).sort((a, b) => a - b);
}

/** Checks that `actual` holds every field of `expected`, recursing into objects (what eventgate added is ignored). */
export function expectContains(actual: unknown, expected: unknown, path = 'event'): void {
  if (expected === null || typeof expected !== 'object' || Array.isArray(expected)) {
    expect(actual, path).to.deep.equal(expected);
    return;
  }
  expect(actual, path).to.be.an('object');
  for (const [key, value] of Object.entries(expected)) expectContains((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
}

export interface Exited {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The JSON report `eventgate replay` prints last on stdout; fails the test when there is none. */
/** The report of `eventgate replay`: stdout must be that one JSON document, one line, and nothing else. */
export function replayReport(exit: Exited): Record<string, unknown> {
  const lines = exit.stdout.split('\n');
  expect(lines, `one JSON line on stdout:\n${exit.stdout}`).to.have.length(2);
  expect(lines[1]).to.equal('');
  const report = JSON.parse(lines[0]) as unknown;
  expect(report).to.be.an('object').that.includes.all.keys('file', 'read', 'produced', 'invalid', 'failed', 'skipped_lines');
  return report as Record<string, unknown>;
}

/** A child process of this test run, its output collected. */
export interface Child {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when it has exited; rejects (and kills it) when it has not within `ms`. */
  exited(ms: number): Promise<Exited>;
  /** Kills it (SIGKILL) if it still runs; for after hooks. */
  kill(): Promise<void>;
}

/** Runs `node bin/eventgate ARGS` from the project folder. */
export function eventgate(args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'eventgate'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<Exited>((resolve) => {
    // 'close': the exit and the end of its output, so stdout() is complete.
    child.once('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    async exited(ms) {
      try {
        return await within(ms, exit, `eventgate ${args.join(' ')} to exit`);
      } catch (e) {
        if (running()) child.kill('SIGKILL');
        throw new Error(`${(e as Error).message}\nstderr: ${err}\nstdout: ${out.slice(-2000)}`);
      }
    },
    async kill() {
      if (!running()) return;
      child.kill('SIGKILL');
      await exit;
    },
  };
}
