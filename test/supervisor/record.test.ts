import { expect } from 'chai';
import type { Worker } from 'node:cluster';
import { validateConfig } from '../../lib/config/load';
import { codeOf, messageOf } from '../../lib/errors';
import type { MasterMessage } from '../../lib/supervisor/ipc';
import { StartupFailure, WorkerRecord } from '../../lib/supervisor/record';

/** The parts of a cluster Worker a WorkerRecord touches, recording what it was told. */
function fakeWorker(): { worker: Worker; sent: MasterMessage[]; killed: string[] } {
  const sent: MasterMessage[] = [];
  const killed: string[] = [];
  const fake = {
    process: { pid: 4242, kill: (signal: string) => killed.push(signal) },
    isConnected: () => true,
    send: (msg: MasterMessage) => sent.push(msg),
  };
  // The record uses only the members above; a real Worker needs a fork.
  return { worker: fake as unknown as Worker, sent, killed };
}

function record() {
  const fake = fakeWorker();
  const loaded = { config: validateConfig({}), dir: '.' };
  return { ...fake, w: new WorkerRecord(1, 0, fake.worker, loaded, 1) };
}

describe('worker record', () => {
  it('goes starting -> listening -> draining -> dead, and is told to drain once', async () => {
    const { w, sent } = record();
    expect(w.state).to.equal('starting');
    w.markListening();
    await w.listening;
    expect(w.state).to.equal('listening');
    w.drain();
    w.drain();
    expect(w.state).to.equal('draining');
    expect(sent).to.deep.equal([{ type: 'drain' }]);
    w.markDead(0, null);
    await w.exited;
    expect(w.state).to.equal('dead');
  });

  it('marks a worker that drains on its own without telling it anything', () => {
    const { w, sent } = record();
    w.markListening();
    expect(w.markDraining()).to.equal(true);
    expect(w.markDraining()).to.equal(false);
    expect(w.state).to.equal('draining');
    expect(w.drainStartedAt).to.be.above(0);
    expect(sent).to.deep.equal([]);
  });

  it('fails its start with the code the worker reported', async () => {
    const { w } = record();
    w.markStartupFailed('EG_ERR_SCHEMA_PRECACHE', 'no /x');
    w.markDead(1, null);
    const err: unknown = await w.listening.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(StartupFailure);
    expect(codeOf(err)).to.equal('EG_ERR_SCHEMA_PRECACHE');
  });

  it('fails its start with EG_ERR_WORKER_STARTUP_TIMEOUT when killed for it, EG_ERR_WORKER_EXITED otherwise', async () => {
    const timedOut = record();
    expect(timedOut.w.kill('startup_timeout')).to.equal(true);
    expect(timedOut.w.kill('heartbeat')).to.equal(false);
    expect(timedOut.killed).to.deep.equal(['SIGKILL']);
    timedOut.w.markDead(null, 'SIGKILL');
    expect(codeOf(await timedOut.w.listening.catch((e: unknown) => e))).to.equal('EG_ERR_WORKER_STARTUP_TIMEOUT');

    const crashed = record();
    crashed.w.markDead(null, 'SIGSEGV');
    const err = await crashed.w.listening.catch((e: unknown) => e);
    expect(codeOf(err)).to.equal('EG_ERR_WORKER_EXITED');
    expect(messageOf(err)).to.include('SIGSEGV');
  });
});
