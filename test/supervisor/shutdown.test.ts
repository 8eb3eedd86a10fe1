import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Agent, request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { until } from '../helpers/until';
import { consumeAll, kafkaBootstrap, uniqueTopic } from '../kafka/helpers';
import type { TempConfig} from './harness';
import { Eventgate, Load, send, testEvent, type LoadResult, withTempConfig } from './harness';

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
      if (workers) await eg.waitForMaster('eventgate started');
      else await eg.waitFor((l) => l.msg === 'listening');
      load = new Load(cfg.port, 4);
      await until(() => load!.results.length >= 20, 10000, 'load running');
      const held = Array.from({ length: 4 }, () => new HeldRequest(cfg.port));
      await Promise.all(held.map((h) => h.continued));

      eg.signal('SIGTERM');
      const results = load.stop();
      load = undefined;
      // Draining, not gone: the requests held open still get their answers.
      if (workers) await until(() => eg!.lines.filter((l) => l.msg === 'worker draining').length === workers, 10000, 'workers draining');
      else await eg.waitFor((l) => l.msg === 'shutting down');
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
      expect(eg.lines.at(-1)?.msg).to.equal('stopped');
    });

    it('closes a keep-alive connection busy at SIGTERM after its answer, so it does not hold the drain open', async () => {
      cfg.write({ num_workers: workers, shutdown_timeout_ms: 20000 });
      eg = new Eventgate(cfg.path);
      if (workers) await eg.waitForMaster('eventgate started');
      else await eg.waitFor((l) => l.msg === 'listening');
      const agent = new Agent({ keepAlive: true });
      const held = new HeldRequest(cfg.port, agent);
      await held.continued;
      eg.signal('SIGTERM');
      await eg.waitFor((l) => l.msg === (workers ? 'shutting down: draining the workers' : 'shutting down'));
      held.finish();
      expect(await held.answered).to.equal(201);
      expect(held.connection).to.equal('close');
      // Without the close, the connection would be kept for keepAliveTimeout (65 s) and the test time out.
      expect(await eg.exited).to.deep.equal({ code: 0, signal: null });
      agent.destroy();
    });

    it('exits non-zero at once on a second signal while draining', async () => {
      // A drain that would last a minute: only the second signal can end it within SECOND_SIGNAL_EXIT_MS.
      cfg.write({ num_workers: workers, shutdown_timeout_ms: 60000 });
      eg = new Eventgate(cfg.path);
      if (workers) await eg.waitForMaster('eventgate started');
      else await eg.waitFor((l) => l.msg === 'listening');
      // A request held open keeps the drain from finishing.
      const held = new HeldRequest(cfg.port);
      held.answered.catch(() => {});
      await held.continued;
      eg.signal('SIGTERM');
      await eg.waitFor((l) => l.msg === (workers ? 'shutting down: draining the workers' : 'shutting down'));
      eg.signal('SIGINT');
      await until(() => eg!.hasExited, SECOND_SIGNAL_EXIT_MS, 'the exit after the second signal');
      const exit = await eg.exited;
      expect(exit.code).to.equal(1);
      expect(eg.lines.some((l) => /second signal/.test(l.msg))).to.equal(true);
    });

    it('exits non-zero when the drain outlasts shutdown_timeout_ms', async () => {
      cfg.write({ num_workers: workers, shutdown_timeout_ms: 500 });
      eg = new Eventgate(cfg.path);
      if (workers) await eg.waitForMaster('eventgate started');
      else await eg.waitFor((l) => l.msg === 'listening');
      const held = new HeldRequest(cfg.port);
      held.answered.catch(() => {});
      await held.continued;
      eg.signal('SIGTERM');
      const exit = await eg.exited;
      expect(exit.code).to.equal(1);
      expect(eg.lines.some((l) => /shutdown timed out/.test(l.msg))).to.equal(true);
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
    await eg.waitForMaster('eventgate started', 1, 30000);
    await until(async () => (await send(cfg.port, 'GET', '/readyz')).status === 200, 30000, 'producers ready');
    load = new Load(cfg.port, 4);
    await until(() => load!.results.filter((r) => r.status === 201).length >= 50, 20000, '50 events accepted');
    const held = new HeldRequest(cfg.port);
    await held.continued;
    eg.signal('SIGTERM');
    const results = load.stop();
    load = undefined;
    await until(() => eg!.lines.filter((l) => l.msg === 'worker draining').length === 2, 10000, 'workers draining');
    held.finish();
    expect(await held.answered).to.equal(201);
    expect(await eg.exited).to.deep.equal({ code: 0, signal: null });
    const all = await results;
    if (process.env.EG_TEST_VERBOSE) console.log(eg.lines.filter((l) => l.level >= 40 || /drain|stop|shutting/.test(l.msg)).map((l) => JSON.stringify(l)).join('\n'));
    expect(unexpected(all), JSON.stringify(unexpected(all).slice(0, 5))).to.deep.equal([]);
    const accepted = [...all.filter((r) => r.status === 201).map((r) => r.id), held.id];
    const messages = await consumeAll(`${prefix}test.event`, accepted.length, 30000);
    const ids = new Set(messages.map((m) => (JSON.parse(m.value!.toString()) as { meta: { id: string } }).meta.id));
    expect(accepted.filter((id) => !ids.has(id))).to.deep.equal([]);
  });
});
