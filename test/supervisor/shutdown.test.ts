import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Agent, request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { call } from '../helpers/http';
import { until } from '../helpers/until';
import { spoolIds } from '../helpers/ledger';
import { consumeAll, kafkaBootstrap, uniqueTopic } from '../helpers/kafka';
import type { TempConfig} from '../helpers/eventgate-process';
import { Eventgate, Load, send, testEvent, type LoadResult, withTempConfig } from '../helpers/eventgate-process';

/**
 * A request that is in flight at a worker for sure: the worker has read its
 * headers (it answered `100 Continue`) but not its body, which is sent only
 * when `finish()` is called.
 */
class HeldRequest {
  readonly id = randomUUID();
  readonly answered: Promise<number>;
  readonly continued: Promise<void>;
  /** The answer's Connection header. */
  connection: string | undefined;
  private readonly req: ClientRequest;

  constructor(port: number, agent: Agent | false = false) {
    this.req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/events',
      agent,
      headers: { 'content-type': 'application/json', expect: '100-continue' },
    });
    this.continued = new Promise((resolve) => this.req.once('continue', () => resolve()));
    this.answered = new Promise((resolve, reject) => {
      this.req.once('response', (res) => {
        this.connection = res.headers.connection;
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
      });
      this.req.once('error', reject);
    });
    this.req.flushHeaders();
  }

  finish(): void {
    this.req.end(JSON.stringify(testEvent(this.id)));
  }
}

/** How soon the exit must follow a second signal: generous for a shared machine, far below the 60 s shutdown_timeout_ms of that test. */
const SECOND_SIGNAL_EXIT_MS = 10000;

function unexpected(results: readonly LoadResult[]): LoadResult[] {
  // A connection the master had not handed to a worker when they stopped accepting is
  // refused or reset: the client knows it was not taken. Any answer must be a 201.
  return results.filter((r) => (r.error !== undefined ? !['ECONNREFUSED', 'ECONNRESET'].includes(r.error) : r.status !== 201));
}

