import SwaggerParser from '@apidevtools/swagger-parser';
import { expect } from 'chai';
import { ROUTES } from '../../lib/http/server';
import { call } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';

const TEST_EVENT = { $schema: '/test/event/1.0.0', meta: { stream: 'test.event' }, from: 'test_events' };

describe('routes', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService({ test_events: [TEST_EVENT], cors: 'https://example.org', csp: "default-src 'none'" });
  });
  after(() => svc.close());

  it('answers an unknown route with a JSON 404', async () => {
    const r = await call(svc.port, { path: '/v2/nothing' });
    expect(r.status).to.equal(404);
    expect(r.json).to.deep.equal({ code: 'EG_ERR_NOT_FOUND', message: 'No such route: GET /v2/nothing' });
  });

  it('answers a known route with the wrong method with 405 and Allow', async () => {
    const r = await call(svc.port, { path: '/v1/events' });
    expect(r.status).to.equal(405);
    expect(r.headers.allow).to.equal('POST, OPTIONS');
    expect((r.json as { code: string }).code).to.equal('EG_ERR_METHOD_NOT_ALLOWED');
  });

  it('echoes x-request-id, and makes one when the client sent none', async () => {
    const echoed = await call(svc.port, { path: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers['x-request-id']).to.equal('abc-123');
    const made = await call(svc.port, { path: '/healthz' });
    expect(made.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
  });

  it('sends the configured CORS headers on every answer, and CSP and the security headers on answers with a body', async () => {
    for (const path of ['/healthz', '/nowhere']) {
      const r = await call(svc.port, { path });
      expect(r.headers['access-control-allow-origin']).to.equal('https://example.org');
      expect(r.headers['access-control-expose-headers']).to.equal('x-request-id');
      expect(r.headers['content-security-policy']).to.equal("default-src 'none'");
      expect(r.headers['x-content-type-options']).to.equal('nosniff');
      expect(r.headers['x-frame-options']).to.equal('DENY');
      expect(r.headers['referrer-policy']).to.equal('no-referrer');
    }
    // A bodiless 201 has no document to protect: CORS and the request id only.
    const accepted = await call(svc.port, { path: '/v1/events', body: TEST_EVENT, headers: { 'x-request-id': 'bodiless-1' } });
    expect(accepted.status).to.equal(201);
    expect(accepted.headers['access-control-allow-origin']).to.equal('https://example.org');
    expect(accepted.headers['x-request-id']).to.equal('bodiless-1');
    expect(accepted.headers['content-length']).to.equal('0');
    expect(accepted.headers).to.not.have.any.keys('content-security-policy', 'x-content-type-options', 'x-frame-options', 'referrer-policy');
  });

  it('answers a CORS preflight with 204 and the allowed methods and headers', async () => {
    const r = await call(svc.port, { method: 'OPTIONS', path: '/v1/events', headers: { origin: 'https://example.org', 'access-control-request-method': 'POST' } });
    expect(r.status).to.equal(204);
    expect(r.headers['access-control-allow-methods']).to.contain('POST');
    expect(r.headers['access-control-allow-headers']).to.contain('content-type');
  });

  it('processes the configured test_events on GET /v1/_test/events', async () => {
    const before = svc.written().length;
    const r = await call(svc.port, { path: '/v1/_test/events' });
    expect(r.status).to.equal(201);
    expect(r.reason).to.equal('All 1 out of 1 events were accepted.');
    const written = svc.written();
    expect(written).to.have.length(before + 1);
    expect(written[written.length - 1]).to.include({ from: 'test_events' });
  });

  it('serves /_info, /_info/name and /_info/version from package.json', async () => {
    const info = (await call(svc.port, { path: '/_info' })).json as Record<string, string>;
    expect(info.name).to.equal('eventgate');
    expect(info.version).to.match(/^\d+\.\d+\.\d+/);
    expect((await call(svc.port, { path: '/_info/name' })).json).to.deep.equal({ name: 'eventgate' });
    expect((await call(svc.port, { path: '/_info/version' })).json).to.deep.equal({ version: info.version });
  });

  it('redirects /_info/home to the API document, as package.json names no home page', async () => {
    const r = await call(svc.port, { path: '/_info/home' });
    expect(r.status).to.equal(301);
    expect(r.headers.location).to.equal('/?spec');
  });

  it('serves robots.txt disallowing everything', async () => {
    const r = await call(svc.port, { path: '/robots.txt' });
    expect(r.status).to.equal(200);
    expect(r.text).to.equal('User-agent: *\nDisallow: /\n');
  });

  it('answers /healthz and /readyz with 200 once started', async () => {
    expect((await call(svc.port, { path: '/healthz' })).json).to.deep.equal({ status: 'ok' });
    expect((await call(svc.port, { path: '/readyz' })).json).to.deep.equal({ status: 'ready' });
  });

  it('serves a valid OpenAPI 3 document at /?spec whose every path answers', async () => {
    const r = await call(svc.port, { path: '/?spec' });
    expect(r.status).to.equal(200);
    const spec = r.json as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(spec.openapi).to.match(/^3\./);
    await SwaggerParser.validate(structuredClone(spec) as never);
    // Both ways: every route is documented, and every documented path is a route that answers.
    const documented = Object.keys(spec.paths).map((p) => p.replace(/\{(\w+)\}/g, ':$1'));
    expect(documented.sort()).to.deep.equal(Object.keys(ROUTES).sort());
    /** What each documented operation answers on this service; the stream-configs paths are 404 by design without stream config (see the stream tests). */
    const expected: Record<string, number> = {
      'post /v1/events': 201,
      'get /v1/_test/events': 201,
      'get /_info': 200,
      'get /_info/name': 200,
      'get /_info/version': 200,
      'get /_info/home': 301,
      'get /robots.txt': 200,
      'get /healthz': 200,
      'get /readyz': 200,
      'get /': 200,
    };
    const answered: Record<string, number> = {};
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const method of Object.keys(ops)) {
        if (path.startsWith('/v1/stream-configs')) continue;
        const answer = await call(svc.port, { method: method.toUpperCase(), path: path === '/' ? '/?spec' : path, body: method === 'post' ? [TEST_EVENT] : undefined });
        answered[`${method} ${path}`] = answer.status;
      }
    }
    expect(answered).to.deep.equal(expected);
  });
});

describe('GET /v1/_test/events without test_events', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(() => svc.close());

  it('answers 404 EG_ERR_TEST_EVENTS_DISABLED', async () => {
    const r = await call(svc.port, { path: '/v1/_test/events' });
    expect(r.status).to.equal(404);
    expect((r.json as { code: string }).code).to.equal('EG_ERR_TEST_EVENTS_DISABLED');
  });
});
