import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import { until } from '../helpers/until';
import { Eventgate, freeBase, isGone, send, testEvent, type TempConfig, withTempConfig } from '../helpers/eventgate-process';

describe('a SIGHUP that changes logging.level', function () {
  this.timeout(40000);
  let cfg: TempConfig;
  let eg: Eventgate | undefined;
  withTempConfig((c) => (cfg = c));
  afterEach(() => {
    for (const pid of eg?.forked() ?? []) rmSync(`/tmp/perf-${pid}.map`, { force: true });
    eg = undefined;
  });

  it('reaches the master before the roll, and a roll onto warn with debug_mode on still logs the inspector URL', async () => {
    cfg.write({ num_workers: 1, logging: { level: 'info' } });
    eg = new Eventgate(cfg.path);
    const [oldPid] = [...(await eg.waitForWorkers(1)).values()];
    const base = await freeBase(2, [cfg.port]);
    cfg.write({ num_workers: 1, logging: { level: 'warn' }, debug_mode: true, debug_inspect_port_base: base });
    eg.signal('SIGHUP');
    const hup = await eg.waitForMaster('reload.started');
    const said = await eg.waitFor((l) => l.worker_id === 0 && typeof l.inspector_url === 'string', 20000, 'the inspector line');
    expect(said.level).to.equal(40);
    const newPid = said.worker_pid as number;
    expect(readFileSync(`/proc/${newPid}/cmdline`, 'utf8').split('\0')).to.include(`--inspect=127.0.0.1:${base + 2}`);
    // The roll is over once the old worker has drained and gone (its lines are at info: not logged now).
    await until(() => isGone(oldPid), 20000, 'the old worker to go');
    const answer = await send(cfg.port, 'POST', '/v1/events', testEvent());
    expect(answer.status).to.equal(201);
    // Nothing under warn after the re-read, from the master (not "rolling the workers", not "worker
    // listening") or from the new worker; the old one drained on its old config.
    const after = eg.lines.slice(eg.lines.indexOf(hup) + 1).filter((l) => l.worker_id === 0 || l.worker_id === said.worker);
    expect(after.filter((l) => l.level < 40).map((l) => JSON.stringify(l))).to.deep.equal([]);
    eg.signal('SIGTERM');
    expect((await eg.exited).code).to.equal(0);
  });
});
