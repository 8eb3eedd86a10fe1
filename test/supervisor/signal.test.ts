import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths';
import { until } from '../helpers/until';
import type { LogEvent } from '../../lib/log-events';
import { Eventgate, send, testEvent, type LogLine, type TempConfig, withTempConfig } from '../helpers/eventgate-process';

/**
 * Runs a command on a new pseudo-terminal, as a shell in a terminal window
 * does: the command leads the terminal's foreground process group. The pty's
 * output goes to stdout; each line read on stdin types Ctrl-C (0x03), which
 * the terminal turns into SIGINT to the whole foreground group. Last, on
 * stderr: `EXIT <code>`.
 */
const PTY = `
import os, pty, select, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
typing = True
while True:
    ready = select.select([fd] + ([0] if typing else []), [], [])[0]
    if 0 in ready:
        if os.read(0, 1024): os.write(fd, b'\\x03')
        else: typing = False
    if fd in ready:
        try: data = os.read(fd, 65536)
        except OSError: data = b''
        if not data: break
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
sys.stderr.write('EXIT %d\\n' % os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
`;

interface Terminal {
  readonly lines: LogLine[];
  /** What was no JSON line: the terminal's echo of ^C, npm's own words. */
  readonly other: string[];
  readonly exited: Promise<number>;
  ctrlC(): void;
  kill(): void;
}

/** `npm run start` in `dir` on a pty: the start script `exec`s node, as the project's own does. */
function npmStartOnPty(dir: string): Terminal {
  const child = spawn('python3', ['-c', PTY, 'npm', 'run', '--silent', 'start'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  const other: string[] = [];
  let rest = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p.replace(/\r$/, '').replace(/^\^C/, '')) as LogLine);
      } catch {
        other.push(p);
      }
    }
  });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number>((resolve, reject) =>
    child.once('exit', () => {
      const m = /EXIT (-?\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`no exit status from the pty: ${err}`));
    }),
  );
  return {
    lines,
    other,
    exited,
    ctrlC: () => child.stdin.write('\n'),
    kill: () => child.kill('SIGKILL'),
  };
}

/** A POST whose headers the service has read (it answered 100 Continue) and whose body it waits for until `finish`. */
interface Held {
  readonly continued: Promise<void>;
  readonly answered: Promise<number>;
  finish(body: unknown): void;
}

function holdRequest(port: number): Held {
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/events', agent: false, headers: { 'content-type': 'application/json', expect: '100-continue' } });
  const continued = new Promise<void>((resolve) => req.once('continue', () => resolve()));
  const answered = new Promise<number>((resolve, reject) => {
    req.once('error', reject);
    req.once('response', (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
  });
  answered.catch(() => {});
  req.flushHeaders();
  return { continued, answered, finish: (body) => req.end(JSON.stringify(body)) };
}

describe('Ctrl-C on npm start', function () {
  this.timeout(40000);
  let cfg: TempConfig;
  let term: Terminal | undefined;
  withTempConfig((c) => (cfg = c));
  afterEach(() => term?.kill());

  for (const workers of [0, 2]) {
    it(`is one request to stop: the service drains and exits 0, with num_workers ${workers}`, async () => {
      cfg.write({ num_workers: workers });
      const script = `exec node ${JSON.stringify(join(ROOT, 'bin/eventgate'))} -c ${JSON.stringify(cfg.path)}`;
      writeFileSync(join(cfg.dir, 'package.json'), JSON.stringify({ name: 'ctrl-c', private: true, scripts: { start: script } }));
      const t = (term = npmStartOnPty(cfg.dir));
      const up: LogEvent = workers ? 'master.started' : 'service.listening';
      await until(() => t.lines.some((l) => l.event === up && l.worker_id === 0), 20000, up);
      expect((await send(cfg.port, 'POST', '/v1/events', testEvent())).status).to.equal(201);
      // A request in flight during the drain: it is answered, and its event written.
      const held = holdRequest(cfg.port);
      await held.continued;
      t.ctrlC();
      // Two SIGINTs when npm's forwarded one comes after node took the terminal's; the
      // kernel merges them into one when both are pending at once (a busy machine).
      await until(() => t.lines.some((l) => l.worker_id === 0 && l.signal === 'SIGINT'), 10000, 'SIGINT');
      held.finish(testEvent());
      expect(await held.answered).to.equal(201);
      expect(await t.exited).to.equal(0);
      expect(t.lines.some((l) => l.event === 'shutdown.second_signal')).to.equal(false);
      // The pty's exit can come before the last of its output is read.
      const stopped = await until(() => t.lines.find((l) => l.event === 'shutdown.stopped' && l.worker_id === 0), 5000, 'the stopped line');
      expect(stopped?.clean).to.equal(true);
      expect(cfg.written()).to.have.length(2);
    });
  }
});

for (const workers of [0, 2]) {
  describe(`stop signals with num_workers ${workers}`, function () {
    this.timeout(30000);
    let cfg: TempConfig;
    withTempConfig((c) => (cfg = c));

    it('merges a second signal within shutdown_signal_merge_ms into the first, and exits 1 at once on one after it', async () => {
      const mergeMs = 300;
      cfg.write({ num_workers: workers, shutdown_signal_merge_ms: mergeMs });
      const eg = new Eventgate(cfg.path);
      if (workers) await eg.waitForMaster('master.started');
      else await eg.waitFor((l) => l.event === 'service.listening');
      // Keeps the drain from finishing: only the second signal can end the process.
      await holdRequest(cfg.port).continued;
      const first = performance.now();
      eg.signal('SIGTERM');
      eg.signal('SIGINT');
      await eg.waitFor((l) => l.event === 'shutdown.signal_merged');
      expect(eg.hasExited).to.equal(false);
      // The time since the first signal is the input under test, not a wait for something to happen. It is
      // counted from when the process took the first one (its shutdown.started line), not from when it was
      // sent: on a busy machine the process may take it much later, and the next one would be merged again.
      const started = eg.lines.find((l) => l.event === 'shutdown.started' && l.worker_id === 0);
      expect(started?.signal, 'the first signal taken').to.be.oneOf(['SIGTERM', 'SIGINT']);
      const takenAt = Date.parse(String(started?.time));
      await until(() => Date.now() - takenAt > mergeMs + 50 && performance.now() - first > mergeMs, mergeMs * 10, 'the merge window to pass');
      eg.signal('SIGINT');
      expect((await eg.exited).code).to.equal(1);
      // The child's exit can come before the last of its stdout is read.
      await until(() => eg.lines.some((l) => l.event === 'shutdown.second_signal'), 5000, 'the second-signal line');
    });
  });
}
