/**
 * The Kafka message timestamp against the real broker (Kafka 4.x refuses a
 * record batch holding a timestamp more than log.message.timestamp.after.max.ms,
 * 1 h, ahead): a client's meta.dt is the timestamp only inside the window
 * around receipt, so no client's clock can fail another client's events.
 */
import { expect } from 'chai';
import { consumeAll } from '../helpers/kafka';
import { parse, postEvents, startKafkaService, TEST_SCHEMA, type KafkaService } from '../helpers/kafka-service';

const STREAM = 'test.event';
const CLIENTS = 4;
const ROUNDS = 10;
const HOUR = 3_600_000;

interface Posted {
  readonly dt: string;
  /** Whether meta.dt lies inside the default window (1 day back, 10 minutes ahead). */
  readonly inWindow: boolean;
  readonly from: number;
  readonly to: number;
}

describe('Kafka message timestamps', function () {
  this.timeout(60000);
  let svc: KafkaService | undefined;
  afterEach(async () => {
    await svc?.close();
    svc = undefined;
  });

  it('keeps far-future and far-past meta.dt of one client from failing the events of concurrent clients, and times them at receipt', async () => {
    svc = await startKafkaService();
    const port = svc.port;
    const posted = new Map<string, Posted>();
    // Client 0 has a broken clock; the others send good times, in the same moments.
    const hostile = [() => new Date(Date.now() + 48 * HOUR), () => new Date('2100-01-01T00:00:00Z'), () => new Date('2001-09-09T01:46:40Z'), () => new Date(Date.now() + 2 * HOUR)];
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      for (let round = 0; round < ROUNDS; round++) {
        const events = Array.from({ length: 3 }, (_e, k) => {
          const id = `c${c}-r${round}-e${k}`;
          const broken = c === 0 && k === 1;
          const dt = (broken ? hostile[round % hostile.length]() : new Date(Date.now() - 1000 * k)).toISOString();
          return { id, dt, inWindow: !broken, event: { $schema: TEST_SCHEMA, meta: { stream: STREAM, id, dt }, test: id } };
        });
        const from = Date.now();
        const r = await postEvents(port, events.map((e) => e.event), `ts-${c}-${round}`);
        const to = Date.now();
        expect(r.status, r.text).to.equal(201);
        for (const e of events) posted.set(e.id, { dt: e.dt, inWindow: e.inWindow, from, to });
      }
    });
    await Promise.all(clients);
    const messages = await consumeAll(svc.topic(STREAM), posted.size);
    // consumeAll reads to the high watermark: a duplicate or stray message makes this longer.
    expect(messages).to.have.length(posted.size);
    const seen = new Set<string>();
    for (const m of messages) {
      const event = parse(m) as { meta: { id: string; dt: string } };
      const p = posted.get(event.meta.id);
      expect(p, `message ${event.meta.id} was posted`).to.not.equal(undefined);
      if (!p) continue;
      seen.add(event.meta.id);
      expect(event.meta.dt, 'the event itself is unchanged').to.equal(p.dt);
      if (p.inWindow) expect(m.timestamp, `timestamp of ${event.meta.id}`).to.equal(Date.parse(p.dt));
      else expect(m.timestamp, `timestamp of ${event.meta.id} (dt ${p.dt}) is its receipt`).to.be.within(p.from, p.to);
    }
    expect(seen.size).to.equal(posted.size);
  });

  it('takes meta.dt inside a configured window and the time of receipt outside it', async () => {
    svc = await startKafkaService({ conf: { timestamp_max_past_ms: 60_000, timestamp_max_future_ms: 0 } });
    const cases = [
      { id: 'inside', dt: new Date(Date.now() - 30_000).toISOString(), kept: true },
      { id: 'too-old', dt: new Date(Date.now() - 120_000).toISOString(), kept: false },
      { id: 'ahead', dt: new Date(Date.now() + 60_000).toISOString(), kept: false },
    ];
    const from = Date.now();
    const r = await postEvents(svc.port, cases.map((c) => ({ $schema: TEST_SCHEMA, meta: { stream: STREAM, id: c.id, dt: c.dt } })), 'ts-window');
    const to = Date.now();
    expect(r.status, r.text).to.equal(201);
    const messages = await consumeAll(svc.topic(STREAM), cases.length);
    for (const [i, c] of cases.entries()) {
      expect((parse(messages[i]) as { meta: { dt: string } }).meta.dt).to.equal(c.dt);
      if (c.kept) expect(messages[i].timestamp, c.id).to.equal(Date.parse(c.dt));
      else expect(messages[i].timestamp, c.id).to.be.within(from, to);
    }
  });
});
