import { expect } from 'chai';
import { EventGateError } from '../../lib/errors';
import { StreamTable } from '../../lib/stream/config';

/** Counts RegExp#test calls made while `fn` runs. */
function countRegexTests(fn: () => void): number {
  // Put back as it was, and always called with a RegExp as `this`.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const original = RegExp.prototype.test;
  let calls = 0;
  RegExp.prototype.test = function (this: RegExp, s: string) {
    calls++;
    return original.call(this, s);
  };
  try {
    fn();
  } finally {
    RegExp.prototype.test = original;
  }
  return calls;
}

describe('stream table', () => {
  const config = {
    'mediawiki.job.special': { schema_title: 'mediawiki/job/special' },
    '/^mediawiki\\.job\\..+/': { schema_title: 'mediawiki/job' },
    '/^mediawiki\\..+/': { schema_title: 'mediawiki/other' },
    'analytics.click': { schema_title: 'analytics/click', destination_event_service: 'eventgate-analytics' },
    'main.edit': { schema_title: 'main/edit', destination_event_service: 'eventgate' },
    '/^analytics\\..+/': { schema_title: 'analytics/any' },
  };

  it('prefers an exact stream name over a regex key that also matches it', () => {
    const table = new StreamTable(config, 'eventgate');
    expect(table.get('mediawiki.job.special')?.schema_title).to.equal('mediawiki/job/special');
  });

  it('resolves other names through the first regex key, in config order, that matches', () => {
    const table = new StreamTable(config, 'eventgate');
    expect(table.get('mediawiki.job.refreshLinks')?.schema_title).to.equal('mediawiki/job');
    expect(table.get('mediawiki.page_change')?.schema_title).to.equal('mediawiki/other');
    expect(table.get('unknown.stream')).to.equal(undefined);
  });

  it('tests the regex keys once per concrete name and answers again from its cache, misses included', () => {
    const table = new StreamTable(config, 'eventgate');
    expect(countRegexTests(() => table.get('mediawiki.page_change'))).to.equal(2);
    expect(countRegexTests(() => table.get('mediawiki.page_change'))).to.equal(0);
    expect(countRegexTests(() => table.get('unknown.stream'))).to.equal(3);
    expect(countRegexTests(() => table.get('unknown.stream'))).to.equal(0);
  });

  it('does not serve a stream whose destination_event_service is another service, even through a broader regex', () => {
    const table = new StreamTable(config, 'eventgate');
    expect(table.get('analytics.click')).to.equal(undefined);
    expect(table.get('main.edit')?.schema_title).to.equal('main/edit');
    expect(table.get('analytics.view')?.schema_title).to.equal('analytics/any');

    const analytics = new StreamTable(config, 'eventgate-analytics');
    expect(analytics.get('analytics.click')?.schema_title).to.equal('analytics/click');
    expect(analytics.get('main.edit')).to.equal(undefined);
  });

  it('filters regex matches by destination_event_service too', () => {
    const table = new StreamTable({ '/^x\\./': { destination_event_service: 'elsewhere' } }, 'eventgate');
    expect(table.get('x.one')).to.equal(undefined);
  });

  it('selects the settings of given names as served here, resolving concrete names and regex keys', () => {
    const table = new StreamTable(config, 'eventgate');
    expect(table.select(['main.edit', 'mediawiki.job.a', '/^mediawiki\\..+/', 'analytics.click', 'nope'])).to.deep.equal({
      'main.edit': config['main.edit'],
      'mediawiki.job.a': config['/^mediawiki\\.job\\..+/'],
      '/^mediawiki\\..+/': config['/^mediawiki\\..+/'],
    });
  });

  it('keeps the loaded config, extra keys included, frozen as its source', () => {
    const raw = { 's.one': { schema_title: 't', canary_events_enabled: true, consumers: { x: { job_name: 'j' } } } };
    const table = new StreamTable(raw, 'eventgate');
    expect(table.source).to.deep.equal(raw);
    expect(Object.isFrozen(table.source['s.one'].consumers)).to.equal(true);
    expect(table.size).to.equal(1);
  });

  it('refuses a config that is not a map of settings objects', () => {
    for (const bad of [null, [], 'streams', { 'a.stream': 'title' }]) {
      expect(() => new StreamTable(bad, 'eventgate'))
        .to.throw(EventGateError)
        .with.property('code', 'EG_ERR_STREAM_CONFIG_INVALID');
    }
  });

  it('refuses message_key_fields that do not map names to paths', () => {
    expect(() => new StreamTable({ s: { message_key_fields: ['meta.id'] } }, 'eventgate')).to.throw(/s\.message_key_fields/);
    expect(() => new StreamTable({ s: { message_key_fields: { id: 1 } } }, 'eventgate')).to.throw(/s\.message_key_fields/);
  });
});
