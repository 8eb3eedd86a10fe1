/**
 * A port in use is refused with a code of its own: start eventgate, one
 * process and with a worker, on a port a real socket holds.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { isErrorCode } from '../../lib/errors';
import type { LogEvent } from '../../lib/log-events';
import { until } from '../helpers/until';
import { Eventgate, withTempConfig, type LogLine, type TempConfig } from '../helpers/eventgate-process';

describe('starting on a port in use', function () {
  this.timeout(30000);
  let cfg: TempConfig;
  let holder: Server | undefined;
  withTempConfig((c) => (cfg = c));

  beforeEach(async () => {
    const server = createServer();
    holder = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(cfg.port, '127.0.0.1', resolve);
    });
  });
  afterEach(async () => {
    await new Promise((resolve) => holder?.close(resolve));
    holder = undefined;
  });

  async function fatalOf(eg: Eventgate, event: LogEvent): Promise<LogLine> {
    return (await until(() => eg.lines.find((l) => l.level === 60 && l.event === event), 10000, 'the fatal line'))!;
  }

  it('exits 1 with EG_ERR_PORT_IN_USE and a message naming the port, in one process', async () => {
    cfg.write({ num_workers: 0 });
    const eg = new Eventgate(cfg.path);
    expect((await eg.exited).code).to.equal(1);
    const fatal = await fatalOf(eg, 'process.start_failed');
    expect(fatal.code).to.equal('EG_ERR_PORT_IN_USE');
    expect((fatal.err as { message: string }).message).to.equal(`port ${cfg.port} on 127.0.0.1 is in use by another process (services[0].conf.port)`);
  });

  it('exits 1 with EG_ERR_PORT_IN_USE from the master when its worker cannot listen, and logs the worker exit as exit_code', async () => {
    cfg.write({ num_workers: 1, startup_attempts: 1 });
    const eg = new Eventgate(cfg.path);
    expect((await eg.exited).code).to.equal(1);
    const fatal = await fatalOf(eg, 'master.gave_up');
    expect(fatal.worker_id).to.equal(0);
    expect(fatal.code).to.equal('EG_ERR_PORT_IN_USE');
    expect(fatal.reason).to.equal(`port ${cfg.port} on 127.0.0.1 is in use by another process (services[0].conf.port)`);
    const exited = await eg.waitForMaster('worker.start_failed');
    expect(exited).to.include({ exit_code: 1, cause: 'startup' });
    expect(exited).to.not.have.property('code');
    // In every line, master's and worker's: `code` is a code of the catalogue.
    for (const l of eg.lines.filter((line) => 'code' in line)) expect(isErrorCode(l.code), JSON.stringify(l)).to.equal(true);
  });
});