for (const workers of [2, 0]) {
  describe(`SIGTERM with num_workers ${workers}`, function () {
    this.timeout(30000);
    let cfg: TempConfig;
    let eg: Eventgate | undefined;
    let load: Load | undefined;

    withTempConfig((c) => (cfg = c));

    it('finishes the requests in flight, exits 0, and every event answered 201 is in the sink', async () => {
      cfg.write({ num_workers: workers });
      eg = new Eventgate(cfg.path);
      if (workers) await eg.waitForMaster('master.started');
      else await eg.waitFor((l) => l.event === 'service.listening');
      load = new Load(cfg.port, 4);
      await until(() => load!.results.length >= 20, 10000, 'load running');
      const held = Array.from({ length: 4 }, () => new HeldRequest(cfg.port));
      await Promise.all(held.map((h) => h.continued));

      eg.signal('SIGTERM');
      const results = load.stop();
      load = undefined;
      // Draining, not gone: the requests held open still get their answers.
      if (workers) await until(() => eg!.lines.filter((l) => l.event === 'shutdown.started' && l.worker_id !== 0).length === workers, 10000, 'workers draining');
      else await eg.waitFor((l) => l.event === 'shutdown.started');
      for (const h of held) h.finish();
      expect(await Promise.all(held.map((h) => h.answered))).to.deep.equal([201, 201, 201, 201]);

      const exit = await eg.exited;
      expect(exit).to.deep.equal({ code: 0, signal: null });
      const all = await results;
      expect(unexpected(all), JSON.stringify(unexpected(all).slice(0, 5))).to.deep.equal([]);
      const written = new Set(cfg.written().map((e) => (e.meta as { id: string }).id));
      const accepted = [...all.filter((r) => r.status === 201).map((r) => r.id), ...held.map((h) => h.id)];
      expect(accepted.length).to.be.above(20);
      expect(accepted.filter((id) => !written.has(id))).to.deep.equal([]);
      expect(eg.lines.at(-1)).to.include({ event: 'shutdown.stopped', worker_id: 0 });
    });

    it('closes a keep-alive connection busy at SIGTERM after its answer, so it does not hold the drain open', async () => {
      cfg.write({ num_workers: workers, shutdown_timeout_ms: 20000 });
      eg = new Eventgate(cfg.path);
      if (workers) await eg.waitForMaster('master.started');
      else await eg.waitFor((l) => l.event === 'service.listening');
      const agent = new Agent({ keepAlive: true });
      const held = new HeldRequest(cfg.port, agent);
      await held.continued;
      eg.signal('SIGTERM');
      await eg.waitFor((l) => l.event === 'shutdown.started' && l.worker_id === 0);
      held.finish();
      expect(await held.answered).to.equal(201);
      expect(held.connection).to.equal('close');
      // Without the close, the connection would be kept for keepAliveTimeout (65 s) and the test time out.
      expect(await eg.exited).to.deep.equal({ code: 0, signal: null });
      agent.destroy();
    });

    it('exits non-zero at once on a second signal while draining', async () => {
      // A drain that would last a minute: only the second signal can end it within SECOND_SIGNAL_EXIT_MS.
      // No merge window: the second signal here follows the first by milliseconds (signal.test.ts tests the window).
      cfg.write({ num_workers: workers, shutdown_timeout_ms: 60000, shutdown_signal_merge_ms: 0 });
      eg = new Eventgate(cfg.path);
      if (workers) await eg.waitForMaster('master.started');
      else await eg.waitFor((l) => l.event === 'service.listening');
      // A request held open keeps the drain from finishing.
      const held = new HeldRequest(cfg.port);
      held.answered.catch(() => {});
      await held.continued;
      eg.signal('SIGTERM');
      await eg.waitFor((l) => l.event === 'shutdown.started' && l.worker_id === 0);
      eg.signal('SIGINT');
      await until(() => eg!.hasExited, SECOND_SIGNAL_EXIT_MS, 'the exit after the second signal');
      const exit = await eg.exited;
      expect(exit.code).to.equal(1);
      expect(eg.lines.some((l) => l.event === 'shutdown.second_signal')).to.equal(true);
    });

    it('exits non-zero when the drain outlasts shutdown_timeout_ms', async () => {
      cfg.write({ num_workers: workers, shutdown_timeout_ms: 500 });
      eg = new Eventgate(cfg.path);
      if (workers) await eg.waitForMaster('master.started');
      else await eg.waitFor((l) => l.event === 'service.listening');
      const held = new HeldRequest(cfg.port);
      held.answered.catch(() => {});
      await held.continued;
      eg.signal('SIGTERM');
      const exit = await eg.exited;
      expect(exit.code).to.equal(1);
      expect(eg.lines.some((l) => l.event === 'shutdown.timeout')).to.equal(true);
    });
  });
}

