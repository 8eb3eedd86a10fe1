import { expect } from 'chai';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths';
import { until } from '../helpers/until';
import { Eventgate, type LogLine, type TempConfig, withTempConfig } from '../helpers/eventgate-process';

/** Loads test/supervisor/fault-preload.ts into every process: SIGUSR2 then breaks the one it reaches. */
function faultEnv(fault: 'throw' | 'reject'): NodeJS.ProcessEnv {
  return { NODE_OPTIONS: `--require ${join(ROOT, 'dist/test/supervisor/fault-preload.js')}`, EVENTGATE_TEST_FAULT: fault };
}

/** The EG_ERR_UNCAUGHT lines, once one is read: the child's exit can come before the last of its stdout. */
async function fatalLines(eg: Eventgate): Promise<LogLine[]> {
  await until(() => eg.lines.some((l) => l.code === 'EG_ERR_UNCAUGHT'), 5000, 'the fatal line');
  return eg.lines.filter((l) => l.code === 'EG_ERR_UNCAUGHT');
}

function expectFatal(line: LogLine, pid: number, role: string, origin: string): void {
  expect(line.level, 'fatal').to.equal(60);
  expect(line.pid).to.equal(pid);
  expect(line.role).to.equal(role);
  expect(line.origin).to.equal(origin);
  expect(line.doing).to.equal('serving');
  expect((line.err as { stack?: string }).stack).to.include('eventgate-test-fault');
}

describe('a process that meets an uncaught exception or unhandled rejection', function () {
  this.timeout(30000);
  let cfg: TempConfig;
  withTempConfig((c) => (cfg = c));

  for (const [fault, origin] of [
    ['throw', 'uncaughtException'],
    ['reject', 'unhandledRejection'],
  ] as const) {
    it(`logs one fatal line with EG_ERR_UNCAUGHT and its stack, then exits 1, with num_workers 0 (${fault})`, async () => {
      cfg.write({ num_workers: 0 });
      const eg = new Eventgate(cfg.path, [], { env: faultEnv(fault) });
      await eg.waitFor((l) => l.event === 'service.listening');
      process.kill(eg.pid, 'SIGUSR2');
      expect(await eg.exited).to.deep.equal({ code: 1, signal: null });
      const fatal = await fatalLines(eg);
      expect(fatal).to.have.length(1);
      expectFatal(fatal[0], eg.pid, 'single', origin);
    });

    it(`logs one fatal line from the master, which exits 1 (${fault})`, async () => {
      cfg.write({ num_workers: 1 });
      const eg = new Eventgate(cfg.path, [], { env: faultEnv(fault) });
      await eg.waitForMaster('master.started');
      process.kill(eg.pid, 'SIGUSR2');
      expect(await eg.exited).to.deep.equal({ code: 1, signal: null });
      const fatal = await fatalLines(eg);
      expect(fatal).to.have.length(1);
      expectFatal(fatal[0], eg.pid, 'master', origin);
    });

    it(`logs one fatal line from a worker, which exits 1 and is replaced (${fault})`, async () => {
      cfg.write({ num_workers: 1 });
      const eg = new Eventgate(cfg.path, [], { env: faultEnv(fault) });
      const [workerPid] = [...(await eg.waitForWorkers(1)).values()];
      process.kill(workerPid, 'SIGUSR2');
      const died = await eg.waitForMaster('worker.died');
      expect(died.worker_pid).to.equal(workerPid);
      expect(died.exit_code).to.equal(1);
      const fatal = await fatalLines(eg);
      expect(fatal).to.have.length(1);
      expectFatal(fatal[0], workerPid, 'worker', origin);
      expect(fatal[0].worker_id).to.be.above(0);
      await eg.waitFor((l) => l.event === 'worker.listening' && l.worker_pid !== workerPid, 15000, 'the replacement');
    });
  }
});
