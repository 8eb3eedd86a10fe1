import { expect } from 'chai';
import { timestampOf } from '../../lib/gate/timestamp';
import { nearMisses } from '../helpers/fuzz';

const reference = (s: string): number | undefined => {
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
};

const PIECES = ['0', '1', '2', '9', '00', '12', '23', '24', '29', '30', '31', '59', '60', '99', '0001', '0099', '2024', '1900', '-', ':', 'T', ' ', '.', '.5', '.123456789', 'Z', 'z', '+01:00', 'x', ''];

describe('event timestamp', () => {
  it('gives what Date.parse gives for the usual form and its edge cases', () => {
    const cases = [
      '2024-01-01T00:00:00Z', '2024-02-29T12:30:45.123Z', '2024-02-29T12:30:45.1Z', '2024-02-29T12:30:45.123456789Z',
      '2023-02-29T00:00:00Z', '2024-04-31T00:00:00Z', '2024-13-01T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T23:59:60Z',
      '0050-06-01T00:00:00Z', '0100-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z', '2024-01-01T00:00:00.Z', '2024-01-01T00:00:00+02:00',
      '2024-01-01 00:00:00Z', '2024-01-01T00:00:00', '2024-01-01', 'yesterday', '',
    ];
    for (const c of cases) expect(timestampOf(c), c).to.equal(reference(c));
  });

  it('gives what Date.parse gives on 200,000 generated near-misses', () => {
    const seeds = ['2024-02-29T23:59:59.123Z', '1999-12-31T00:00:00Z', '2000-01-01T12:34:56.7Z'];
    let fast = 0;
    for (const s of nearMisses(seeds, PIECES, 200000, 0)) {
      const want = reference(s);
      if (timestampOf(s) !== want) expect(timestampOf(s), JSON.stringify(s)).to.equal(want);
      if (want !== undefined && s.endsWith('Z')) fast++;
    }
    // The generator must reach the hand-read form, not only Date.parse's fallbacks.
    expect(fast).to.be.greaterThan(50000);
  });
});
