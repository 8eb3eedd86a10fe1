import { expect } from 'chai';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { until } from '../helpers/until';
import { cleanUp, Eventgate, freeBase, send, TempConfig, testEvent, type LogLine } from './harness';

function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
}

describe('debug mode', function () {
  this.timeout(30000);
  let cfg: TempConfig;
  let eg: Eventgate | undefined;

  beforeEach(async () => {
    cfg = await TempConfig.onFreePort();
  });
  afterEach(async () => {
    await cleanUp();
    // --perf-basic-prof writes /tmp/perf-<pid>.map, always in /tmp.
    for (const pid of eg?.forked() ?? []) rmSync(`/tmp/perf-${pid}.map`, { force: true });
    eg = undefined;
  });

  it('--debug forks each worker with the inspector on base + worker id and the profiling flags, and V8 writes its log', async () => {
    const base = await freeBase(2, [cfg.port]);
    cfg.write({ num_workers: 2, debug_inspect_port_base: base, debug_dir: 'v8' });
    eg = new Eventgate(cfg.path, ['--debug']);
    const workers = await eg.waitForWorkers(2);
    const debugDir = join(cfg.dir, 'v8');
    for (const [id, pid] of workers) {
      const args = cmdline(pid);
      expect(args).to.include.members([
        `--inspect=127.0.0.1:${base + id}`,
        '--prof',
        '--no-logfile-per-isolate',
        `--logfile=${join(debugDir, 'eventgate-v8-%p.log')}`,
        '--perf-basic-prof',
        '--interpreted-frames-native-stack',
      ]);
      expect(args.at(-1)).to.match(/lib\/supervisor\/worker\.js$/);
      const v8log = join(debugDir, `eventgate-v8-${pid}.log`);
      await until(() => existsSync(v8log) && statSync(v8log).size > 0, 10000, `${v8log}`);
    }
    expect((await send(cfg.port, 'POST', '/v1/events', testEvent())).status).to.equal(201);
    // The inspector says where it listens on the worker's stderr; the master makes it a log line.
    for (const [id, pid] of workers) {
      const said = await eg.waitFor((l) => l.msg === 'worker stderr' && l.worker === id && typeof l.inspector_url === 'string', 5000, `worker ${id}'s inspector line`);
      expect(said).to.include({ worker_id: 0, worker_pid: pid, level: 30 });
      expect(said.inspector_url).to.match(new RegExp(`^ws://127\\.0\\.0\\.1:${base + id}/[0-9a-f-]+$`));
      expect(said.detail).to.equal(`Debugger listening on ${said.inspector_url as string}`);
    }
    // Nothing but JSON lines: the log pipes into jq as it is.
    expect(eg.other).to.deep.equal([]);
  });

  it('keeps stderr JSON when the logs go there beside events on stdout: the inspector lines become log lines', async () => {
    const base = await freeBase(1, [cfg.port]);
    cfg.write({ num_workers: 1, debug_inspect_port_base: base, debug_dir: 'v8' }, { output_path: 'stdout' });
    eg = new Eventgate(cfg.path, ['--debug']);
    const running = eg;
    // JSON.parse throws on any line that is not JSON: the test fails there.
    const logs = (): LogLine[] => running.other.map((l) => JSON.parse(l) as LogLine);
    const listening = await until(() => logs().find((l) => l.msg === 'worker listening'), 15000, 'worker listening, on stderr');
    const pid = listening!.worker_pid as number;
    try {
      expect((await send(cfg.port, 'POST', '/v1/events', testEvent())).status).to.equal(201);
      const said = await until(() => logs().find((l) => l.msg === 'worker stderr' && typeof l.inspector_url === 'string'), 5000, 'the inspector line');
      expect(said).to.include({ worker_id: 0, worker_pid: pid });
      running.signal('SIGTERM');
      expect((await running.exited).code).to.equal(0);
      await until(() => logs().some((l) => l.msg === 'stopped'), 5000, 'the last line');
      // stdout: the one event, nothing else.
      expect(running.lines.map((l) => (l as unknown as { $schema: string }).$schema)).to.deep.equal(['/test/event/1.0.0']);
    } finally {
      rmSync(`/tmp/perf-${pid}.map`, { force: true });
    }
  });

  it('debug_mode: true in the config does the same without --debug', async () => {
    const base = await freeBase(1, [cfg.port]);
    cfg.write({ num_workers: 1, debug_mode: true, debug_inspect_port_base: base, debug_dir: 'v8' });
    eg = new Eventgate(cfg.path);
    const [[id, pid]] = [...(await eg.waitForWorkers(1))];
    expect(cmdline(pid)).to.include(`--inspect=127.0.0.1:${base + id}`);
    expect(cmdline(pid)).to.include('--prof');
  });
});
