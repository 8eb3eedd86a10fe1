import { expect } from 'chai';
import { SchemaRepository } from '../../lib/schema';
import { BUNDLED, repoOptions, startSchemaServer } from '../helpers/schema-server';

describe('bundled schemas', () => {
  let repo: SchemaRepository;
  beforeEach(() => {
    // Secure check on: the bundled schemas must pass it.
    repo = new SchemaRepository(repoOptions({ baseUris: [BUNDLED] }));
  });

  for (const name of ['/test/event/1.0.0', '/error/1.0.0']) {
    it(`${name} is secure, has a title and validates its own examples`, async () => {
      const s = await repo.get(name);
      expect(s.title).to.equal(name.split('/').slice(1, -1).join('/'));
      const examples = (s.schema.examples ?? []) as unknown[];
      expect(examples).to.not.be.empty;
      for (const example of examples) expect(s.validate(structuredClone(example)), JSON.stringify(s.validate.errors)).to.equal(true);
    });
  }

  it('test/event is materialized and constrains meta, over http too', async () => {
    const server = await startSchemaServer(BUNDLED);
    try {
      const http = new SchemaRepository(repoOptions({ baseUris: [server.base] }));
      const s = await http.get('/test/event/1.0.0');
      // Materialized like production schemas: one fetch, and meta's fields are declared in place.
      expect(server.count('/test/event/1.0.0.yaml')).to.equal(1);
      const meta = (s.schema.properties as Record<string, { properties?: Record<string, unknown> }>).meta;
      expect(Object.keys(meta.properties ?? {})).to.include.members(['stream', 'id', 'dt', 'request_id']);
      expect(s.validate({ $schema: '/test/event/1.0.0', meta: { stream: '' } })).to.equal(false);
      expect(s.validate({ $schema: '/test/event/1.0.0', meta: { stream: 's', dt: 'yesterday' } })).to.equal(false);
    } finally {
      await server.close();
    }
  });

  it('test/event fills its default', async () => {
    const s = await repo.get('/test/event/1.0.0');
    const event: Record<string, unknown> = { $schema: '/test/event/1.0.0', meta: { stream: 's' } };
    expect(s.validate(event)).to.equal(true);
    expect(event.test).to.equal('default value');
  });

  it('error refuses an event missing raw_event or carrying unknown fields', async () => {
    const s = await repo.get('/error/1.0.0');
    const ok = structuredClone((s.schema.examples as Record<string, unknown>[])[0]);
    expect(s.validate(structuredClone(ok))).to.equal(true);
    const missing = structuredClone(ok);
    delete missing.raw_event;
    expect(s.validate(missing)).to.equal(false);
    expect(s.validate({ ...ok, surprise: 1 })).to.equal(false);
  });
});
