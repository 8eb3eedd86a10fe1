/**
 * A worker's admission beside a master (lib/http/admission.ts with a
 * lender): small bodies held in the worker's own reserve without asking,
 * larger ones only with the master's grant, a body of unknown length asking
 * once it is past small_body_size, and every grant given back once.
 */
import { expect } from 'chai';
import type { EventGateError } from '../../lib/errors';
import { BodyAdmission, type Ticket } from '../../lib/http/admission';
import type { MemoryBudget } from '../../lib/memory/budget';
import { MemoryLedger } from '../../lib/memory/ledger';
import type { GrantAnswer, Lender } from '../../lib/memory/lender';

const MiB = 1024 * 1024;
const KiB = 1024;

/** A master's ledger behind a lender, answering at once; it records what was asked and given back. */
class FakeMaster implements Lender {
  readonly ledger: MemoryLedger;
  readonly asked: number[] = [];
  private lastId = 0;
  constructor(capacity: number) {
    this.ledger = new MemoryLedger(capacity);
  }
  ask(bytes: number): Promise<{ id: number; answer: GrantAnswer }> {
    const id = ++this.lastId;
    this.asked.push(bytes);
    return Promise.resolve({ id, answer: this.ledger.ask(1, id, bytes) });
  }
  done(id: number): void {
    this.ledger.done(1, id);
  }
}

function budget(sharedBytes: number): MemoryBudget {
  return {
    totalBytes: 300 * MiB,
    source: 'config',
    workers: 2,
    bodyBytes: 4 * MiB + sharedBytes,
    sharedBytes,
    smallReserve: 4 * MiB,
    smallBodySize: 64 * KiB,
    expansion: 10,
    largestBody: sharedBytes / 10,
    maxBodySize: 10 * MiB,
    threads: 1,
    youngGenerationMb: undefined,
    heapLimitMb: undefined,
    retireIdleThreads: true,
  };
}

const codeOf = async (p: Ticket | Promise<Ticket>): Promise<string> => {
  try {
    await p;
    return 'admitted';
  } catch (err) {
    return (err as EventGateError).code;
  }
};

describe('admission beside a master (shared body memory)', () => {
  it('holds a small body in the worker’s own reserve without asking the master', () => {
    const master = new FakeMaster(120 * MiB);
    const admission = new BodyAdmission(budget(120 * MiB), master);
    const ticket = admission.admit(1000);
    expect(ticket).not.to.be.instanceOf(Promise);
    expect(master.asked).to.deep.equal([]);
    expect(admission.inUse).to.equal(10000);
  });

  it('reads a large body only with a grant of its cost, 503 while the pool is taken, 413 past the whole pool, and gives the grant back once', async () => {
    const master = new FakeMaster(120 * MiB);
    const admission = new BodyAdmission(budget(120 * MiB), master);
    const first = await admission.admit(10 * MiB);
    expect(master.ledger.inUse).to.equal(100 * MiB);
    expect(await codeOf(admission.admit(10 * MiB))).to.equal('EG_ERR_MEMORY_BUSY');
    expect(await codeOf(admission.admit(13 * MiB))).to.equal('EG_ERR_BODY_OVER_BUDGET');
    first.release();
    first.release();
    expect([master.ledger.inUse, admission.inUse]).to.deep.equal([0, 0]);
    expect(await codeOf(admission.admit(10 * MiB))).to.equal('admitted');
  });

  it('asks for a body of unknown length once it is past small_body_size, for the most it may grow to, and holds nothing of its own reserve after', async () => {
    const master = new FakeMaster(120 * MiB);
    const admission = new BodyAdmission(budget(120 * MiB), master);
    const ticket = (await admission.admit(undefined));
    expect(ticket.grow(60 * KiB)).to.equal(undefined);
    const asking = ticket.grow(60 * KiB);
    expect(asking).to.be.instanceOf(Promise);
    expect(await asking).to.equal(undefined);
    expect(master.asked).to.deep.equal([100 * MiB]);
    expect(admission.inUse).to.equal(100 * MiB);
    expect(ticket.grow(5 * MiB)).to.equal(undefined);
    ticket.release();
    expect([master.ledger.inUse, admission.inUse]).to.deep.equal([0, 0]);
  });

  it('refuses a body of unknown length with 503 when the master has no room for it', async () => {
    const master = new FakeMaster(120 * MiB);
    const admission = new BodyAdmission(budget(120 * MiB), master);
    const held = await admission.admit(10 * MiB);
    const ticket = (await admission.admit(undefined));
    const refused = await ticket.grow(100 * KiB);
    expect((refused as EventGateError).code).to.equal('EG_ERR_MEMORY_BUSY');
    ticket.release();
    held.release();
    expect([master.ledger.inUse, admission.inUse]).to.deep.equal([0, 0]);
  });

  it('gives back a grant that arrives after the body’s answer closed', async () => {
    const master = new FakeMaster(120 * MiB);
    const admission = new BodyAdmission(budget(120 * MiB), master);
    const ticket = (await admission.admit(undefined));
    const asking = ticket.grow(100 * KiB);
    ticket.release();
    await asking;
    expect([master.ledger.inUse, admission.inUse]).to.deep.equal([0, 0]);
  });
});
