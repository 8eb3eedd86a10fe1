import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/service';
import { until } from '../helpers/until';
import { consumeAll, kafkaBootstrap, uniqueTopic } from '../helpers/kafka';
import type { TempConfig} from '../helpers/eventgate-process';
import { Eventgate, Load, send, testEvent, type LoadResult, withTempConfig } from '../helpers/eventgate-process';

/** A schema only the extra base has: 400 (not found) before it is configured, 201 after. */
function writeExtraBase(dir: string): string {
  const base = join(dir, 'extra-schemas');
  mkdirSync(join(base, 'extra/event'), { recursive: true });
  const text = readFileSync(join(ROOT, 'schemas/test/event/1.0.0.yaml'), 'utf8')
    .replace('title: test/event', 'title: extra/event')
    .replace('$id: /test/event/1.0.0', '$id: /extra/event/1.0.0');
  writeFileSync(join(base, 'extra/event/1.0.0.yaml'), text);
  return base;
}

const extraEvent = () => ({ ...testEvent(), $schema: '/extra/event/1.0.0' });

function failures(results: readonly LoadResult[]): LoadResult[] {
  return results.filter((r) => r.error !== undefined || (r.status ?? 0) >= 500 || r.status !== 201);
}

describe('SIGHUP with workers', function () {
  this.timeout(60000);
  let cfg: TempConfig;
  let eg: Eventgate | undefined;
  let load: Load | undefined;

  withTempConfig((c) => (cfg = c));

  it('rolls every worker onto the new config under load without a failed request, and the new config takes effect', async () => {
    const base = [join(ROOT, 'schemas')];
    cfg.write({ num_workers: 2 }, { cors: 'https://before.example' });
    eg = new Eventgate(cfg.path);
    const before = await eg.waitForWorkers(2);
    await eg.waitForMaster('master.started');
    expect((await send(cfg.port, 'POST', '/v1/events', extraEvent())).status).to.equal(400);

    load = new Load(cfg.port, 4);
    await until(() => load!.results.length >= 20, 10000, 'load running');
    // logging.level stays info: the master's roll lines are the test's evidence (reload-level.test.ts changes the level).
    cfg.write({ num_workers: 2 }, { cors: 'https://after.example', schema_base_uris: [...base, writeExtraBase(cfg.dir)] });
    eg.signal('SIGHUP');
    await eg.waitForMaster('roll.done', 1, 30000);
    const mark = load.results.length;
    await until(() => load!.results.length >= mark + 20, 10000, 'load after the roll');
    const results = await load.stop();
    load = undefined;

    expect(failures(results), JSON.stringify(failures(results).slice(0, 5))).to.deep.equal([]);
    const after = eg.listening();
    // The load ran through the roll: old and new workers both answered some of it.
    const servedBy = results.map((r) => Number(r.servedBy));
    if (process.env.EG_TEST_VERBOSE) console.log(results.length, mark, servedBy.join(','));
    expect(servedBy.some((id) => before.has(id))).to.equal(true);
    expect(servedBy.some((id) => after.has(id))).to.equal(true);
    expect(after.size).to.equal(2);
    for (const pid of before.values()) expect([...after.values()]).to.not.include(pid);
    // Old workers drained (exit 0) after their successors listened.
    expect(eg.master('worker.drained').map((l) => l.worker).sort()).to.deep.equal([...before.keys()].sort());
    // Every answer after the roll is from a new worker with the new config.
    const late = results.slice(mark);
    expect(new Set(late.map((r) => r.cors))).to.deep.equal(new Set(['https://after.example']));
    expect(late.every((r) => after.has(Number(r.servedBy)))).to.equal(true);
    expect((await send(cfg.port, 'POST', '/v1/events', extraEvent())).status).to.equal(201);
    // Every event answered 201 is in the sink.
    const written = new Set(cfg.written().map((e) => (e.meta as { id: string }).id));
    expect(results.filter((r) => !written.has(r.id))).to.deep.equal([]);
  });

  it('changes the number of workers when num_workers changes', async () => {
    cfg.write({ num_workers: 1 });
    eg = new Eventgate(cfg.path);
    await eg.waitForWorkers(1);
    cfg.write({ num_workers: 3 });
    eg.signal('SIGHUP');
    await eg.waitForMaster('roll.done', 1, 20000);
    expect(eg.listening().size).to.equal(3);
    cfg.write({ num_workers: 2 });
    eg.signal('SIGHUP');
    await eg.waitForMaster('roll.done', 2, 20000);
    await until(() => eg!.listening().size === 2, 5000, 'two workers');
    const live = eg.listening();
    // The second roll's workers are all new, and none of the drained ones is left.
    expect(eg.master('worker.drained')).to.have.length(4);
    expect(Math.min(...live.keys())).to.be.above(4);
  });

  it('refuses an invalid new config with every problem logged and keeps the old workers serving', async () => {
    cfg.write({ num_workers: 2 }, { cors: 'https://before.example' });
    eg = new Eventgate(cfg.path);
    const before = await eg.waitForWorkers(2);
    cfg.writeRaw(`num_workers: lots\nservices:\n  - conf:\n      port: -1\n      no_such_key: 1\n`);
    eg.signal('SIGHUP');
    const refused = await eg.waitForMaster('reload.refused');
    expect(refused.code).to.equal('EG_ERR_CONFIG_INVALID');
    const problems = (refused.problems as string[]).join('\n');
    expect(problems).to.include('num_workers');
    expect(problems).to.include('services[0].conf.port');
    expect(problems).to.include('no_such_key');
    expect(eg.listening()).to.deep.equal(before);
    const a = await send(cfg.port, 'POST', '/v1/events', testEvent());
    expect(a.status).to.equal(201);
    expect(a.headers['access-control-allow-origin']).to.equal('https://before.example');
    expect(eg.master('worker.forked')).to.have.length(2);
  });

  it('abandons a roll whose new workers cannot start, keeping the old workers and config', async () => {
    cfg.write({ num_workers: 2, startup_attempts: 2 }, { cors: 'https://before.example' });
    eg = new Eventgate(cfg.path);
    const before = await eg.waitForWorkers(2);
    // Valid as a file, but no worker can start on it: a precached schema is missing.
    cfg.write({ num_workers: 2, startup_attempts: 2 }, { cors: 'https://after.example', schema_precache_uris: ['/no/such/schema/1.0.0'] });
    load = new Load(cfg.port, 2);
    eg.signal('SIGHUP');
    const abandoned = await eg.waitForMaster('roll.abandoned', 1, 20000);
    expect(abandoned).to.include({ rolled: 0, kept: 2 });
    expect(eg.master('worker.start_failed')).to.have.length(2);
    const results = await load.stop();
    load = undefined;
    expect(failures(results)).to.deep.equal([]);
    expect(eg.listening()).to.deep.equal(before);
    expect((await send(cfg.port, 'GET', '/healthz')).headers['access-control-allow-origin']).to.equal('https://before.example');
  });
});

