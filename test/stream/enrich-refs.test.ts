/**
 * Enrichment follows $refs to other schema documents, against a real server:
 * a schema that takes meta from a fragment (the non-materialized form) gets
 * meta.id, meta.dt and meta.request_id filled, inline and in a pool thread.
 */
import { expect } from 'chai';
import { call } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const BASES = { schema_base_uris: ['./schemas', './test/fixtures/schemas'], schema_file_extension: '.yaml' };

interface Meta {
  id?: string;
  dt?: string;
  request_id?: string;
}

for (const [path, pool] of [
  ['inline', { batch: { thread_pool: { enabled: false } } }],
  ['pool thread', { batch: { thread_pool: { min_bytes: 1, min_events: 1 } } }],
] as const) {
  describe(`enrichment through $refs to other documents (${path})`, () => {
    let svc: TestService;
    before(async () => {
      svc = await startTestService({ ...BASES, ...pool });
    });
    after(() => svc.close());

    for (const schema of ['/fragmented/event/1.0.0', '/fragmented/relative/1.0.0']) {
      it(`fills the required meta.id, meta.dt and meta.request_id that ${schema} takes from its fragment`, async () => {
        const before = svc.written().length;
        const from = Date.now();
        const r = await call(svc.port, { path: '/v1/events', body: [{ $schema: schema, meta: { stream: 'test.event' } }], headers: { 'x-request-id': 'frag-1' } });
        expect(r.status, r.text).to.equal(201);
        const [e] = svc.written().slice(before) as { meta: Meta }[];
        expect(e.meta.id).to.match(UUID);
        expect(Date.parse(e.meta.dt ?? '')).to.be.within(from - 1, Date.now() + 1);
        expect(e.meta.request_id).to.equal('frag-1');
      });
    }

    it('keeps what the client sent in the fragment-declared fields', async () => {
      const before = svc.written().length;
      const meta = { stream: 'test.event', id: 'mine', dt: '2026-01-01T00:00:00Z', request_id: 'mine-too' };
      const r = await call(svc.port, { path: '/v1/events', body: [{ $schema: '/fragmented/event/1.0.0', meta }] });
      expect(r.status, r.text).to.equal(201);
      expect((svc.written().slice(before)[0] as { meta: Meta }).meta).to.deep.equal(meta);
    });
  });
}
