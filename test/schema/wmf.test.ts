import { expect } from 'chai';
import { SchemaRepository } from '../../lib/schema';
import { repoOptions, WMF } from '../helpers/schema-server';

// Real, materialized Wikimedia schemas: https $schema URIs, and the same
// fragment inlined several times under one nested $id.
const NAMES = [
  '/error/2.1.0',
  '/fragment/common/2.0.0',
  '/fragment/http/1.2.0',
  '/mediawiki/page/change/1.2.0',
  '/mediawiki/recentchange/1.0.1',
  '/mediawiki/revision/create/2.0.0',
  '/test/event/1.0.0',
];

describe('Wikimedia schemas', () => {
  let repo: SchemaRepository;
  before(() => {
    // Secure check on: every one of these passes it.
    repo = new SchemaRepository(repoOptions({ baseUris: [WMF] }));
  });

  for (const name of NAMES) {
    it(`compiles ${name} with the secure check on, and it validates its own examples`, async () => {
      const s = await repo.get(name);
      const examples = (s.schema.examples ?? []) as unknown[];
      expect(examples).to.not.be.empty;
      for (const example of examples) {
        expect(s.validate(structuredClone(example)), JSON.stringify(s.validate.errors)).to.equal(true);
      }
    });
  }

  it('refuses a mediawiki/page/change event that breaks its schema', async () => {
    const s = await repo.get('/mediawiki/page/change/1.2.0');
    const example = structuredClone((s.schema.examples as Record<string, unknown>[])[0]);
    example.page_change_kind = 'explode';
    expect(s.validate(example)).to.equal(false);
    delete example.page_change_kind;
    expect(s.validate(example)).to.equal(false);
  });

  it('fills the test/event default into an event that lacks it', async () => {
    const s = await repo.get('/test/event/1.0.0');
    const event: Record<string, unknown> = { $schema: '/test/event/1.0.0', meta: { stream: 's', dt: '2024-01-01T00:00:00Z' } };
    expect(s.validate(event)).to.equal(true);
    expect(event.test).to.equal('default value');
  });
});
