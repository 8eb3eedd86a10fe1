/**
 * The request handler's own rules, against a real server: HEAD is safe, a
 * refused upload is never invited (Expect: 100-continue), and the request
 * metric records what was sent.
 */
import { expect } from 'chai';
import { connect } from 'node:net';
import { call } from '../helpers/http';
import { until } from '../helpers/until';
import { startTestService, type TestService } from '../helpers/service';

const TEST_EVENT = { $schema: '/test/event/1.0.0', meta: { stream: 'test.event' }, from: 'test_events' };
const MAX_BODY = 1024;

/** Writes raw bytes on a new connection; resolves with everything the server sent until it closed or `until` matched. */
function raw(port: number, chunks: readonly string[], until: RegExp, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(got);
    }, ms);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      got += d;
      if (until.test(got)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    for (const c of chunks) socket.write(c);
  });
}

describe('request handler', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService({ test_events: [TEST_EVENT], max_body_size: MAX_BODY });
  });
  after(() => svc.close());

  it('refuses HEAD on /v1/_test/events with 405 and processes no test event', async () => {
    const before = svc.written().length;
    const r = await call(svc.port, { method: 'HEAD', path: '/v1/_test/events' });
    expect(r.status).to.equal(405);
    expect(r.headers.allow).to.equal('GET, OPTIONS');
    expect(svc.written()).to.have.length(before);
    const g = await call(svc.port, { path: '/v1/_test/events' });
    expect(g.status).to.equal(201);
    expect(svc.written()).to.have.length(before + 1);
  });

  it('answers HEAD on a safe GET route as GET, without a body, and lists HEAD in Allow', async () => {
    const r = await call(svc.port, { method: 'HEAD', path: '/healthz' });
    expect(r.status).to.equal(200);
    expect(r.text).to.equal('');
    const refused = await call(svc.port, { method: 'DELETE', path: '/healthz' });
    expect(refused.status).to.equal(405);
    expect(refused.headers.allow).to.equal('GET, HEAD, OPTIONS');
  });

  it('answers Expect: 100-continue with a Content-Length over max_body_size with 413 and no 100 Continue', async () => {
    const head =
      'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' + `Content-Length: ${MAX_BODY + 1}\r\nExpect: 100-continue\r\n\r\n`;
    const got = await raw(svc.port, [head], /\r\n\r\n[\s\S]*\}/);
    expect(got).to.match(/^HTTP\/1\.1 413 /);
    expect(got).to.not.contain('100 Continue');
    expect(got).to.contain('EG_ERR_BODY_TOO_LARGE');
  });

  it('answers Expect: 100-continue within max_body_size with 100 Continue, then takes the body', async () => {
    const body = JSON.stringify(TEST_EVENT);
    const head = 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' + `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`;
    const before = svc.written().length;
    const socket = connect(svc.port, '127.0.0.1');
    const got = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.setEncoding('utf8');
      socket.on('error', reject);
      socket.on('data', (d: string) => {
        text += d;
        // Only once the server invited it does the body go out.
        if (text.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !socket.writableEnded) socket.end(body);
        if (/HTTP\/1\.1 201 /.test(text)) resolve(text);
      });
      socket.write(head);
    }).finally(() => socket.destroy());
    expect(got).to.match(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
    expect(svc.written()).to.have.length(before + 1);
  });

  it('counts a request whose client went away under status "aborted", never under a status it was not sent', async () => {
    const aborted = () => svc.metrics.timings.get('http.request{method=POST,route=/v1/events,status=aborted}')?.length ?? 0;
    const was200 = () => svc.metrics.timings.get('http.request{method=POST,route=/v1/events,status=200}')?.length ?? 0;
    const before = aborted();
    // Half a body, then the client hangs up.
    await raw(svc.port, ['POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":'], /never/, 200);
    await until(() => aborted() === before + 1, 5000, 'the aborted request to be counted');
    expect(was200()).to.equal(0);
  });
});
