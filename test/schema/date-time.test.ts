import { expect } from 'chai';
import { fullFormats } from 'ajv-formats/dist/formats';
import { isDateTime } from '../../lib/schema/date-time';
import { nearMisses } from '../helpers/fuzz';

const reference = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;

const PIECES = ['0', '1', '2', '9', '00', '12', '23', '29', '30', '31', '59', '60', '61', '99', '2024', '1900', '2000', '-', ':', 'T', 't', ' ', '\u00a0', '.', '.123', 'Z', 'z', '+', '-', '+01:00', '-23:59', '+2400', 'x', ''];

describe('date-time format', () => {
  it('agrees with ajv-formats on well-known valid and invalid times', () => {
    const cases = [
      '2024-01-01T00:00:00Z', '2024-02-29T12:30:45.123456+01:00', '2023-02-29T00:00:00Z', '2016-12-31T23:59:60Z',
      '2016-12-31T23:59:60+00:00', '2016-12-31T22:59:60-01:00', '2024-13-01T00:00:00Z', '2024-01-01 00:00:00z',
      '2024-01-01T24:00:00Z', '2024-01-01T00:00:00', '2024-01-01T00:00:00.Z', '2024-01-01T00:00:00+0100', 'yesterday',
    ];
    for (const c of cases) expect(isDateTime(c), c).to.equal(reference(c));
  });

  it('agrees with ajv-formats on 200,000 generated near-misses', () => {
    const seeds = ['2024-02-29T23:59:60.5+23:59', '1999-12-31t23:59:59z', '2000-01-01 00:00:00-00:00'];
    for (const s of nearMisses(seeds, PIECES, 200000, 1)) expect(isDateTime(s), JSON.stringify(s)).to.equal(reference(s));
  });
});
