import { expect } from 'chai';
import { Backoff } from '../lib/backoff';

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

  it('waits firstMs on the first failure of a streak when given, then doubles from the initial wait', () => {
    let now = 0;
    const b = new Backoff(100, 1000, () => now, 0);
    const delays = [];
    for (let i = 0; i < 6; i++) {
      delays.push(b.next());
      now += 10;
    }
    expect(delays).to.deep.equal([0, 100, 200, 400, 800, 1000]);
    now += 1001;
    expect(b.next(), 'a new streak').to.equal(0);
  });
});
