import { expect } from 'chai';
import { EventGateError } from '../../lib/errors';
import { parseEvents } from '../../lib/event/parse';
import { scanBody } from '../../lib/event/scan';

const LIMITS = { maxDepth: 3, maxEvents: 4 };
const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return err instanceof EventGateError ? err.code : 'not an EventGateError';
  }
  return undefined;
};

describe('scanBody', () => {
  it('counts the events of an array, and an object as one', () => {
    expect(scanBody('[{},{"a":[1,2]},3]', LIMITS).count).to.equal(3);
    expect(scanBody('  {"a":1}', LIMITS).count).to.equal(1);
    expect(scanBody('[ ]', LIMITS).count).to.equal(0);
  });

  it('reads brackets and commas inside strings as data, escaped quotes too', () => {
    const shape = scanBody('[{"a":"[[[[,,,,\\"]]]{"},{"b":"\\\\"}]', LIMITS);
    expect(shape.count).to.equal(2);
    expect(shape.tooDeep).to.deep.equal([]);
  });

  it('names the events nested deeper than maxDepth, and the text of each', () => {
    const text = '[{"a":[[1]]},{"a":[[[1]]]},{},[[[[]]]]]';
    const shape = scanBody(text, LIMITS);
    expect(shape.tooDeep).to.deep.equal([1, 3]);
    expect(shape.spans.map(([s, e]) => text.slice(s, e))).to.deep.equal(['{"a":[[[1]]]}', '[[[[]]]]']);
  });

  it('ends a string only at a quote after an even run of backslashes, in any mix of escapes', () => {
    // Strings made of what can end or fool a string scan, written by JSON.stringify: its escaping is the truth.
    const pieces = ['\\', '"', '[', '{', ']', '}', ',', 'x', '\\\\', '\\"', 'é', '\n'];
    let seed = 13;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % pieces.length;
    for (let round = 0; round < 200; round++) {
      const events = Array.from({ length: 1 + (round % 4) }, (_, k) => {
        let value = '';
        for (let j = 0; j < round % 17; j++) value += pieces[next()];
        return k % 2 === 0 ? { [value]: value } : { a: [{ b: value }] };
      });
      const shape = scanBody(JSON.stringify(events), LIMITS);
      expect(shape.count).to.equal(events.length);
      expect(shape.tooDeep).to.deep.equal([]);
    }
  });

  it('refuses more than maxEvents events with EG_ERR_TOO_MANY_EVENTS, and takes exactly maxEvents', () => {
    expect(codeOf(() => scanBody('[1,2,3,4,5]', LIMITS))).to.equal('EG_ERR_TOO_MANY_EVENTS');
    expect(scanBody('[1,2,3,4]', LIMITS).count).to.equal(4);
  });
});

describe('parseEvents', () => {
  it('parses an object or an array of events, dropping a BOM', () => {
    expect(parseEvents(Buffer.from('\ufeff{"a":1}'), LIMITS)).to.deep.equal({ events: [{ a: 1 }], tooDeep: undefined });
    expect(parseEvents(Buffer.from('[{"a":1},{"b":2}]'), LIMITS).events).to.deep.equal([{ a: 1 }, { b: 2 }]);
  });

  it('replaces an event deeper than the limit by null and names its index, its neighbours intact', () => {
    const parsed = parseEvents(Buffer.from('[{"a":1},{"d":[[[[]]]]},{"b":2}]'), LIMITS);
    expect(parsed.events).to.deep.equal([{ a: 1 }, null, { b: 2 }]);
    expect([...(parsed.tooDeep ?? [])]).to.deep.equal([1]);
    const single = parseEvents(Buffer.from(`{"d":${'['.repeat(100000)}${']'.repeat(100000)}}`), LIMITS);
    expect(single.events).to.deep.equal([null]);
    expect([...(single.tooDeep ?? [])]).to.deep.equal([0]);
  });

  it('refuses empty, malformed and non-event bodies with their codes', () => {
    expect(codeOf(() => parseEvents(Buffer.from('  '), LIMITS))).to.equal('EG_ERR_BODY_EMPTY');
    expect(codeOf(() => parseEvents(Buffer.from('[]'), LIMITS))).to.equal('EG_ERR_BODY_EMPTY');
    expect(codeOf(() => parseEvents(Buffer.from('{}'), LIMITS))).to.equal('EG_ERR_BODY_EMPTY');
    expect(codeOf(() => parseEvents(Buffer.from('[1,'), LIMITS))).to.equal('EG_ERR_BODY_MALFORMED');
    expect(codeOf(() => parseEvents(Buffer.from('['.repeat(1000)), LIMITS))).to.equal('EG_ERR_BODY_MALFORMED');
    expect(codeOf(() => parseEvents(Buffer.from('"text"'), LIMITS))).to.equal('EG_ERR_BODY_NOT_EVENTS');
  });
});
