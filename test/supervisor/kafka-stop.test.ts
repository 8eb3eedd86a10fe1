import { expect } from 'chai';
import { join } from 'node:path';
import { freePort } from '../helpers/ports';
import { Eventgate, send, testEvent, withTempConfig, type TempConfig } from '../helpers/eventgate-process';
import { spooled } from '../helpers/spool';

describe('SIGTERM while Kafka is unreachable', function () {
  this.timeout(60000);
  let cfg: TempConfig;
  withTempConfig((c) => (cfg = c));

  it('stops every worker cleanly (no heartbeat kill, no drain timeout), exit 0, with the refused events in the spool', async function () {
    const spoolPath = join(cfg.dir, 'failed.ndjson');
    // A port nothing listens on: every connection attempt is refused.
    const dead = `127.0.0.1:${await freePort()}`;
    cfg.write(
      { num_workers: 2, shutdown_timeout_ms: 10000 },
      { failed_events_path: spoolPath, kafka: { conf: { 'metadata.broker.list': dead } } },
    );
    const eg = new Eventgate(cfg.path);
    await eg.waitForWorkers(2, 40000);
    const ids = ['a', 'b', 'c'].map((n) => `${n}-${Date.now()}`);
    for (const id of ids) {
      const answer = await send(cfg.port, 'POST', '/v1/events', testEvent(id));
      expect(answer.status).to.equal(503);
    }
    eg.signal('SIGTERM');
    const exit = await eg.exited;
    expect(exit).to.deep.equal({ code: 0, signal: null });
    // Before, librdkafka's teardown waited out a 10 s connection attempt: the
    // master killed the silent worker (heartbeat) or its drain timed out.
    const unclean = eg.lines.filter((l) => l.event === 'worker.drain_unclean' || l.event === 'worker.killed' || l.event === 'shutdown.timeout');
    expect(unclean.map((l) => l.event)).to.deep.equal([]);
    const spooledIds = (await spooled(spoolPath)).map((e) => (e.event as { meta: { id: string } }).meta.id);
    expect(spooledIds).to.have.members(ids);
  });
});
