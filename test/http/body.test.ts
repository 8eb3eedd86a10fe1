import { expect } from 'chai';
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { connect } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { call, post } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';

const EVENT = { $schema: '/test/event/1.0.0', meta: { stream: 'test.event' } };
const MB = 1024 * 1024;

describe('POST /v1/events request bodies', () => {
  let svc: TestService;
  const sockets: Socket[] = [];

  before(async () => {
    svc = await startTestService({ max_body_size: '1mb', request_timeout_ms: 300 });
    svc.service.server.on('connection', (s: Socket) => sockets.push(s));
  });
  after(() => svc.close());

  for (const body of ['', '   ', '{}', '[]']) {
    it(`answers 400 "Request body was empty" to ${JSON.stringify(body)}`, async () => {
      const r = await post(svc.port, body);
      expect(r.status).to.equal(400);
      expect(r.reason).to.equal('Request body was empty. Must provide JSON encoded events.');
    });
  }

  it('answers 400 with a JSON error body to malformed JSON', async () => {
    const r = await post(svc.port, '[{"a": 1,');
    expect(r.status).to.equal(400);
    expect(r.headers['content-type']).to.match(/^application\/json/);
    expect((r.json as { code: string }).code).to.equal('EG_ERR_BODY_MALFORMED');
    expect((r.json as { message: string }).message).to.match(/^Request body is not valid JSON: /);
  });

  for (const scalar of ['42', '"event"', 'null', 'true']) {
    it(`answers 400 EG_ERR_BODY_NOT_EVENTS to the top-level scalar ${scalar}`, async () => {
      const r = await post(svc.port, scalar);
      expect(r.status).to.equal(400);
      expect((r.json as { code: string }).code).to.equal('EG_ERR_BODY_NOT_EVENTS');
    });
  }

  it('answers 415 to a content type other than JSON', async () => {
    const r = await post(svc.port, JSON.stringify(EVENT), '/v1/events', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(r.status).to.equal(415);
    expect((r.json as { code: string }).code).to.equal('EG_ERR_CONTENT_TYPE');
  });

  for (const type of ['text/plain;charset=UTF-8', 'application/reports+json', 'application/json; charset=utf-8']) {
    it(`accepts events sent as ${type}`, async () => {
      const r = await post(svc.port, JSON.stringify(EVENT), '/v1/events', { 'content-type': type });
      expect(r.status).to.equal(201);
    });
  }

  it('answers 413 at once to a declared Content-Length over max_body_size', async () => {
    const r = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ port: svc.port, host: '127.0.0.1', method: 'POST', path: '/v1/events', headers: { 'content-type': 'application/json', 'content-length': 10 * MB } }, resolve);
      req.on('error', reject);
      // Headers only: the answer must come without the body being sent.
      req.flushHeaders();
    });
    expect(r.statusCode).to.equal(413);
    r.destroy();
  });

  it('answers 413 to a 10 MB chunked body against a 1 MB limit without reading it all', async () => {
    const before = sockets.length;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { port: svc.port, host: '127.0.0.1', method: 'POST', path: '/v1/events', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', () => {
        /* the server closes the connection while we are still writing: expected */
      });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < 10 * MB) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
      setTimeout(() => reject(new Error('no answer')), 10000).unref();
    });
    expect(status).to.equal(413);
    const socket = sockets[before];
    // The server stopped reading after the limit: far less than 10 MB came in.
    expect(socket.bytesRead).to.be.below(4 * MB);
  });

  it('inflates gzip and deflate bodies', async () => {
    for (const [encoding, zip] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
      const r = await call(svc.port, {
        method: 'POST',
        path: '/v1/events',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        body: zip(Buffer.from(JSON.stringify([EVENT, EVENT]))),
      });
      expect(r.status, encoding).to.equal(201);
      expect(r.reason).to.equal('All 2 out of 2 events were accepted.');
    }
  });

  it('answers 413 to a gzip bomb that inflates past max_body_size', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * MB, 0x20));
    expect(bomb.length).to.be.below(MB);
    const r = await call(svc.port, { method: 'POST', path: '/v1/events', headers: { 'content-encoding': 'gzip' }, body: bomb });
    expect(r.status).to.equal(413);
  });

  it('answers 400 to a body that is not valid gzip', async () => {
    const r = await call(svc.port, { method: 'POST', path: '/v1/events', headers: { 'content-encoding': 'gzip' }, body: Buffer.from('not gzip at all') });
    expect(r.status).to.equal(400);
    expect((r.json as { code: string }).code).to.equal('EG_ERR_BODY_ENCODING');
  });

  it('answers 415 to an unknown content encoding', async () => {
    const r = await call(svc.port, { method: 'POST', path: '/v1/events', headers: { 'content-encoding': 'br' }, body: '{}' });
    expect(r.status).to.equal(415);
    expect((r.json as { code: string }).code).to.equal('EG_ERR_CONTENT_ENCODING');
  });

  it('answers 408 and closes the connection when the body does not arrive within request_timeout_ms', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(svc.port, '127.0.0.1', () => {
        socket.write('POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[{"a":');
      });
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).to.match(/^HTTP\/1\.1 408 /);
    expect(answer).to.match(/EG_ERR_REQUEST_TIMEOUT/);
  });
});
