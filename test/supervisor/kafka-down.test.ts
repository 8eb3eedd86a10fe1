import { expect } from 'chai';
import { freePort } from '../helpers/ports';
import { until } from '../helpers/until';
import { Eventgate, send, type LogLine, type TempConfig, withTempConfig } from '../helpers/eventgate-process';

/** The connect-retry lines of one producer of the process `pid`. */
function connectLines(eg: Eventgate, pid: number, producer: string): LogLine[] {
  return eg.lines.filter((l) => l.pid === pid && l.producer === producer && l.code === 'EG_ERR_KAFKA_CONNECT');
}

for (const workers of [0, 1]) {
  describe(`Kafka unreachable at start with num_workers ${workers}`, function () {
    this.timeout(40000);
    let cfg: TempConfig;
    withTempConfig((c) => (cfg = c));

    async function start(): Promise<Eventgate> {
      // Nothing listens there: every connect is refused.
      const broker = `127.0.0.1:${await freePort()}`;
      cfg.write({ num_workers: workers, ready_timeout_ms: 60000, shutdown_timeout_ms: 30000 }, { kafka: { conf: { 'metadata.broker.list': broker }, connect_timeout_ms: 300 } });
      return new Eventgate(cfg.path);
    }

    it('answers /healthz 200 while it waits for its producers, and /readyz 503', async () => {
      const eg = await start();
      // Refused while nothing listens; the first answer must be the 200.
      const health = await until(
        () => send(cfg.port, 'GET', '/healthz').then((a) => a.status, () => 0),
        15000,
        '/healthz to answer',
      );
      expect(health).to.equal(200);
      const ready = await send(cfg.port, 'GET', '/readyz');
      expect(ready.status).to.equal(503);
      expect((JSON.parse(ready.body) as { code: string }).code).to.equal('EG_ERR_NOT_READY');
      // Still within ready_timeout_ms: the wait for the producers is not over.
      expect(eg.lines.some((l) => l.event === 'service.ready_timeout')).to.equal(false);
      if (workers) expect(eg.master('worker.listening')).to.deep.equal([]);
    });

    it('stops cleanly on SIGTERM while it waits for its producers, without waiting out ready_timeout_ms', async () => {
      const eg = await start();
      await until(() => send(cfg.port, 'GET', '/healthz').then((a) => a.status, () => 0), 15000, '/healthz to answer');
      eg.signal('SIGTERM');
      // Within shutdown_timeout_ms (30 s) and long before ready_timeout_ms (60 s): a wait for either exits 1 or times the test out.
      expect(await eg.exited).to.deep.equal({ code: 0, signal: null });
      // The child's exit can come before the last of its stdout is read.
      const stopped = await until(() => eg.lines.find((l) => l.event === 'shutdown.stopped' && l.worker_id === 0), 5000, 'the stopped line');
      expect(stopped?.clean).to.equal(true);
    });

    if (workers === 0) {
      it('logs a failed connect once per producer, then one line per interval counting the attempts', async () => {
        const eg = await start();
        const pid = eg.pid;
        // The first interval's count, logged at its end (10 s), for each producer.
        for (const producer of ['guaranteed', 'hasty']) {
          await eg.waitFor((l) => l.pid === pid && l.producer === producer && l.code === 'EG_ERR_KAFKA_CONNECT' && typeof l.repeated === 'number', 20000, `${producer}'s count`);
        }
        for (const producer of ['guaranteed', 'hasty']) {
          const lines = connectLines(eg, pid, producer);
          const [first, count] = lines;
          expect(first.attempts).to.equal(1);
          expect(first.repeated).to.equal(undefined);
          // Several attempts failed in the interval (connect_timeout_ms 300 ms, retried after 0.5-4 s), told in one line.
          expect(count.repeated).to.be.at.least(1);
          expect(count.attempts).to.equal((count.repeated as number) + 1);
          expect(lines).to.have.length(2);
        }
      });
    }
  });
}
