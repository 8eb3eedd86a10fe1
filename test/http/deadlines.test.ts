import { expect } from 'chai';
import { performance } from 'node:perf_hooks';
import { Deadlines } from '../../lib/http/deadlines';
import { until } from '../helpers/until';

describe('deadlines', () => {
  it('runs an armed deadline once and not before its time, and never a cancelled one', async () => {
    const deadlines = new Deadlines(50);
    const fired: string[] = [];
    const started = performance.now();
    let firedAfter = 0;
    const first = deadlines.arm(() => fired.push('first, cancelled'));
    deadlines.arm(() => {
      fired.push('second');
      firedAfter = performance.now() - started;
    });
    const third = deadlines.arm(() => fired.push('third, cancelled'));
    deadlines.arm(() => fired.push('fourth'));
    // Cancelled at the head and in the middle of the list; a second cancel changes nothing.
    deadlines.cancel(first);
    deadlines.cancel(third);
    deadlines.cancel(third);
    // Once the last one armed has fired, every earlier time has passed.
    await until(() => fired.includes('fourth'), 2000, 'the last deadline');
    expect(fired).to.deep.equal(['second', 'fourth']);
    // Not before its time (a timer may fire a millisecond or so early by performance.now()); one fired at once would be far below.
    expect(firedAfter).to.be.at.least(45);
  });

  it('keeps working after it went idle (its timer stops when nothing is pending)', async () => {
    const deadlines = new Deadlines(10);
    let n = 0;
    deadlines.arm(() => n++);
    await until(() => n === 1, 2000, 'the first deadline');
    deadlines.arm(() => n++);
    await until(() => n === 2, 2000, 'a deadline armed after the timer stopped');
  });
});