describe('SIGTERM with workers producing to Kafka', function () {
  this.timeout(60000);
  let cfg: TempConfig;
  let eg: Eventgate | undefined;
  let load: Load | undefined;

  // The broker comes from the mocha fixture (test/kafka/fixture.ts): without it kafkaBootstrap() fails the test.
  withTempConfig((c) => (cfg = c));

  it('flushes the producers on the way out: every event answered 201 is in the topic', async () => {
    const prefix = `${uniqueTopic('supervisor')}.`;
    cfg.write(
      { num_workers: 2 },
      {
        topic_prefix: prefix,
        failed_events_path: join(cfg.dir, 'failed-events.ndjson'),
        kafka: { connect_timeout_ms: 5000, conf: { 'metadata.broker.list': kafkaBootstrap(), log_level: 3 } },
      },
    );
    eg = new Eventgate(cfg.path);
    await eg.waitForMaster('master.started', 1, 30000);
    await until(async () => (await send(cfg.port, 'GET', '/readyz')).status === 200, 30000, 'producers ready');
    load = new Load(cfg.port, 4);
    await until(() => load!.results.filter((r) => r.status === 201).length >= 50, 20000, '50 events accepted');
    const held = new HeldRequest(cfg.port);
    await held.continued;
    eg.signal('SIGTERM');
    const results = load.stop();
    load = undefined;
    await until(() => eg!.lines.filter((l) => l.event === 'shutdown.started' && l.worker_id !== 0).length === 2, 10000, 'workers draining');
    held.finish();
    expect(await held.answered).to.equal(201);
    expect(await eg.exited).to.deep.equal({ code: 0, signal: null });
    const all = await results;
    if (process.env.EG_TEST_VERBOSE) console.log(eg.lines.filter((l) => l.level >= 40 || /^(shutdown|worker)\./.test(l.event ?? '')).map((l) => JSON.stringify(l)).join('\n'));
    expect(unexpected(all), JSON.stringify(unexpected(all).slice(0, 5))).to.deep.equal([]);
    const accepted = [...all.filter((r) => r.status === 201).map((r) => r.id), held.id];
    const messages = await consumeAll(`${prefix}test.event`, accepted.length, 30000);
    const ids = new Set(messages.map((m) => (JSON.parse(m.value!.toString()) as { meta: { id: string } }).meta.id));
    expect(accepted.filter((id) => !ids.has(id))).to.deep.equal([]);
  });
});

const ERROR_STREAM = 'eventgate.error.validation';
/** Events per hasty request: at least batch.thread_pool.min_events, so that their work after the 202 runs on the pool. */
const HASTY_EVENTS = 250;

/**
 * Hasty requests (each HASTY_EVENTS events, the last invalid) and requests
 * of one invalid event each, `concurrency` of each kind in flight until stopped.
 * Every event has a fresh meta.id; the ids are filed by the answer.
 */
