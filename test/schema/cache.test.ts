import { expect } from 'chai';
import { EventGateError } from '../../lib/errors';
import { SchemaCache, type SchemaCacheOptions } from '../../lib/schema/cache';

function notFound(uri: string): EventGateError {
  return new EventGateError('EG_ERR_SCHEMA_NOT_FOUND', `Schema ${uri} not found`);
}

/** A cache with room for plenty, unless told otherwise. */
function cacheOf(ttlMs: number, more: Partial<SchemaCacheOptions<string>> = {}): SchemaCache<string> {
  return new SchemaCache<string>({ ttlMs, maxSchemas: 1000, maxFailures: 1000, now: () => now, ...more });
}

let now: number;

describe('schema cache', () => {
  beforeEach(() => {
    now = 1000;
  });

  it('returns a failure until its TTL has passed, then forgets it', () => {
    const cache = cacheOf(100);
    const err = notFound('/a');
    cache.setFailed('/a', err);
    now += 99;
    expect(cache.get('/a')).to.equal(err);
    now += 1;
    expect(cache.get('/a')).to.equal(undefined);
    expect(cache.size.failed).to.equal(0);
  });

  it('keeps compiled schemas without expiry', () => {
    const cache = cacheOf(100);
    cache.setOk('/a', 'compiled');
    now += 1e9;
    expect(cache.get('/a')).to.equal('compiled');
  });

  it('remembers no failure when the TTL is 0', () => {
    const cache = cacheOf(0);
    cache.setFailed('/a', notFound('/a'));
    expect(cache.get('/a')).to.equal(undefined);
  });

  it('drops the oldest failures beyond its bound, so made-up URIs cannot grow it without end', () => {
    const cache = cacheOf(100, { maxFailures: 3 });
    for (const uri of ['/1', '/2', '/3', '/4', '/5']) cache.setFailed(uri, notFound(uri));
    expect(cache.size.failed).to.equal(3);
    expect(cache.get('/1')).to.equal(undefined);
    expect(cache.get('/2')).to.equal(undefined);
    expect(cache.get('/5')).to.be.instanceOf(EventGateError);
  });

  it('prunes expired failures when adding new ones', () => {
    const cache = cacheOf(100);
    cache.setFailed('/old', notFound('/old'));
    now += 200;
    cache.setFailed('/new', notFound('/new'));
    expect(cache.size.failed).to.equal(1);
  });

  it('replaces a failure once the schema loads', () => {
    const cache = cacheOf(100);
    cache.setFailed('/a', notFound('/a'));
    cache.setOk('/a', 'compiled');
    expect(cache.get('/a')).to.equal('compiled');
    expect(cache.size.failed).to.equal(0);
  });

  it('forgets everything on clear', () => {
    const cache = cacheOf(100);
    cache.setOk('/a', 'compiled');
    cache.setFailed('/b', notFound('/b'));
    cache.clear();
    expect(cache.get('/a')).to.equal(undefined);
    expect(cache.get('/b')).to.equal(undefined);
  });

  it('holds at most maxSchemas compiled schemas, evicting one not looked up since the others were', () => {
    const evicted: string[] = [];
    const cache = cacheOf(100, { maxSchemas: 3, onEvict: (_s, uri) => evicted.push(uri) });
    cache.setOk('/1', 'one');
    cache.setOk('/2', 'two');
    cache.setOk('/3', 'three');
    // Every entry had its chance once: the hand clears them, then /1 is the oldest.
    expect(cache.setOk('/4', 'four')).to.equal(1);
    expect(evicted).to.deep.equal(['/1']);
    // /2 is looked up, /3 is not: /3 goes, although /2 is older.
    expect(cache.get('/2')).to.equal('two');
    expect(cache.setOk('/5', 'five')).to.equal(1);
    expect(evicted).to.deep.equal(['/1', '/3']);
    expect(cache.size.ok).to.equal(3);
    expect(cache.get('/1')).to.equal(undefined);
    expect(cache.get('/2')).to.equal('two');
    expect(cache.get('/5')).to.equal('five');
  });

  it('counts the live failures it drops to stay within maxFailures', () => {
    const cache = cacheOf(100, { maxFailures: 2 });
    expect(cache.setFailed('/1', notFound('/1'))).to.equal(0);
    expect(cache.setFailed('/2', notFound('/2'))).to.equal(0);
    expect(cache.setFailed('/3', notFound('/3'))).to.equal(1);
    expect(cache.size.failed).to.equal(2);
  });
});
