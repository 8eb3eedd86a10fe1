import { expect } from 'chai';
import { isMasterMessage, isWorkerMessage } from '../../lib/supervisor/ipc';

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
