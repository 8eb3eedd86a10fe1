import { expect } from 'chai';
import { fieldGetter, firstStringGetter, hasNonFiniteNumber, setField } from '../../lib/event/fields';

describe('event fields', () => {
  it('reads a dotted path, and undefined where any step is missing or not an object', () => {
    const event = { meta: { stream: 's', n: null }, top: 1 };
    expect(fieldGetter('top')(event)).to.equal(1);
    expect(fieldGetter('meta.stream')(event)).to.equal('s');
    expect(fieldGetter('meta.n.x')(event)).to.equal(undefined);
    expect(fieldGetter('meta.missing')(event)).to.equal(undefined);
    expect(fieldGetter('top.x')(event)).to.equal(undefined);
  });

  it('reads own properties only, never inherited ones', () => {
    expect(fieldGetter('toString')({})).to.equal(undefined);
    expect(fieldGetter('meta.constructor')({ meta: {} })).to.equal(undefined);
  });

  it('takes the first path that holds a non-empty string', () => {
    const get = firstStringGetter(['$schema', 'meta.schema_uri']);
    expect(get({ $schema: '', meta: { schema_uri: '/a/1.0.0' } })).to.equal('/a/1.0.0');
    expect(get({ $schema: '/b/1.0.0', meta: { schema_uri: '/a/1.0.0' } })).to.equal('/b/1.0.0');
    expect(get({ $schema: 3 })).to.equal(undefined);
  });

  it('finds a number JSON.parse could only read as Infinity, however deep', () => {
    expect(hasNonFiniteNumber(JSON.parse('{"a":[1,{"b":1e400}]}'))).to.equal(true);
    expect(hasNonFiniteNumber({ a: [1, { b: 1e300 }], c: null })).to.equal(false);
  });

  it('sets a dotted path, creating objects on the way and replacing what is not one', () => {
    const event: Record<string, unknown> = { meta: 'x' };
    setField(event, 'meta.stream', 's');
    setField(event, 'a.b.c', 1);
    expect(event).to.deep.equal({ meta: { stream: 's' }, a: { b: { c: 1 } } });
  });
});
