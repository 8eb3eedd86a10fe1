import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../helpers/until';
import { cleanUp, Eventgate, freeBase, send, TempConfig, testEvent, type LogLine } from '../helpers/eventgate-process';

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
    // The master's own V8 log folder, when a test stopped it with SIGKILL.
    if (eg) rmSync(join(tmpdir(), `eventgate-debug-${eg.pid}`), { recursive: true, force: true });
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
      expect(args).to.include.members([`--inspect=127.0.0.1:${base + id}`, '--prof', `--logfile=${join(debugDir, 'eventgate-v8-%p.log')}`, '--perf-basic-prof']);
      // One log per isolate; this flag deadlocks beside --prof (docs/profiling.md).
      expect(args).to.not.include.members(['--no-logfile-per-isolate']);
      expect(args).to.not.include.members(['--interpreted-frames-native-stack']);
      expect(args.at(-1)).to.match(/lib\/supervisor\/worker\.js$/);
      const v8log = join(debugDir, `eventgate-v8-${pid}.log`);
      await until(() => existsSync(v8log) && statSync(v8log).size > 0, 10000, `${v8log}`);
    }
    expect((await send(cfg.port, 'POST', '/v1/events', testEvent())).status).to.equal(201);
    // The inspector says where it listens on the worker's stderr; the master makes it a log line.
    for (const [id, pid] of workers) {
      const said = await eg.waitFor((l) => l.event === 'worker.stderr' && l.worker === id && typeof l.inspector_url === 'string', 5000, `worker ${id}'s inspector line`);
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
    const listening = await until(() => logs().find((l) => l.event === 'worker.listening'), 15000, 'worker listening, on stderr');
    const pid = listening!.worker_pid as number;
    try {
      expect((await send(cfg.port, 'POST', '/v1/events', testEvent())).status).to.equal(201);
      const said = await until(() => logs().find((l) => l.event === 'worker.stderr' && typeof l.inspector_url === 'string'), 5000, 'the inspector line');
      expect(said).to.include({ worker_id: 0, worker_pid: pid });
      running.signal('SIGTERM');
      expect((await running.exited).code).to.equal(0);
      await until(() => logs().some((l) => l.event === 'shutdown.stopped' && l.worker_id === 0), 5000, 'the last line');
      // stdout: the one event, nothing else.
      expect(running.lines.map((l) => (l as unknown as { $schema: string }).$schema)).to.deep.equal(['/test/event/1.0.0']);
    } finally {
      rmSync(`/tmp/perf-${pid}.map`, { force: true });
    }
  });

  it("gives the event loop and each pool thread a V8 log of its own, the event loop's under the plain name", async () => {
    const base = await freeBase(1, [cfg.port]);
    cfg.write(
      { num_workers: 1, debug_inspect_port_base: base, debug_dir: 'v8' },
      { batch: { thread_pool: { enabled: true, min_threads: 2, max_threads: 2 } } },
    );
    eg = new Eventgate(cfg.path, ['--debug']);
    const [[, pid]] = [...(await eg.waitForWorkers(1))];
    const debugDir = join(cfg.dir, 'v8');
    const main = join(debugDir, `eventgate-v8-${pid}.log`);
    const named = await eg.waitFor((l) => l.event === 'v8log.named' && l.pid === pid);
    expect(named.v8_log).to.equal(main);
    const threadLogs = () => readdirSync(debugDir).filter((f) => f.startsWith('isolate-0x') && f.endsWith(`-${pid}-eventgate-v8-${pid}.log`));
    await until(() => threadLogs().length === 2, 10000, 'a V8 log per pool thread');
    // V8 logs code creation with the script's path: the worker entry runs on the event loop, the thread entry in the pool.
    await until(() => readFileSync(main, 'utf8').includes('dist/lib/supervisor/worker.js'), 10000, 'the worker entry in the main log');
    expect(readFileSync(main, 'utf8')).to.not.include('dist/lib/batch/thread.js');
    for (const f of threadLogs()) {
      await until(() => readFileSync(join(debugDir, f), 'utf8').includes('dist/lib/batch/thread.js'), 10000, `the thread entry in ${f}`);
      expect(readFileSync(join(debugDir, f), 'utf8')).to.not.include('dist/lib/supervisor/worker.js');
    }
  });

  it('without debug_dir, writes the V8 logs to a temp folder of its own and removes it on a normal stop', async () => {
    const base = await freeBase(1, [cfg.port]);
    cfg.write({ num_workers: 1, debug_inspect_port_base: base });
    eg = new Eventgate(cfg.path, ['--debug']);
    const [[, pid]] = [...(await eg.waitForWorkers(1))];
    const own = join(tmpdir(), `eventgate-debug-${eg.pid}`);
    expect(cmdline(pid)).to.include(`--logfile=${join(own, 'eventgate-v8-%p.log')}`);
    await until(() => existsSync(join(own, `eventgate-v8-${pid}.log`)), 10000, 'the V8 log in the own folder');
    eg.signal('SIGTERM');
    expect((await eg.exited).code).to.equal(0);
    expect(existsSync(own), own).to.equal(false);
    // perf reads the map after the worker is gone: it stays.
    expect(existsSync(`/tmp/perf-${pid}.map`)).to.equal(true);
  });

  it('starts and stops cleanly 5 times in a row with the pool on (the 100-start check is npm run bench:debug-starts)', async function () {
    this.timeout(90000);
    const base = await freeBase(2, [cfg.port]);
    cfg.write(
      { num_workers: 2, debug_inspect_port_base: base, debug_dir: 'v8' },
      { batch: { thread_pool: { enabled: true, min_threads: 1, max_threads: 2 } } },
    );
    for (let i = 0; i < 5; i++) {
      const run = new Eventgate(cfg.path, ['--debug']);
      eg = run;
      try {
        await run.waitForWorkers(2, 30000);
        expect((await send(cfg.port, 'GET', '/healthz')).status).to.equal(200);
        run.signal('SIGTERM');
        expect((await run.exited).code, `start ${i + 1}`).to.equal(0);
      } finally {
        for (const p of run.forked()) rmSync(`/tmp/perf-${p}.map`, { force: true });
      }
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
