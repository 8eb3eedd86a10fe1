import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { Deadlines } from '../../lib/http/deadlines';
import { until } from '../helpers/until';

describe('deadlines', () => {
  it('runs an armed deadline once and not before its time, and never a cancelled one', async () => {
    const deadlines = new Deadlines(5);
    const fired: string[] = [];
    const started = performance.now();
    let firedAfter = 0;
    const cancelled = deadlines.arm(40, () => fired.push('cancelled'));
    deadlines.arm(40, () => {
      fired.push('kept');
      firedAfter = performance.now() - started;
    });
    deadlines.cancel(cancelled);
    // Armed after the cancelled one, with a later time: once it fires, the cancelled one's time has passed.
    deadlines.arm(60, () => fired.push('later'));
    await until(() => fired.includes('later'), 2000, 'the later deadline');
    expect(fired).to.deep.equal(['kept', 'later']);
    expect(firedAfter).to.be.at.least(40);
  });

  it('keeps working after it went idle (its timer stops when nothing is pending)', async () => {
    const deadlines = new Deadlines(5);
    let n = 0;
    deadlines.arm(10, () => n++);
    await until(() => n === 1, 2000, 'the first deadline');
    deadlines.arm(10, () => n++);
    await until(() => n === 2, 2000, 'a deadline armed after the timer stopped');
  });
});
