import { expect } from 'chai';
import { until } from '../helpers/until';
import type { TempConfig} from '../helpers/eventgate-process';
import { Eventgate, Load, send, testEvent, withTempConfig } from '../helpers/eventgate-process';

describe('one process (num_workers 0)', function () {
  this.timeout(30000);
  let cfg: TempConfig;
  let eg: Eventgate | undefined;
  let load: Load | undefined;

  withTempConfig((c) => (cfg = c));

  it('serves from the process itself: no workers are forked', async () => {
    cfg.write({ num_workers: 2 });
    eg = new Eventgate(cfg.path, ['-n', '0']);
    const listening = await eg.waitFor((l) => l.event === 'service.listening');
    expect(listening.pid).to.equal(eg.pid);
    expect(listening.worker_id).to.equal(0);
    const a = await send(cfg.port, 'POST', '/v1/events', testEvent());
    expect(a.status).to.equal(201);
    expect(a.headers['x-served-by']).to.equal(undefined);
    expect(eg.master('worker.forked')).to.deep.equal([]);
  });

  it('reloads the config in place on SIGHUP under load without a failed request, and refuses an invalid one', async () => {
    cfg.write({ num_workers: 0 }, { cors: 'https://before.example' });
    eg = new Eventgate(cfg.path);
    await eg.waitFor((l) => l.event === 'service.listening');
    load = new Load(cfg.port, 4);
    await until(() => load!.results.length >= 20, 10000, 'load running');
    cfg.write({ num_workers: 0 }, { cors: 'https://after.example' });
    eg.signal('SIGHUP');
    await eg.waitFor((l) => l.event === 'reload.done');
    const mark = load.results.length;
    await until(() => load!.results.length >= mark + 20, 10000, 'load after the reload');
    const results = await load.stop();
    load = undefined;
    expect(results.filter((r) => r.status !== 201)).to.deep.equal([]);
    expect(new Set(results.slice(mark).map((r) => r.cors))).to.deep.equal(new Set(['https://after.example']));
    expect(results.some((r) => r.cors === 'https://before.example')).to.equal(true);
    cfg.writeRaw('num_workers: -3\n');
    eg.signal('SIGHUP');
    const refused = await eg.waitFor((l) => l.event === 'reload.refused');
    expect(refused.problems).to.be.an('array').that.is.not.empty;
    expect((refused.problems as string[]).join()).to.include('num_workers');
    const a = await send(cfg.port, 'GET', '/healthz');
    expect(a.status).to.equal(200);
    expect(a.headers['access-control-allow-origin']).to.equal('https://after.example');
  });

  it('applies a new logging.level on SIGHUP', async () => {
    cfg.write({ num_workers: 0, logging: { level: 'info' } });
    eg = new Eventgate(cfg.path);
    await eg.waitFor((l) => l.event === 'service.listening');
    cfg.write({ num_workers: 0, logging: { level: 'error' } });
    eg.signal('SIGHUP');
    await eg.waitFor((l) => l.event === 'reload.done');
    const count = eg.lines.length;
    // A refused config is logged at error (kept), the "reloading" line at info (dropped now).
    cfg.writeRaw('num_workers: -3\n');
    eg.signal('SIGHUP');
    await eg.waitFor((l) => l.event === 'reload.refused');
    expect(eg.lines.slice(count).map((l) => l.event)).to.deep.equal(['reload.refused']);
  });
});
