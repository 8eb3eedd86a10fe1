import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaRepository } from '../../lib/schema';
import { rejection, repoOptions, startSchemaServer, FIXTURES, type SchemaServer } from '../helpers/schema-server';

/** Validates a copy of `event` and returns the copy, so defaults can be seen. */
function check(validate: (e: unknown) => boolean, event: Record<string, unknown>): { valid: boolean; event: Record<string, unknown> } {
  const copy = structuredClone(event);
  return { valid: validate(copy), event: copy };
}

describe('schema compilation', () => {
  let repo: SchemaRepository;
  beforeEach(() => {
    repo = new SchemaRepository(repoOptions());
  });

  describe('drafts, all offline', () => {
    it('compiles draft-04, where exclusiveMaximum is a boolean', async () => {
      const s = await repo.get('/draft4/event/1.0.0');
      expect(check(s.validate, { n: 9.5 }).valid).to.equal(true);
      expect(check(s.validate, { n: 10 }).valid).to.equal(false);
    });

    it('compiles draft-06, where exclusiveMaximum is a number', async () => {
      const s = await repo.get('/draft6/event/1.0.0.json');
      expect(check(s.validate, { n: 9.5 }).valid).to.equal(true);
      expect(check(s.validate, { n: 10 }).valid).to.equal(false);
    });

    it('compiles draft-07 with if/then', async () => {
      const s = await repo.get('/draft7/event/1.0.0');
      expect(check(s.validate, { kind: 'page', page_id: 1 }).valid).to.equal(true);
      expect(check(s.validate, { kind: 'page' }).valid).to.equal(false);
      expect(check(s.validate, { kind: 'user' }).valid).to.equal(true);
    });

    it('compiles 2019-09 with dependentRequired', async () => {
      const s = await repo.get('/draft2019/event/1.0.0');
      expect(check(s.validate, { card: 'x', billing_address: 'y' }).valid).to.equal(true);
      expect(check(s.validate, { card: 'x' }).valid).to.equal(false);
    });

    it('compiles 2020-12 with prefixItems', async () => {
      const s = await repo.get('/draft2020/event/1.0.0');
      expect(check(s.validate, { pair: ['a', 1] }).valid).to.equal(true);
      expect(check(s.validate, { pair: [1, 'a'] }).valid).to.equal(false);
      expect(check(s.validate, { pair: ['a', 1, 2] }).valid).to.equal(false);
    });

    for (const [uri, value] of [
      ['/draft4/event/1.0.0', 'draft4 default'],
      ['/draft6/event/1.0.0.json', 'draft6 default'],
      ['/draft7/event/1.0.0', 'draft7 default'],
      ['/draft2019/event/1.0.0', 'draft2019 default'],
      ['/draft2020/event/1.0.0', 'draft2020 default'],
    ]) {
      it(`fills schema defaults into the event (${uri})`, async () => {
        const s = await repo.get(uri);
        expect(check(s.validate, {}).event).to.deep.equal({ filled: value });
        expect(check(s.validate, { filled: 'mine' }).event).to.deep.equal({ filled: 'mine' });
      });
    }

    it('exposes the title and the schema', async () => {
      const s = await repo.get('/draft7/event/1.0.0');
      expect(s.title).to.equal('draft7/event');
      expect(s.uri).to.equal('/draft7/event/1.0.0');
      expect(s.schema.$id).to.equal('/draft7/event/1.0.0');
    });

    it('refuses an unsupported $schema with EG_ERR_SCHEMA_COMPILE', async () => {
      const err = await rejection(repo.get('/broken/draft/1.0.0'), 'EG_ERR_SCHEMA_COMPILE');
      expect(err.message).to.contain('/broken/draft/1.0.0').and.to.contain('draft-03');
    });

    it('refuses a schema its meta-schema rejects', async () => {
      const err = await rejection(repo.get('/broken/meta/1.0.0'), 'EG_ERR_SCHEMA_COMPILE');
      expect(err.message).to.contain('/broken/meta/1.0.0').and.to.contain('type');
    });

    it('refuses an $async schema, whose validate would answer with a Promise', async () => {
      await rejection(repo.get('/broken/async/1.0.0'), 'EG_ERR_SCHEMA_COMPILE');
    });
  });

  describe('$ref to other schemas', () => {
    it('loads referenced schemas through the base URIs, two files deep', async () => {
      const s = await repo.get('/ref/event/1.0.0');
      expect(check(s.validate, { meta: { stream: 's', chained: 5 } }).valid).to.equal(true);
      expect(check(s.validate, { meta: { stream: 's', chained: 500 } }).valid).to.equal(false);
      expect(check(s.validate, { meta: {} }).valid).to.equal(false);
    });

    it('fills defaults that come from a referenced schema', async () => {
      const s = await repo.get('/ref/event/1.0.0');
      expect(check(s.validate, { meta: { stream: 's' } }).event).to.deep.equal({ meta: { stream: 's', origin: 'from the common fragment' } });
    });

    it('resolves a relative $ref against the schema id', async () => {
      const s = await repo.get('/ref/relative/1.0.0');
      expect(check(s.validate, { meta: { stream: 's' } }).valid).to.equal(true);
      expect(check(s.validate, { meta: { stream: '' } }).valid).to.equal(false);
    });

    it('resolves a relative $ref in a schema without $id against the URI that named it', async () => {
      const s = await repo.get('/noid/event/1.0.0');
      expect(check(s.validate, { meta: { stream: '' } }).valid).to.equal(false);
    });

    it('loads the referenced schemas over http through an http base, each once', async () => {
      const server: SchemaServer = await startSchemaServer(FIXTURES);
      try {
        const http = new SchemaRepository(repoOptions({ baseUris: [server.base] }));
        await Promise.all([http.get('/ref/event/1.0.0'), http.get('/ref/relative/1.0.0')]);
        expect(server.count('/ref/common/1.0.0.yaml')).to.equal(1);
        expect(server.count('/ref/chain/1.0.0.yaml')).to.equal(1);
      } finally {
        await server.close();
      }
    });

    it('fails with EG_ERR_SCHEMA_COMPILE, naming both, when a referenced schema is nowhere', async () => {
      const err = await rejection(repo.get('/broken/ref/1.0.0'), 'EG_ERR_SCHEMA_COMPILE');
      expect(err.message).to.contain('/broken/ref/1.0.0').and.to.contain('/does/not/exist/1.0.0');
    });

    it('fails with EG_ERR_SCHEMA_COMPILE when the pointer into a referenced schema leads nowhere', async () => {
      const err = await rejection(repo.get('/broken/pointer/1.0.0'), 'EG_ERR_SCHEMA_COMPILE');
      expect(err.message).to.contain('#/definitions/nothing');
    });

    it('refuses a $ref between drafts that cannot share a validator', async () => {
      const err = await rejection(repo.get('/broken/mixed/1.0.0'), 'EG_ERR_SCHEMA_COMPILE');
      expect(err.message).to.contain('/ref/chain/1.0.0').and.to.contain('draft-07');
    });
  });

  describe('schemas sharing an id', () => {
    it('reuses the compiled schema when two URIs name one file', async () => {
      const a = await repo.get('/ref/chain/1.0.0');
      const b = await repo.get('/ref/chain/1.0.0.yaml');
      expect(b.validate).to.equal(a.validate);
    });

    it('reuses the compiled schema when two URIs for one file load at the same time', async () => {
      const [a, b] = await Promise.all([repo.get('/ref/chain/1.0.0'), repo.get('ref/chain/1.0.0.yaml')]);
      expect(b.validate).to.equal(a.validate);
    });

    it('compiles a schema an event names after it was loaded as a $ref', async () => {
      await repo.get('/ref/event/1.0.0');
      const chain = await repo.get('/ref/chain/1.0.0');
      expect(chain.validate(5)).to.equal(true);
      expect(chain.validate(500)).to.equal(false);
    });

    it('loads a schema as a $ref after an event named it', async () => {
      await repo.get('/ref/chain/1.0.0');
      const s = await repo.get('/ref/event/1.0.0');
      expect(check(s.validate, { meta: { stream: 's', chained: 500 } }).valid).to.equal(false);
    });

    it('refuses a second schema that claims a loaded id with different content', async () => {
      const a = await repo.get('/dup/a/1.0.0');
      expect(a.validate('x')).to.equal(true);
      const err = await rejection(repo.get('/dup/b/1.0.0'), 'EG_ERR_SCHEMA_COMPILE');
      expect(err.message).to.contain('/dup/b/1.0.0').and.to.contain('/dup/shared/1.0.0');
    });

    it('compiles a fixed schema after a failed version of it held the same id', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'eventgate-schema-'));
      try {
        const file = join(dir, 'fix', '1.0.0.yaml');
        mkdirSync(join(dir, 'fix'));
        writeFileSync(file, '$id: /fix/1.0.0\nproperties:\n  a:\n    $ref: /missing/1.0.0\n');
        const fresh = new SchemaRepository(repoOptions({ baseUris: [dir], negativeCacheTtlMs: 0 }));
        await rejection(fresh.get('/fix/1.0.0'), 'EG_ERR_SCHEMA_COMPILE');
        writeFileSync(file, '$id: /fix/1.0.0\nproperties:\n  a:\n    type: integer\n');
        const s = await fresh.get('/fix/1.0.0');
        expect(s.validate({ a: 'x' })).to.equal(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('secure check', () => {
    it('refuses an insecure schema by default with EG_ERR_SCHEMA_INSECURE', async () => {
      const err = await rejection(repo.get('/insecure/event/1.0.0'), 'EG_ERR_SCHEMA_INSECURE');
      expect(err.message).to.contain('/insecure/event/1.0.0').and.to.contain('/properties/name');
    });

    it('refuses a schema whose $ref is insecure, naming the referenced schema', async () => {
      const err = await rejection(repo.get('/insecure/ref/1.0.0'), 'EG_ERR_SCHEMA_INSECURE');
      expect(err.message).to.contain('/insecure/ref/1.0.0').and.to.contain('/insecure/fragment/1.0.0');
    });

    it('compiles insecure schemas when allowInsecure is set', async () => {
      const lax = new SchemaRepository(repoOptions({ allowInsecure: true }));
      const s = await lax.get('/insecure/event/1.0.0');
      expect(s.validate({ name: 'aaa' })).to.equal(true);
      expect(s.validate({ name: 'b' })).to.equal(false);
      const r = await lax.get('/insecure/ref/1.0.0');
      expect(r.validate({ email: 'not an address' })).to.equal(false);
    });
  });
});
