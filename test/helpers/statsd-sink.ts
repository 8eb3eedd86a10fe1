import { createSocket, type Socket } from 'node:dgram';

/** A statsd server as far as the tests need one: a UDP socket keeping every line it gets. */
export class StatsdSink {
  readonly lines: string[] = [];
  private readonly socket: Socket = createSocket('udp4');

  async start(): Promise<number> {
    this.socket.on('message', (msg) => this.lines.push(...msg.toString('utf8').split('\n').filter(Boolean)));
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return this.socket.address().port;
  }

  /** `name:value|type` lines as [name, value, type]. */
  parsed(): [string, number, string][] {
    return this.lines.map((l) => {
      const m = /^([^:]+):([^|]+)\|([a-z]+)$/.exec(l);
      if (!m) throw new Error(`not a statsd line: ${l}`);
      return [m[1], Number(m[2]), m[3]];
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
