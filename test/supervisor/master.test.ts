import { expect } from 'chai';
import { until } from '../helpers/until';
import type { TempConfig} from '../helpers/eventgate-process';
import { Eventgate, isGone, Load, send, testEvent, withTempConfig } from '../helpers/eventgate-process';

describe('master and workers', function () {
  this.timeout(30000);
  let cfg: TempConfig;
  let eg: Eventgate | undefined;

  withTempConfig((c) => (cfg = c));

  it('starts one worker when -n 1 overrides num_workers, and it serves', async () => {
    cfg.write({ num_workers: 2 });
    eg = new Eventgate(cfg.path, ['-n', '1']);
    const workers = await eg.waitForWorkers(1);
    await eg.waitForMaster('master.started');
    const a = await send(cfg.port, 'POST', '/v1/events', testEvent());
    expect(a.status).to.equal(201);
    expect(a.headers['x-served-by']).to.equal(String([...workers.keys()][0]));
    expect(eg.listening().size).to.equal(1);
  });

  it('starts two workers that both serve, each with its own pid and log lines carrying worker_id and pid', async () => {
    cfg.write({ num_workers: 2 });
    eg = new Eventgate(cfg.path);
    const workers = await eg.waitForWorkers(2);
    expect(new Set(workers.values()).size).to.equal(2);
    const servedBy = new Set<string>();
    await until(async () => {
      const a = await send(cfg.port, 'POST', '/v1/events', testEvent());
      expect(a.status).to.equal(201);
      servedBy.add(a.headers['x-served-by'] as string);
      return servedBy.size === 2;
    }, 5000, 'answers from both workers');
    expect([...servedBy].sort()).to.deep.equal([...workers.keys()].map(String).sort());
    for (const [id, pid] of workers) {
      const line = await eg.waitFor((l) => l.worker_id === id && l.event === 'service.listening');
      expect(line.pid).to.equal(pid);
    }
    expect(eg.lines.every((l) => typeof l.worker_id === 'number' && typeof l.pid === 'number')).to.equal(true);
  });

  it('replaces a worker killed with SIGKILL by a new one with a new pid, and backs off on repeated crashes', async () => {
    cfg.write({ num_workers: 1, worker_restart_delay_ms: 200, worker_restart_delay_max_ms: 20000 });
    eg = new Eventgate(cfg.path);
    let [[, pid]] = [...(await eg.waitForWorkers(1))];
    const pids = [pid];
    const crashes = 3;
    for (let i = 1; i <= crashes; i++) {
      process.kill(pid, 'SIGKILL');
      const died = await eg.waitForMaster('worker.died', i);
      expect(died).to.include({ worker_pid: pid, signal: 'SIGKILL', cause: 'crash' });
      await until(() => eg!.listening().size === 1 && ![...pids].includes([...eg!.listening().values()][0]), 10000, 'a replacement');
      pid = [...eg.listening().values()][0];
      pids.push(pid);
      const a = await send(cfg.port, 'GET', '/healthz');
      expect(a.status).to.equal(200);
    }
    const delays = eg.master('worker.died').map((l) => l.restart_delay_ms);
    expect(delays).to.deep.equal([200, 400, 800]);
    // The replacement waited its delay: fork time after death time.
    const forks = eg.master('worker.forked').slice(1);
    const deaths = eg.master('worker.died');
    for (let i = 0; i < crashes; i++) {
      const waited = Date.parse(forks[i].time as string) - Date.parse(deaths[i].time as string);
      expect(waited, `replacement ${i + 1}`).to.be.at.least((delays[i] as number) - 5);
    }
    expect(new Set(pids).size).to.equal(crashes + 1);
  });

  it('kills and replaces a worker whose heartbeats stop (a stopped process, as a busy loop would be)', async () => {
    cfg.write({ num_workers: 2, worker_heartbeat_timeout: 1000 });
    eg = new Eventgate(cfg.path);
    const [[id, pid]] = [...(await eg.waitForWorkers(2))];
    const load = new Load(cfg.port, 2);
    await until(() => load.results.length >= 10, 5000, 'load running');
    process.kill(pid, 'SIGSTOP');
    const killed = await eg.waitForMaster('worker.killed');
    expect(killed).to.include({ worker: id, worker_pid: pid, reason: 'heartbeat' });
    // Not before worker_heartbeat_timeout; the upper bound only says it was this stop, with room for a loaded machine.
    expect(killed.silent_ms).to.be.within(1000, 10000);
    await eg.waitFor((l) => l.event === 'worker.died' && l.cause === 'heartbeat');
    await until(() => eg!.listening().size === 2 && !eg!.listening().has(id), 10000, 'a replacement');
    expect(isGone(pid)).to.equal(true);
    const mark = load.results.length;
    await until(() => load.results.length >= mark + 10, 5000, 'load after the kill');
    // The other worker kept serving; only requests the stopped worker had taken in are lost
    // (reset when it is killed), and none hangs: stop() returns.
    const results = await load.stop();
    const failed = results.filter((r) => r.status !== 201);
    expect(failed.every((r) => r.error === 'ECONNRESET'), JSON.stringify(failed)).to.equal(true);
    expect(failed.length).to.be.at.most(2);
  });

  it('replaces a worker over worker_heap_limit_mb gracefully: its successor listens first, it drains and exits 0', async () => {
    // 1 MB is below any worker's heap: the first heartbeat trips the watch.
    cfg.write({ num_workers: 1, worker_heap_limit_mb: 1, worker_heartbeat_timeout: 2000 });
    eg = new Eventgate(cfg.path);
    const [[id]] = [...(await eg.waitForWorkers(1))];
    const over = await eg.waitForMaster('worker.heap_over_limit');
    expect(over).to.include({ worker: id, limit_mb: 1 });
    const drained = await eg.waitFor((l) => l.event === 'worker.drained' && l.worker === id);
    expect(drained).to.include({ exit_code: 0, cause: 'drained' });
    const successor = eg.master('worker.listening').find((l) => (l.worker as number) > id);
    expect(successor, 'successor listening').to.not.equal(undefined);
    expect(eg.lines.indexOf(successor!)).to.be.below(eg.lines.indexOf(drained));
  });

  it('stops with exit code 1 and a clear line when the first worker fails startup_attempts times', async () => {
    cfg.write({ num_workers: 2, startup_attempts: 2 }, { schema_precache_uris: ['/no/such/schema/1.0.0'] });
    eg = new Eventgate(cfg.path);
    const exit = await eg.exited;
    expect(exit.code).to.equal(1);
    const fatal = eg.master('master.gave_up');
    expect(fatal).to.have.length(1);
    expect(fatal[0]).to.include({ attempts: 2, level: 60 });
    expect(fatal[0].reason).to.be.a('string').and.not.equal('');
    expect(eg.master('worker.forked')).to.have.length(2);
  });

  it('refuses a malformed -n with exit code 1 before starting anything', async () => {
    cfg.write({ num_workers: 2 });
    eg = new Eventgate(cfg.path, ['-n', 'lots']);
    expect((await eg.exited).code).to.equal(1);
    expect(eg.other.join('\n')).to.include('-n lots: use a number, ncpu or ncpu*K');
    expect(eg.lines).to.deep.equal([]);
  });

  it('leaves no worker behind when the master is killed', async () => {
    cfg.write({ num_workers: 2 });
    eg = new Eventgate(cfg.path);
    const pids = [...(await eg.waitForWorkers(2)).values()];
    eg.signal('SIGKILL');
    await eg.exited;
    await until(() => pids.every(isGone), 5000, 'the workers to exit');
  });
});
