import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { freePort } from '../helpers/ports';
import { Eventgate, send, testEvent, type TempConfig, withTempConfig } from '../helpers/eventgate-process';

/** A port another process's listener really holds (a plain TCP server in this test process). */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { port, server };
}

for (const workers of [0, 2]) {
  describe(`a Prometheus port in use with num_workers ${workers}`, function () {
    this.timeout(30000);
    let cfg: TempConfig;
    let held: Server | undefined;
    withTempConfig((c) => (cfg = c));
    afterEach(() => held?.close());

    it('logs EG_ERR_METRICS_LISTEN once and serves events on without metrics, then stops cleanly', async () => {
      const { port, server } = await holdPort();
      held = server;
      cfg.write({ num_workers: workers, metrics: [{ type: 'prometheus', port, host: '127.0.0.1' }] });
      const eg = new Eventgate(cfg.path);
      if (workers) await eg.waitForMaster('master.started');
      else await eg.waitFor((l) => l.event === 'service.listening');
      await eg.waitFor((l) => l.code === 'EG_ERR_METRICS_LISTEN');
      for (let i = 0; i < 4; i++) expect((await send(cfg.port, 'POST', '/v1/events', testEvent())).status).to.equal(201);
      expect(eg.hasExited, 'still running').to.equal(false);
      expect(eg.lines.filter((l) => l.code === 'EG_ERR_METRICS_LISTEN')).to.have.length(1);
      eg.signal('SIGTERM');
      expect(await eg.exited).to.deep.equal({ code: 0, signal: null });
      expect(eg.other.filter((t) => /EADDRINUSE/.test(t)), 'no raw stack on stderr').to.deep.equal([]);
    });
  });
}
