/**
 * The shutdown policy of every process role, without a process: `exit` is a
 * function the test reads the code from, and the lines are read from a
 * bunyan ring buffer by their `event` field.
 */
import { expect } from 'chai';
import bunyan from 'bunyan';
import { GracefulExit, type ExitLines, type Stop } from '../../lib/supervisor/exit';
import { until } from '../helpers/until';

const LINES: ExitLines = { started: 'started', second: 'second', timeout: 'timeout', failed: 'failed', stopped: 'stopped' };
const LONG_MS = 60_000;

interface Harness {
  readonly exit: GracefulExit;
  readonly codes: number[];
  readonly forced: number[];
  readonly events: () => string[];
}

function harness(): Harness {
  const ring = new bunyan.RingBuffer({ limit: 100 });
  const log = bunyan.createLogger({ name: 'test', streams: [{ type: 'raw', stream: ring, level: 'trace' }] });
  const codes: number[] = [];
  const forced: number[] = [];
  const exit = new GracefulExit({ log, lines: LINES, exit: (code) => codes.push(code), force: () => forced.push(codes.length) });
  const events = () => (ring.records as { event?: string }[]).map((r) => r.event ?? '');
  return { exit, codes, forced, events };
}

/** A stop that resolves when the test says so, counting its runs. */
function gatedStop(): { stop: Stop; runs: () => number; finish: (clean: boolean) => void; fail: (err: Error) => void } {
  let runs = 0;
  let settle: { resolve: (clean: boolean) => void; reject: (err: Error) => void } | undefined;
  const stop: Stop = () => {
    runs++;
    return new Promise<boolean>((resolve, reject) => (settle = { resolve, reject }));
  };
  return { stop, runs: () => runs, finish: (clean) => settle!.resolve(clean), fail: (err) => settle!.reject(err) };
}

describe('GracefulExit', () => {
  it('runs the stop once at the first signal and exits 0 when it ends clean', async () => {
    const h = harness();
    const s = gatedStop();
    h.exit.request({ signal: 'SIGTERM', timeoutMs: LONG_MS }, s.stop);
    expect(s.runs(), 'the stop runs at once').to.equal(1);
    expect(h.exit.stopping).to.equal(true);
    expect(h.codes).to.deep.equal([]);
    s.finish(true);
    await until(() => h.codes.length > 0, 1000, 'the exit');
    expect(h.codes).to.deep.equal([0]);
    expect(h.forced, 'nothing forced').to.deep.equal([]);
    expect(h.events()).to.deep.equal(['shutdown.started', 'shutdown.stopped']);
  });

  it('exits 1 when the stop reports something unclean', async () => {
    const h = harness();
    h.exit.request({ signal: 'SIGINT', timeoutMs: LONG_MS }, () => Promise.resolve(false));
    await until(() => h.codes.length > 0, 1000, 'the exit');
    expect(h.codes).to.deep.equal([1]);
  });

  it('exits 1 when the stop throws, at once or later', async () => {
    for (const stop of [(): Promise<boolean> => { throw new Error('sync'); }, () => Promise.reject(new Error('async'))]) {
      const h = harness();
      h.exit.request({ signal: 'SIGTERM', timeoutMs: LONG_MS }, stop);
      await until(() => h.codes.length > 0, 1000, 'the exit');
      expect(h.codes).to.deep.equal([1]);
      expect(h.events()).to.deep.equal(['shutdown.started', 'shutdown.failed']);
    }
  });

  it('exits 1 at once on a second signal, forcing first, and not again when the stop ends later', async () => {
    const h = harness();
    const s = gatedStop();
    h.exit.request({ signal: 'SIGTERM', mergeMs: 0, timeoutMs: LONG_MS }, s.stop);
    h.exit.request({ signal: 'SIGTERM', mergeMs: 0, timeoutMs: LONG_MS }, s.stop);
    expect(h.codes).to.deep.equal([1]);
    expect(h.forced, 'forced before the exit').to.deep.equal([0]);
    expect(s.runs(), 'the stop is not run again').to.equal(1);
    s.finish(true);
    await new Promise((r) => setImmediate(r));
    expect(h.codes, 'one exit').to.deep.equal([1]);
    expect(h.events()).to.deep.equal(['shutdown.started', 'shutdown.second_signal']);
  });

  it('takes a second signal within the merge window for the first', () => {
    const h = harness();
    const s = gatedStop();
    h.exit.request({ signal: 'SIGINT', mergeMs: LONG_MS, timeoutMs: LONG_MS }, s.stop);
    h.exit.request({ signal: 'SIGINT', mergeMs: LONG_MS, timeoutMs: LONG_MS }, s.stop);
    expect(h.codes).to.deep.equal([]);
    expect(s.runs()).to.equal(1);
    expect(h.events()).to.deep.equal(['shutdown.started', 'shutdown.signal_merged']);
  });

  it('ignores a second request without a signal (a worker asked to drain twice)', () => {
    const h = harness();
    const s = gatedStop();
    h.exit.request({ timeoutMs: LONG_MS, fields: { reason: 'asked' } }, s.stop);
    h.exit.request({ timeoutMs: LONG_MS }, s.stop);
    expect(h.codes).to.deep.equal([]);
    expect(s.runs()).to.equal(1);
  });

  it('exits 1 when the stop outlasts the timeout, forcing first', async () => {
    const h = harness();
    const s = gatedStop();
    h.exit.request({ signal: 'SIGTERM', timeoutMs: 20 }, s.stop);
    await until(() => h.codes.length > 0, 2000, 'the timeout');
    expect(h.codes).to.deep.equal([1]);
    expect(h.forced).to.deep.equal([0]);
    s.finish(true);
    await new Promise((r) => setImmediate(r));
    expect(h.codes, 'one exit').to.deep.equal([1]);
    expect(h.events()).to.deep.equal(['shutdown.started', 'shutdown.timeout']);
  });

  it('does not fire the timeout after a clean exit', async () => {
    const h = harness();
    h.exit.request({ signal: 'SIGTERM', timeoutMs: 30 }, () => Promise.resolve(true));
    await until(() => h.codes.length > 0, 1000, 'the exit');
    await new Promise((r) => setTimeout(r, 60));
    expect(h.codes).to.deep.equal([0]);
  });
});
