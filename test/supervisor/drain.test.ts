import { expect } from 'chai';
import { Agent, request } from 'node:http';
import { until } from '../helpers/until';
import type { TempConfig } from '../helpers/eventgate-process';
import { Eventgate, testEvent, withTempConfig } from '../helpers/eventgate-process';
import { KeepAliveLoad, type KeepAliveResult } from '../helpers/keepalive-load';

const brief = (rs: readonly KeepAliveResult[]) => JSON.stringify(rs.slice(0, 5));

/** One POST on `agent`; resolves with what came back, or the error code. */
function postOn(agent: Agent, port: number): Promise<{ status?: number; connection?: string; reused: boolean; error?: string }> {
  const body = JSON.stringify(testEvent());
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/v1/events', agent, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.once('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, reused: req.reusedSocket }));
      },
    );
    req.setTimeout(10000, () => req.destroy(Object.assign(new Error('unanswered'), { code: 'TEST_TIMEOUT' })));
    req.once('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message, reused: req.reusedSocket }));
    req.end(body);
  });
}

describe('draining under keep-alive load', function () {
  this.timeout(90000);
  let cfg: TempConfig;
  let eg: Eventgate | undefined;
  let load: KeepAliveLoad | undefined;

  // Before withTempConfig's cleanUp: the load stops while the service still runs.
  afterEach(async () => {
    await load?.stop();
    load = undefined;
  });
  withTempConfig((c) => (cfg = c));

  async function startTwo(): Promise<Eventgate> {
    cfg.write({ num_workers: 2 });
    const started = new Eventgate(cfg.path);
    await started.waitForWorkers(2);
    await started.waitForMaster('master.started');
    return started;
  }

  it('rolls 5 times in a row on SIGHUP with no socket error and no answer other than 2xx on 8 keep-alive connections', async () => {
    eg = await startTwo();
    load = new KeepAliveLoad(cfg.port, 8);
    await until(() => load!.results.length >= 100, 10000, 'load running');
    for (let roll = 1; roll <= 5; roll++) {
      eg.signal('SIGHUP');
      await eg.waitForMaster('roll.done', roll, 30000);
    }
    const mark = load.results.length;
    await until(() => load!.results.length >= mark + 100, 10000, 'load after the rolls');
    const results = await load.stop();
    load = undefined;
    const failed = results.filter((r) => r.error !== undefined || r.status === undefined || r.status < 200 || r.status > 299);
    expect(failed, brief(failed)).to.deep.equal([]);
    // Ten workers drained (two per roll), each exiting 0 after its last connection closed.
    expect(eg.master('worker.drained')).to.have.length(10);
    // The load went over reused connections throughout: keep-alive was not simply off.
    expect(results.filter((r) => r.reused).length).to.be.above(results.length / 2);
    const written = new Set(cfg.written().map((e) => (e.meta as { id: string }).id));
    expect(results.filter((r) => !written.has(r.id))).to.deep.equal([]);
  });

  it('rolls twice on two SIGHUPs 200 ms apart with no socket error and no answer other than 2xx', async () => {
    eg = await startTwo();
    load = new KeepAliveLoad(cfg.port, 8);
    await until(() => load!.results.length >= 100, 10000, 'load running');
    eg.signal('SIGHUP');
    // The second signal's timing is the input under test (it lands while the first roll runs), not a wait.
    await new Promise((r) => setTimeout(r, 200));
    eg.signal('SIGHUP');
    await eg.waitForMaster('roll.done', 2, 40000);
    const mark = load.results.length;
    await until(() => load!.results.length >= mark + 100, 10000, 'load after the rolls');
    const results = await load.stop();
    load = undefined;
    const failed = results.filter((r) => r.error !== undefined || r.status === undefined || r.status < 200 || r.status > 299);
    expect(failed, brief(failed)).to.deep.equal([]);
    expect(eg.master('worker.drained')).to.have.length(4);
  });

  it('on SIGTERM answers every request sent on a connection it had accepted; refused or reset connections are new ones it never read from', async () => {
    eg = await startTwo();
    load = new KeepAliveLoad(cfg.port, 8);
    await until(() => load!.results.length >= 100, 10000, 'load running');
    const stoppedAt = Date.now();
    eg.signal('SIGTERM');
    expect(await eg.exited).to.deep.equal({ code: 0, signal: null });
    const results = await load.stop();
    load = undefined;
    // A request on a connection the service had answered on before is one it accepted: it must be answered 2xx.
    const onAccepted = results.filter((r) => r.reused && (r.error !== undefined || r.status! < 200 || r.status! > 299));
    expect(onAccepted, brief(onAccepted)).to.deep.equal([]);
    // A new connection once the workers stopped listening: refused, or (accepted by the kernel in the
    // last moment, never by a worker) reset. Only after the stop began, and nothing of it was written.
    const fresh = results.filter((r) => r.error !== undefined);
    expect(fresh.filter((r) => r.reused || !['ECONNREFUSED', 'ECONNRESET'].includes(r.error!) || r.sentAt < stoppedAt), brief(fresh)).to.deep.equal([]);
    const written = new Set(cfg.written().map((e) => (e.meta as { id: string }).id));
    expect(fresh.filter((r) => written.has(r.id))).to.deep.equal([]);
    const answered = results.filter((r) => r.status === 201);
    expect(answered.length).to.be.above(100);
    expect(answered.filter((r) => !written.has(r.id))).to.deep.equal([]);
  });

  for (const workers of [2, 0]) {
    it(`with num_workers ${workers}, answers a request sent on a keep-alive connection that was idle when SIGTERM came, closing it after`, async () => {
      cfg.write({ num_workers: workers });
      eg = new Eventgate(cfg.path);
      if (workers) await eg.waitForMaster('master.started');
      else await eg.waitFor((l) => l.event === 'service.listening');
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        expect(await postOn(agent, cfg.port)).to.include({ status: 201, reused: false });
        // The connection is idle on the server's side now; the stop begins, then the client sends on it.
        eg.signal('SIGTERM');
        if (workers) await until(() => eg!.lines.filter((l) => l.event === 'shutdown.started' && l.worker_id !== 0).length === workers, 10000, 'workers draining');
        else await eg.waitFor((l) => l.event === 'shutdown.started');
        expect(await postOn(agent, cfg.port)).to.deep.equal({ status: 201, connection: 'close', reused: true });
        expect(await eg.exited).to.deep.equal({ code: 0, signal: null });
      } finally {
        agent.destroy();
      }
    });
  }
});
