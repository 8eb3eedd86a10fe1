/**
 * The body memory workers share through the master (lib/memory/ledger.ts),
 * with real processes: a large body is admitted (its 100 Continue sent) only
 * with the master's grant, a second one that does not fit beside it gets 503
 * at once, and the grant is freed when its client goes away and when its
 * worker dies.
 */
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { until } from '../helpers/until';
import type { TempConfig } from '../helpers/eventgate-process';
import { Eventgate, withTempConfig } from '../helpers/eventgate-process';

/** A POST of a 9 MB body whose head asks to continue; the body is never sent. 9 MB x 11 is over half of the pool of one worker in 300 MiB (178 MiB). */
class Upload {
  readonly socket: Socket;
  text = '';
  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => (this.text += d.toString('latin1')));
    this.socket.on('error', () => {});
    this.socket.write(`POST /v1/events HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 9000000\r\nexpect: 100-continue\r\n\r\n`);
  }

  /** 100 when admitted, else the status of the refusal. */
  async outcome(): Promise<number> {
    await until(() => this.text.includes('\r\n\r\n'), 10000, 'an answer to the head');
    return Number(this.text.slice(9, 12));
  }
}

describe('body memory shared by the workers through the master', function () {
  this.timeout(30000);
  let cfg: TempConfig;
  const uploads: Upload[] = [];
  const upload = (): Upload => {
    const u = new Upload(cfg.port);
    uploads.push(u);
    return u;
  };

  withTempConfig((c) => (cfg = c));
  afterEach(() => uploads.splice(0).forEach((u) => u.socket.destroy()));

  it("admits a large body only with the master's grant, answers the next 503 while it is held, and frees the grant when the client goes away and when the worker dies", async () => {
    cfg.write({ num_workers: 1 }, { max_body_size: '10mb', admission: { memory_limit: '300mb' } });
    const eg = new Eventgate(cfg.path);
    const [[, pid]] = [...(await eg.waitForWorkers(1))];

    const first = upload();
    expect(await first.outcome()).to.equal(100);
    const second = upload();
    expect(await second.outcome()).to.equal(503);
    expect(second.text).to.match(/\r\nretry-after: \d+\r\n/i);

    // The client goes away: its answer closes, the worker says so, and the master has room again.
    first.socket.destroy();
    let third: Upload | undefined;
    await until(async () => {
      third = upload();
      return (await third.outcome()) === 100;
    }, 10000, 'a body admitted after the first client went away');

    // The worker dies holding that grant: its replacement finds the pool free.
    process.kill(pid, 'SIGKILL');
    await until(() => eg.listening().size === 1 && ![...eg.listening().values()].includes(pid), 10000, 'a replacement worker');
    expect(await upload().outcome()).to.equal(100);
  });
});