class BackgroundLoad {
  /** Ids of valid events answered 202 (hasty), and of invalid ones answered 202 or 400: an error event is owed for each. */
  readonly hasty: string[] = [];
  readonly invalid: string[] = [];
  /** Ids of valid and of invalid events whose request got another answer or none: each may be written (or reported) at most once. */
  readonly otherValid: string[] = [];
  readonly otherInvalid: string[] = [];
  readonly answers = new Map<string, number>();
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly port: number,
    concurrency: number,
  ) {
    this.loops = Array.from({ length: concurrency }, () => [this.loop(true), this.loop(false)]).flat();
  }

  private async loop(hasty: boolean): Promise<void> {
    while (this.running) {
      // A hasty request ends with an invalid event: its error event is made only once Kafka (or the file) has the others.
      const ids = Array.from({ length: hasty ? HASTY_EVENTS : 1 }, () => randomUUID());
      const bad = ids.length - 1;
      const events = ids.map((id, i) => (i === bad ? { ...testEvent(id), test: 42 } : testEvent(id)));
      let status: number | undefined;
      try {
        status = (await call(this.port, { method: 'POST', path: hasty ? '/v1/events?hasty=true' : '/v1/events', body: events, fresh: true, timeoutMs: 10000 })).status;
      } catch {
        status = undefined;
      }
      const key = String(status ?? 'none');
      this.answers.set(key, (this.answers.get(key) ?? 0) + 1);
      const owed = status === (hasty ? 202 : 400);
      (owed ? this.hasty : this.otherValid).push(...ids.slice(0, bad));
      (owed ? this.invalid : this.otherInvalid).push(ids[bad]);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** The ids `ids` holds more than once, and those in it that `allowed` does not hold. */
function strays(ids: readonly string[], allowed: ReadonlySet<string>): { repeated: string[]; unknown: string[] } {
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const id of ids) {
    if (seen.has(id)) repeated.push(id);
    seen.add(id);
  }
  return { repeated, unknown: [...seen].filter((id) => !allowed.has(id)) };
}

for (const sink of ['file', 'kafka'] as const) {
  describe(`SIGTERM with hasty events and error events still being produced, ${sink} sink`, function () {
    this.timeout(60000);
    let cfg: TempConfig;

    withTempConfig((c) => (cfg = c));

    it('exits 0 with every event answered 202 and every error event owed in the sink, once, and nothing else', async () => {
      const prefix = `${uniqueTopic('shutdown-hasty')}.`;
      const kafka =
        sink === 'kafka'
          ? {
              topic_prefix: prefix,
              failed_events_path: join(cfg.dir, 'failed-events.ndjson'),
              kafka: { connect_timeout_ms: 5000, conf: { 'metadata.broker.list': kafkaBootstrap(), log_level: 3 } },
            }
          : {};
      cfg.write({ num_workers: 2, shutdown_timeout_ms: 30000 }, { error_stream: ERROR_STREAM, service_name: 'eventgate-shutdown', ...kafka });
      const eg = new Eventgate(cfg.path);
      await eg.waitForMaster('master.started', 1, 30000);
      await until(async () => (await send(cfg.port, 'GET', '/readyz')).status === 200, 30000, 'ready');
      const load = new BackgroundLoad(cfg.port, 2);
      try {
        await until(() => load.hasty.length >= 20 * (HASTY_EVENTS - 1) && load.invalid.length >= 40, 30000, 'hasty and invalid events answered');
        // The signal comes while the load runs: the last 202s and 400s have their events still on their way.
        eg.signal('SIGTERM');
      } finally {
        await load.stop();
      }
      expect(await eg.exited, eg.other.join('\n')).to.deep.equal({ code: 0, signal: null });

      let events: string[];
      let errorOf: string[];
      /** What the Kafka sink spooled: an event there is not delivered (and a replay would write it twice if it is also in the topic). */
      let spool: string[] = [];
      if (sink === 'file') {
        const written = cfg.written() as { meta: { id: string; stream: string }; raw_event?: string }[];
        events = written.filter((e) => e.meta.stream === 'test.event').map((e) => e.meta.id);
        errorOf = written.filter((e) => e.meta.stream === ERROR_STREAM).map((e) => (JSON.parse(e.raw_event!) as { meta: { id: string } }).meta.id);
      } else {
        // Read to each partition's high watermark: an event written twice, or one that should not be there, shows.
        const idOf = (m: { value: Buffer | null }) => JSON.parse(m.value!.toString()) as { meta: { id: string }; raw_event?: string };
        events = (await consumeAll(`${prefix}test.event`, load.hasty.length, 30000)).map((m) => idOf(m).meta.id);
        errorOf = (await consumeAll(`${prefix}${ERROR_STREAM}`, load.invalid.length, 30000)).map(
          (m) => (JSON.parse(idOf(m).raw_event!) as { meta: { id: string } }).meta.id,
        );
        spool = await spoolIds(join(cfg.dir, 'failed-events.ndjson'));
      }
      const answers = JSON.stringify([...load.answers]);
      const hasty = new Set(load.hasty);
      const eventsSeen = new Set(events);
      expect(load.hasty.filter((id) => !eventsSeen.has(id)).length, `events answered 202 missing from the sink; answers ${answers}`).to.equal(0);
      expect(strays(events, new Set([...load.hasty, ...load.otherValid]))).to.deep.equal({ repeated: [], unknown: [] });
      const errorsSeen = new Set(errorOf);
      expect(load.invalid.filter((id) => !errorsSeen.has(id)).length, `invalid events answered 400 without their error event; answers ${answers}`).to.equal(0);
      expect(strays(errorOf, new Set([...load.invalid, ...load.otherInvalid]))).to.deep.equal({ repeated: [], unknown: [] });
      const owed = new Set([...load.hasty, ...load.invalid, ...eventsSeen]);
      expect(spool.filter((id) => owed.has(id)).length, `events spooled although answered 202, or in the topic; answers ${answers}`).to.equal(0);
      expect(hasty.size).to.be.at.least(20 * (HASTY_EVENTS - 1));
    });
  });
}
