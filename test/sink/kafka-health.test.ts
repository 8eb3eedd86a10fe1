/**
 * A producer's broker health (lib/sink/kafka/health.ts) alone: its one
 * state value through an outage, and its probe. kafka-lifecycle.test.ts
 * drives it through the producer and a fake client.
 */
import { expect } from 'chai';
import { Backoff } from '../../lib/backoff';
import { BrokerHealth } from '../../lib/sink/kafka/health';
import { recordingLogger } from '../helpers/kafka-fake-client';

const PROBE_RETRY_MS = 20;

function health(statsEnabled: boolean): { health: BrokerHealth; probes: ((err: unknown) => void)[]; answered: () => number; events: () => string[] } {
  const { log, events } = recordingLogger();
  const probes: ((err: unknown) => void)[] = [];
  let answered = 0;
  const h = new BrokerHealth({
    log,
    statsEnabled,
    probeBackoff: new Backoff(PROBE_RETRY_MS, PROBE_RETRY_MS),
    metadata: (done) => probes.push(done),
    answered: () => answered++,
    closed: () => false,
  });
  return { health: h, probes, answered: () => answered, events };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("A Kafka producer's broker health", function () {
  it('is one value through an outage: up, down (statistics counted, then confirmed), up again', function () {
    const { health: h, probes } = health(true);
    expect(h.current).to.deep.equal({ kind: 'up', probe: { kind: 'none' } });
    h.noLeaderUp(false);
    expect(h.current.kind, 'statistics alone do not set it down').to.equal('up');

    h.allDown(new Error('all broker connections are down'));
    expect(h.current).to.include({ kind: 'down', reason: 'all brokers are down', downStats: 0, confirmed: false });
    expect(h.current.kind === 'down' && h.current.probe.kind).to.equal('running');
    expect(probes).to.have.length(1);
    h.allDown(new Error('all broker connections are down'));
    expect(probes, 'one probe at a time').to.have.length(1);

    h.noLeaderUp(false);
    expect(h.current).to.include({ downStats: 1, confirmed: false });
    h.noLeaderUp(false);
    expect(h.current).to.include({ downStats: 2, confirmed: true, reason: 'all brokers are down; no broker connection is up' });
    expect(h.downConfirmed).to.equal(true);

    h.up('stats');
    expect(h.current, 'the probe asked during the outage is still out').to.deep.equal({ kind: 'up', probe: { kind: 'running' } });
    expect(h.brokersDown).to.equal(undefined);
    probes[0](null);
    expect(h.current).to.deep.equal({ kind: 'up', probe: { kind: 'none' } });
  });

  it('with statistics on, stays down when a probe answers; without, is up and clears what the answer clears', function () {
    const on = health(true);
    on.health.allDown(new Error('down'));
    on.probes[0](null);
    expect(on.health.current.kind).to.equal('down');
    expect(on.answered()).to.equal(0);

    const off = health(false);
    off.health.allDown(new Error('down'));
    off.probes[0](null);
    expect(off.health.current.kind).to.equal('up');
    expect(off.answered()).to.equal(1);
    expect(off.events()).to.deep.equal(['kafka.brokers_down', 'kafka.brokers_up']);
  });

  it('is stopped for good by stop(): the waiting probe is cancelled and nothing sets it down again', async function () {
    const { health: h, probes } = health(false);
    h.allDown(new Error('down'));
    probes[0](new Error('timed out'));
    expect(h.current.kind === 'down' && h.current.probe.kind).to.equal('waiting');
    h.stop();
    expect(h.current).to.deep.equal({ kind: 'stopped' });
    h.allDown(new Error('down'));
    await sleep(3 * PROBE_RETRY_MS);
    expect(probes, 'no probe after stop()').to.have.length(1);
    expect(h.current).to.deep.equal({ kind: 'stopped' });
  });
});
