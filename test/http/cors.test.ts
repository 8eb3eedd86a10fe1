/**
 * CORS as a browser sees it, against a real server: lists of exact and
 * /regex/ origins reflected with Vary: Origin, credentials mode, and extra
 * allowed request headers.
 */
import { expect } from 'chai';
import { call } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';

const EVENT = { $schema: '/test/event/1.0.0', meta: { stream: 'test.event' } };

function preflight(svc: TestService, origin: string, headers = 'content-type') {
  return call(svc.port, {
    method: 'OPTIONS',
    path: '/v1/events',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers },
  });
}

describe('CORS', () => {
  describe('a list of origins with credentials', () => {
    let svc: TestService;
    before(async () => {
      svc = await startTestService({
        cors: ['https://app.example.org', '/https://([a-z0-9-]+\\.)?wiki\\.example/'],
        cors_credentials: true,
        cors_allow_headers: ['traceparent', 'Tracestate'],
      });
    });
    after(() => svc.close());

    it('reflects an exact or regex-matched Origin with credentials and Vary: Origin, on preflight and on the answer', async () => {
      for (const origin of ['https://app.example.org', 'https://wiki.example', 'https://de.wiki.example']) {
        const p = await preflight(svc, origin, 'content-type, traceparent');
        expect(p.status).to.equal(204);
        expect(p.headers['access-control-allow-origin'], origin).to.equal(origin);
        expect(p.headers['access-control-allow-credentials']).to.equal('true');
        expect(p.headers.vary).to.equal('Origin');
        const r = await call(svc.port, { path: '/v1/events', body: EVENT, headers: { origin } });
        expect(r.status).to.equal(201);
        expect(r.headers['access-control-allow-origin']).to.equal(origin);
        expect(r.headers['access-control-allow-credentials']).to.equal('true');
        expect(r.headers.vary).to.equal('Origin');
      }
    });

    it('gives an origin the list does not hold no Access-Control-Allow-Origin, also one a regex would match unanchored', async () => {
      for (const origin of ['https://evil.example', 'https://wiki.example.evil.test', 'http://app.example.org', 'null']) {
        const p = await preflight(svc, origin);
        expect(p.headers, origin).to.not.have.any.keys('access-control-allow-origin', 'access-control-allow-credentials');
        expect(p.headers.vary).to.equal('Origin');
        const r = await call(svc.port, { path: '/v1/events', body: EVENT, headers: { origin } });
        // Not a CORS failure on the server's side: the event is taken, the browser keeps the answer from the page.
        expect(r.status).to.equal(201);
        expect(r.headers).to.not.have.any.keys('access-control-allow-origin', 'access-control-allow-credentials');
      }
    });

    it('allows the configured extra request headers in a preflight besides the usual ones', async () => {
      const p = await preflight(svc, 'https://app.example.org', 'traceparent');
      const allowed = String(p.headers['access-control-allow-headers']).split(', ');
      expect(allowed).to.include.members(['content-type', 'x-request-id', 'traceparent', 'tracestate']);
    });
  });

  describe("the default '*'", () => {
    let svc: TestService;
    before(async () => {
      svc = await startTestService({});
    });
    after(() => svc.close());

    it('answers every origin with *, no credentials and no Vary', async () => {
      const r = await call(svc.port, { path: '/v1/events', body: EVENT, headers: { origin: 'https://any.example' } });
      expect(r.headers['access-control-allow-origin']).to.equal('*');
      expect(r.headers).to.not.have.any.keys('access-control-allow-credentials', 'vary');
    });
  });

  describe("'*' with credentials", () => {
    let svc: TestService;
    before(async () => {
      svc = await startTestService({ cors: '*', cors_credentials: true });
    });
    after(() => svc.close());

    it('reflects the Origin, since a credentialed answer may not say *', async () => {
      const r = await call(svc.port, { path: '/v1/events', body: EVENT, headers: { origin: 'https://any.example' } });
      expect(r.headers['access-control-allow-origin']).to.equal('https://any.example');
      expect(r.headers['access-control-allow-credentials']).to.equal('true');
      expect(r.headers.vary).to.equal('Origin');
    });
  });

  describe('off', () => {
    let svc: TestService;
    before(async () => {
      svc = await startTestService({ cors: false });
    });
    after(() => svc.close());

    it('sends no CORS header at all', async () => {
      const r = await preflight(svc, 'https://app.example.org');
      expect(Object.keys(r.headers).filter((h) => h.startsWith('access-control-'))).to.deep.equal([]);
    });
  });
});
