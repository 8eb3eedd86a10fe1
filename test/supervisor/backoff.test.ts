import { expect } from 'chai';
import { Backoff } from '../../lib/supervisor/backoff';
import { isMasterMessage, isWorkerMessage } from '../../lib/supervisor/ipc';

describe('restart back-off', () => {
  it('doubles with each failure in a row up to the ceiling', () => {
    let now = 0;
    const b = new Backoff(100, 1000, () => now);
    const delays = [];
    for (let i = 0; i < 6; i++) {
      delays.push(b.next());
      now += 10;
    }
    expect(delays).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
  });

  it('starts over after a quiet spell longer than the ceiling', () => {
    let now = 0;
    const b = new Backoff(100, 1000, () => now);
    b.next();
    b.next();
    now += 1001;
    expect(b.next()).to.equal(100);
  });
});

describe('IPC messages', () => {
  it('are recognised by their type, and anything else is not', () => {
    expect(isWorkerMessage({ type: 'heartbeat', heapUsedBytes: 1, rssBytes: 2 })).to.equal(true);
    expect(isWorkerMessage({ type: 'drain' })).to.equal(false);
    expect(isMasterMessage({ type: 'drain' })).to.equal(true);
    // node:cluster's own messages on the same channel.
    expect(isWorkerMessage({ cmd: 'NODE_CLUSTER', act: 'online' })).to.equal(false);
    expect(isMasterMessage(null)).to.equal(false);
    expect(isMasterMessage('drain')).to.equal(false);
  });
});