describe('SIGHUP with workers producing to Kafka', function () {
  this.timeout(60000);
  let cfg: TempConfig;
  let eg: Eventgate | undefined;
  let load: Load | undefined;

  // The broker comes from the mocha fixture (test/kafka/fixture.ts): without it kafkaBootstrap() fails the test.
  withTempConfig((c) => (cfg = c));

  it('rolls under load without a failed request: new workers take traffic only once their producers are connected', async () => {
    const prefix = `${uniqueTopic('supervisor')}.`;
    const conf = (cors: string) => ({
      cors,
      topic_prefix: prefix,
      failed_events_path: join(cfg.dir, 'failed-events.ndjson'),
      kafka: { connect_timeout_ms: 5000, conf: { 'metadata.broker.list': kafkaBootstrap(), log_level: 3 } },
    });
    cfg.write({ num_workers: 2 }, conf('https://before.example'));
    eg = new Eventgate(cfg.path);
    const before = await eg.waitForWorkers(2, 30000);
    load = new Load(cfg.port, 4);
    await until(() => load!.results.length >= 20, 10000, 'load running');
    cfg.write({ num_workers: 2 }, conf('https://after.example'));
    eg.signal('SIGHUP');
    await eg.waitForMaster('roll.done', 1, 30000);
    const mark = load.results.length;
    await until(() => load!.results.length >= mark + 20, 10000, 'load after the roll');
    const results = await load.stop();
    load = undefined;
    expect(failures(results), JSON.stringify(failures(results).slice(0, 3))).to.deep.equal([]);
    expect([...eg.listening().values()].some((pid) => [...before.values()].includes(pid))).to.equal(false);
    const messages = await consumeAll(`${prefix}test.event`, results.length, 30000);
    const ids = new Set(messages.map((m) => (JSON.parse(m.value!.toString()) as { meta: { id: string } }).meta.id));
    expect(results.filter((r) => !ids.has(r.id))).to.deep.equal([]);
  });
});
