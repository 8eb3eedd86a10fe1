/**
 * PendingBound on its own: the room a producer has for events awaiting
 * delivery reports, the calls that take it, and the hasty requests that
 * wait for it in turn (first come, first served).
 */
import { expect } from 'chai';
import { PendingBound } from '../../lib/sink/kafka/bound';
import type { Admission } from '../../lib/sink/sink';

/** Resolves with what settled first: the promise, or 'pending' after the microtasks of this turn. */
async function settled<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))]);
}

function isAdmission(a: unknown): a is Admission {
  return typeof a === 'object' && a !== null && typeof (a as Admission).release === 'function' && !(a instanceof Promise);
}

describe('PendingBound', function () {
  it('lets calls take room up to the bound and refuses one that would pass it, with what it holds', function () {
    const bound = new PendingBound(150, 1000);
    expect(bound.take(100, 400, undefined)).to.equal(undefined);
    expect(bound.take(50, 100, undefined)).to.equal(undefined);
    expect(bound.take(1, 1, undefined)).to.equal("holds 150 events (500 bytes) awaiting Kafka's delivery reports; its limit is 150 events, 1000 bytes");
    bound.done(50, 100);
    expect(bound.take(1, 601, undefined), 'bytes past the bound: 400 + 601 > 1000').to.be.a('string');
    expect(bound.take(1, 600, undefined)).to.equal(undefined);
    expect([bound.pendingEvents, bound.pendingBytes]).to.deep.equal([101, 1000]);
  });

  it('takes one call larger than the bound when it holds nothing', function () {
    const bound = new PendingBound(10, 100);
    expect(bound.take(500, 5000, undefined)).to.equal(undefined);
    expect(bound.take(1, 1, undefined)).to.be.a('string');
    bound.done(500, 5000);
    expect(bound.take(1, 1, undefined)).to.equal(undefined);
  });

  it('admits at once while there is room, and the admitted call takes its reservation without a check', function () {
    const bound = new PendingBound(150, 1000);
    const admission = bound.admit(100, 1000);
    expect(isAdmission(admission)).to.equal(true);
    // Reserved: another call of 100 does not fit beside it.
    expect(bound.take(100, 10, undefined)).to.match(/holds 0 events \(0 bytes\) .* and 100 more admitted/);
    expect(bound.take(100, 10, { admission } as unknown as Admission), 'a foreign admission is no reservation').to.be.a('string');
    expect(bound.take(100, 10, admission as Admission)).to.equal(undefined);
    expect(bound.pendingEvents).to.equal(100);
    // Its room is the call's now: releasing it afterwards gives nothing back twice.
    (admission as Admission).release();
    expect(bound.take(51, 10, undefined)).to.be.a('string');
    expect(bound.take(50, 10, undefined)).to.equal(undefined);
  });

  it('makes requests wait while it holds its most, and gives them room in turn as calls end', async function () {
    const bound = new PendingBound(150, 1000);
    bound.take(100, 100, undefined);
    const first = bound.admit(100, 10000) as Promise<Admission | undefined>;
    // It would fit, but it does not pass the one waiting.
    const second = bound.admit(10, 10000) as Promise<Admission | undefined>;
    expect(first).to.be.instanceOf(Promise);
    expect(second).to.be.instanceOf(Promise);
    expect(await settled(first)).to.equal('pending');
    expect(await settled(second)).to.equal('pending');
    // A call that fits still goes (error events, guaranteed calls are never held).
    expect(bound.take(10, 10, undefined)).to.equal(undefined);
    bound.done(10, 10);
    expect(await settled(first), 'still 100 held').to.equal('pending');
    bound.done(100, 100);
    const a1 = await settled(first);
    const a2 = await settled(second);
    expect(isAdmission(a1) && isAdmission(a2), 'both fit once the 100 are done: 100 + 10 <= 150').to.equal(true);
    const third = bound.admit(50, 10000) as Promise<Admission | undefined>;
    expect(await settled(third), '110 reserved: 50 more do not fit').to.equal('pending');
    (a2 as Admission).release();
    expect(isAdmission(await settled(third)), 'the second request sent no call: its room went to the third').to.equal(true);
  });

  it('answers a waiting request undefined after its wait, and the next in line gets the room it held back', async function () {
    const bound = new PendingBound(200, 1000);
    bound.take(150, 10, undefined);
    const big = bound.admit(80, 30) as Promise<Admission | undefined>;
    const small = bound.admit(30, 10000) as Promise<Admission | undefined>;
    expect(await settled(small), 'behind the big one').to.equal('pending');
    expect(await big).to.equal(undefined);
    expect(isAdmission(await settled(small)), '150 + 30 <= 200 once the big one gave up').to.equal(true);
  });

  it('bounds the line too: a request that would pass the bound in waiting events is answered undefined at once', async function () {
    const bound = new PendingBound(100, 1000);
    bound.take(100, 10, undefined);
    const first = bound.admit(60, 10000) as Promise<Admission | undefined>;
    const second = bound.admit(40, 10000) as Promise<Admission | undefined>;
    expect(await bound.admit(1, 10000), '60 + 40 wait: one more passes 100').to.equal(undefined);
    bound.done(100, 10);
    expect(isAdmission(await first) && isAdmission(await second)).to.equal(true);
    // The line is empty again: a request larger than the bound may wait alone.
    const alone = bound.admit(500, 10000) as Promise<Admission | undefined>;
    expect(await settled(alone)).to.equal('pending');
    bound.close();
    expect(await alone).to.equal(undefined);
  });

  it('answers every waiting request undefined at close, and any later one', async function () {
    const bound = new PendingBound(10, 1000);
    bound.take(10, 10, undefined);
    const waiting = bound.admit(5, 10000) as Promise<Admission | undefined>;
    bound.close();
    expect(await waiting).to.equal(undefined);
    expect(await bound.admit(1, 10000)).to.equal(undefined);
  });
});
