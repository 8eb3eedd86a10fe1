import { expect } from 'chai';
import { fullFormats } from 'ajv-formats/dist/formats';
import { isDateTime } from '../../lib/schema/date-time';

const reference = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;

/** A small deterministic generator (mulberry32): the same strings on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
    const next = random(20261122);
    const mutate = (s: string): string => {
      const i = Math.floor(next() * (s.length + 1));
      const piece = PIECES[Math.floor(next() * PIECES.length)];
      return next() < 0.5 ? s.slice(0, i) + piece + s.slice(i + 1) : s.slice(0, i) + piece + s.slice(i);
    };
    const seeds = ['2024-02-29T23:59:60.5+23:59', '1999-12-31t23:59:59z', '2000-01-01 00:00:00-00:00'];
    for (let n = 0; n < 200000; n++) {
      let s = seeds[n % seeds.length];
      for (let k = 1 + Math.floor(next() * 3); k > 0; k--) s = mutate(s);
      expect(isDateTime(s), JSON.stringify(s)).to.equal(reference(s));
    }
  });
});
