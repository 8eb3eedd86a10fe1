/**
 * ConnectionDrain against a real in-process service and a raw client socket:
 * what a keep-alive connection gets when the service drains.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';

function post(id: string): string {
  const body = JSON.stringify({ $schema: '/test/event/1.0.0', meta: { stream: 'test.event', id }, test: 'drain' });
  return `POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** A client connection that keeps its side open after the server's FIN (as a client that has not read it yet). */
class Client {
  readonly socket: Socket;
  got = '';
  ended = false;

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    this.socket.setEncoding('utf8');
    this.socket.on('data', (d: string) => (this.got += d));
    this.socket.on('end', () => (this.ended = true));
    this.socket.on('error', () => {});
  }

  answers(): string[] {
    return this.got.split('HTTP/1.1 ').slice(1);
  }
}

describe('ConnectionDrain', () => {
  let svc: TestService | undefined;
  let client: Client | undefined;

  afterEach(async () => {
    client?.socket.destroy();
    client = undefined;
    await svc?.close();
    svc = undefined;
  });

  const ids = () => svc!.written().map((e) => (e as { meta: { id: string } }).meta.id);

  it('answers a request sent on an idle keep-alive connection after the drain began, with Connection: close, then closes it', async () => {
    svc = await startTestService({}, { drain_idle_grace_ms: 5000 });
    client = new Client(svc.port);
    const [first, second] = [randomUUID(), randomUUID()];
    client.socket.write(post(first));
    await until(() => client!.answers().length === 1, 5000, 'the first answer');
    expect(client.answers()[0]).to.match(/^201 /).and.not.match(/connection: close/i);
    const closing = svc.service.close();
    client.socket.write(post(second));
    await until(() => client!.ended, 5000, "the server's FIN after the second answer");
    client.socket.end();
    await closing;
    expect(client.answers()).to.have.length(2);
    expect(client.answers()[1]).to.match(/^201 /).and.match(/\r\nconnection: close\r\n/i);
    expect(ids()).to.deep.equal([first, second]);
  });

  it('drops unprocessed a request that crosses the FIN of an idle connection closed by the drain: no answer and nothing written', async () => {
    svc = await startTestService({}, { drain_idle_grace_ms: 0 });
    client = new Client(svc.port);
    const [first, late] = [randomUUID(), randomUUID()];
    client.socket.write(post(first));
    await until(() => client!.answers().length === 1, 5000, 'the first answer');
    const closing = svc.service.close();
    await until(() => client!.ended, 5000, "the server's FIN");
    // Sent after the FIN left the server: the server reads it, but can never answer it.
    client.socket.write(post(late));
    // The drain ends once the server has let go of the connection (and finished any request on it).
    await closing;
    expect(client.answers()).to.have.length(1);
    expect(ids()).to.deep.equal([first]);
  });
});
