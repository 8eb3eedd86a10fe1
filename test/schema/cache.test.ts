import { expect } from 'chai';
import { EventGateError } from '../../lib/errors';
import { SchemaCache } from '../../lib/schema/cache';

function notFound(uri: string): EventGateError {
  return new EventGateError('EG_ERR_SCHEMA_NOT_FOUND', `Schema ${uri} not found`);
}

describe('schema cache', () => {
  let now: number;
  const clock = (): number => now;
  beforeEach(() => {
    now = 1000;
  });

  it('returns a failure until its TTL has passed, then forgets it', () => {
    const cache = new SchemaCache<string>(100, clock);
    const err = notFound('/a');
    cache.setFailed('/a', err);
    now += 99;
    expect(cache.get('/a')).to.equal(err);
    now += 1;
    expect(cache.get('/a')).to.equal(undefined);
    expect(cache.size.failed).to.equal(0);
  });

  it('keeps compiled schemas without expiry', () => {
    const cache = new SchemaCache<string>(100, clock);
    cache.setOk('/a', 'compiled');
    now += 1e9;
    expect(cache.get('/a')).to.equal('compiled');
  });

  it('remembers no failure when the TTL is 0', () => {
    const cache = new SchemaCache<string>(0, clock);
    cache.setFailed('/a', notFound('/a'));
    expect(cache.get('/a')).to.equal(undefined);
  });

  it('drops the oldest failures beyond its bound, so made-up URIs cannot grow it without end', () => {
    const cache = new SchemaCache<string>(100, clock, 3);
    for (const uri of ['/1', '/2', '/3', '/4', '/5']) cache.setFailed(uri, notFound(uri));
    expect(cache.size.failed).to.equal(3);
    expect(cache.get('/1')).to.equal(undefined);
    expect(cache.get('/2')).to.equal(undefined);
    expect(cache.get('/5')).to.be.instanceOf(EventGateError);
  });

  it('prunes expired failures when adding new ones', () => {
    const cache = new SchemaCache<string>(100, clock);
    cache.setFailed('/old', notFound('/old'));
    now += 200;
    cache.setFailed('/new', notFound('/new'));
    expect(cache.size.failed).to.equal(1);
  });

  it('replaces a failure once the schema loads', () => {
    const cache = new SchemaCache<string>(100, clock);
    cache.setFailed('/a', notFound('/a'));
    cache.setOk('/a', 'compiled');
    expect(cache.get('/a')).to.equal('compiled');
    expect(cache.size.failed).to.equal(0);
  });

  it('forgets everything on clear', () => {
    const cache = new SchemaCache<string>(100, clock);
    cache.setOk('/a', 'compiled');
    cache.setFailed('/b', notFound('/b'));
    cache.clear();
    expect(cache.get('/a')).to.equal(undefined);
    expect(cache.get('/b')).to.equal(undefined);
  });
});
