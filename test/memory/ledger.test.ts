/**
 * The master's ledger of body memory shared by the workers
 * (lib/memory/ledger.ts), and a worker's side of it over IPC
 * (lib/supervisor/lender.ts): grants, refusals, freeing on done and on a
 * worker's exit, and an ask bounded in time.
 */
import { expect } from 'chai';
import { MemoryLedger } from '../../lib/memory/ledger';
import { IpcLender } from '../../lib/supervisor/lender';
import type { WorkerMessage } from '../../lib/supervisor/ipc';

const MB = 1e6;

describe('the master ledger of shared body memory', () => {
  it('grants asks while their sum fits the pool, from any worker, and says busy to the one that does not fit', () => {
    const ledger = new MemoryLedger(250 * MB);
    expect(ledger.ask(1, 1, 110 * MB)).to.equal('granted');
    expect(ledger.ask(2, 1, 110 * MB)).to.equal('granted');
    expect(ledger.ask(1, 2, 110 * MB)).to.equal('busy');
    expect(ledger.ask(2, 2, 30 * MB)).to.equal('granted');
    expect(ledger.inUse).to.equal(250 * MB);
    expect([ledger.heldBy(1), ledger.heldBy(2)]).to.deep.equal([110 * MB, 140 * MB]);
  });

  it('says never to an ask larger than the whole pool, even when the pool is idle', () => {
    const ledger = new MemoryLedger(100 * MB);
    expect(ledger.ask(1, 1, 100 * MB + 1)).to.equal('never');
    expect(ledger.inUse).to.equal(0);
  });

  it('frees a grant when its worker says its body is done, and ignores a done it does not know or hears twice', () => {
    const ledger = new MemoryLedger(120 * MB);
    expect(ledger.ask(1, 7, 110 * MB)).to.equal('granted');
    expect(ledger.ask(2, 1, 110 * MB)).to.equal('busy');
    ledger.done(2, 7);
    expect(ledger.inUse, "another worker's id frees nothing").to.equal(110 * MB);
    ledger.done(1, 7);
    ledger.done(1, 7);
    expect(ledger.inUse).to.equal(0);
    expect(ledger.ask(2, 1, 110 * MB)).to.equal('granted');
  });

  it('frees everything a worker held when it exits, and nothing of the others', () => {
    const ledger = new MemoryLedger(300 * MB);
    ledger.ask(1, 1, 100 * MB);
    ledger.ask(1, 2, 100 * MB);
    ledger.ask(2, 1, 50 * MB);
    ledger.workerGone(1);
    expect(ledger.inUse).to.equal(50 * MB);
    expect(ledger.heldBy(1)).to.equal(0);
    expect(ledger.ask(3, 1, 250 * MB)).to.equal('granted');
  });

  it('keeps grants held across a resize and grants against the new size', () => {
    const ledger = new MemoryLedger(300 * MB);
    ledger.ask(1, 1, 200 * MB);
    ledger.resize(150 * MB);
    expect(ledger.ask(2, 1, 10 * MB)).to.equal('busy');
    ledger.done(1, 1);
    expect(ledger.ask(2, 1, 150 * MB)).to.equal('granted');
  });
});

describe("a worker's asks to the master", () => {
  it('resolves with the answer the master sends for its id', async () => {
    const sent: WorkerMessage[] = [];
    const lender = new IpcLender((m) => sent.push(m), 5000);
    const asked = lender.ask(110 * MB);
    expect(sent).to.deep.equal([{ type: 'memory_ask', id: 1, bytes: 110 * MB }]);
    lender.receive({ type: 'memory_answer', id: 1, answer: 'granted' });
    expect(await asked).to.deep.equal({ id: 1, answer: 'granted' });
    lender.done(1);
    expect(sent[1]).to.deep.equal({ type: 'memory_done', id: 1 });
  });

  it('counts a master that does not answer in time as busy, and gives back a grant that comes after that', async () => {
    const sent: WorkerMessage[] = [];
    const lender = new IpcLender((m) => sent.push(m), 20);
    expect(await lender.ask(110 * MB)).to.deep.equal({ id: 1, answer: 'busy' });
    lender.receive({ type: 'memory_answer', id: 1, answer: 'granted' });
    expect(sent).to.deep.equal([
      { type: 'memory_ask', id: 1, bytes: 110 * MB },
      { type: 'memory_done', id: 1 },
    ]);
  });
});
