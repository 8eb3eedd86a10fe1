import { expect } from 'chai';
import { silentLogger } from '../../lib/log';
import { createMetrics, ReloadableMetrics } from '../../lib/metrics/factory';
import { sanitizeSegment, statsdName, StatsdMetrics } from '../../lib/metrics/statsd';
import { until } from '../helpers/until';
import { StatsdSink } from '../helpers/statsd-sink';

describe('statsd names', () => {
  it('appends each tag value, sanitized, in the order given', () => {
    expect(statsdName('events.accepted', { stream: 'mediawiki.page-create' })).to.equal('events.accepted.mediawiki_page-create');
    expect(statsdName('http.request', { route: '/v1/events', method: 'POST', status: 201 })).to.equal('http.request.v1_events.POST.201');
    expect(statsdName('http.internal_error')).to.equal('http.internal_error');
  });

  it('keeps statsd separators and empty values out of a segment', () => {
    expect(sanitizeSegment('a:b|c@d e')).to.equal('a_b_c_d_e');
    expect(sanitizeSegment('/')).to.equal('_');
    expect(sanitizeSegment('')).to.equal('_');
    expect(sanitizeSegment('..x..')).to.equal('x');
  });
});

describe('StatsdMetrics', () => {
  const sinks: StatsdSink[] = [];
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });

  async function sink(): Promise<[StatsdSink, number]> {
    const s = new StatsdSink();
    sinks.push(s);
    return [s, await s.start()];
  }

  it('sends counters, timings and gauges with the prefix to every target, and close() flushes them', async () => {
    const [a, portA] = await sink();
    const [b, portB] = await sink();
    const metrics = new StatsdMetrics(
      [
        { host: '127.0.0.1', port: portA, prefix: 'eg' },
        { host: 'localhost', port: portB, prefix: '' },
      ],
      silentLogger(),
    );
    metrics.increment('events.accepted', 3, { stream: 'test.event' });
    metrics.increment('http.internal_error');
    metrics.timing('http.request', 4.5, { route: '/v1/events', method: 'POST', status: 201 });
    metrics.gauge('supervisor.workers', 2, { state: 'listening' });
    await metrics.close();
    const expected: [string, number, string][] = [
      ['events.accepted.test_event', 3, 'c'],
      ['http.internal_error', 1, 'c'],
      ['http.request.v1_events.POST.201', 4.5, 'ms'],
      ['supervisor.workers.listening', 2, 'g'],
    ];
    await until(() => a.lines.length === 4 && b.lines.length === 4, 3000, 'both targets');
    expect(a.parsed()).to.deep.equal(expected.map(([n, v, t]) => [`eg.${n}`, v, t]));
    expect(b.parsed()).to.deep.equal(expected);
    // After close, samples are dropped, not thrown.
    metrics.increment('events.accepted');
    await metrics.close();
  });

  it('is nothing at all when no target is configured: no samples kept, no endpoint', async () => {
    const metrics = createMetrics([], silentLogger());
    metrics.increment('events.accepted', 1, { stream: 'a' });
    expect(await metrics.snapshot()).to.equal(undefined);
    expect(await metrics.scrapePorts).to.deep.equal([]);
  });

  it('follows a reload to new targets and closes the old client', async () => {
    const [a, portA] = await sink();
    const [b, portB] = await sink();
    const metrics = new ReloadableMetrics([{ type: 'statsd', host: '127.0.0.1', port: portA, prefix: 'one' }], silentLogger());
    metrics.increment('x');
    await metrics.reconfigure([{ type: 'statsd', host: '127.0.0.1', port: portB, prefix: 'two' }]);
    metrics.increment('y');
    await metrics.close();
    await until(() => a.lines.length === 1 && b.lines.length === 1, 3000, 'one line at each target');
    expect(a.lines).to.deep.equal(['one.x:1|c']);
    expect(b.lines).to.deep.equal(['two.y:1|c']);
  });
});
