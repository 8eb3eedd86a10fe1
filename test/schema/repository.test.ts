import bunyan from 'bunyan';
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EventGateError } from '../../lib/errors';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { SchemaRepository } from '../../lib/schema';
import { until } from '../helpers/until';
import { freePort } from '../helpers/ports';
import { FIXTURES, rejection, repoOptions, ROOT, startSchemaServer, thrown, type SchemaServer } from '../helpers/schema-server';

const CHAIN = '/ref/chain/1.0.0';

describe('schema repository', () => {
  let server: SchemaServer;
  beforeEach(async () => {
    server = await startSchemaServer(FIXTURES);
  });
  afterEach(async () => {
    await server.close();
  });

  describe('base URIs', () => {
    const kinds: [string, () => string][] = [
      ['a plain path relative to the config directory', () => relative(ROOT, FIXTURES)],
      ['a plain absolute path', () => FIXTURES],
      ['a file:// URI', () => pathToFileURL(FIXTURES).href],
      ['an http:// URI', () => server.base],
    ];
    for (const [kind, base] of kinds) {
      it(`loads a schema through ${kind}`, async () => {
        const repo = new SchemaRepository(repoOptions({ baseUris: [base()] }));
        const s = await repo.get('/ref/event/1.0.0');
        expect(s.validate({ meta: { stream: 's', chained: 1 } })).to.equal(true);
        expect(s.validate({ meta: { stream: 's', chained: 101 } })).to.equal(false);
      });
    }

    it('takes the schema from the first base that has it', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [server.base, FIXTURES] }));
      await repo.get(CHAIN);
      expect(server.count('/ref/chain/1.0.0.yaml')).to.equal(1);
    });

    it('falls through to a later base when an earlier one does not have it', async () => {
      const empty = mkdtempSync(join(tmpdir(), 'eventgate-schema-'));
      try {
        const repo = new SchemaRepository(repoOptions({ baseUris: [empty, server.base] }));
        await repo.get(CHAIN);
        expect(server.count('/ref/chain/1.0.0.yaml')).to.equal(1);
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    });

    it('refuses a base URI with an unusable scheme at construction', () => {
      thrown(() => new SchemaRepository(repoOptions({ baseUris: ['gopher://x/'] })), 'EG_ERR_CONFIG_INVALID');
    });
  });

  describe('failures', () => {
    it('answers EG_ERR_SCHEMA_NOT_FOUND naming the URI, keeping the locations tried out of the client message', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [FIXTURES, server.base] }));
      const err = await rejection(repo.get('/nope/1.0.0'), 'EG_ERR_SCHEMA_NOT_FOUND');
      expect(err.message).to.equal('Schema /nope/1.0.0 not found at any schema base URI (2 tried).');
      const file = pathToFileURL(join(FIXTURES, 'nope/1.0.0.yaml')).href;
      expect((err.details as { tried: string[] }).tried).to.deep.equal([file, `${server.base}nope/1.0.0.yaml`]);
    });

    it('answers EG_ERR_SCHEMA_FETCH for a base that refuses connections', async () => {
      const port = await freePort();
      const repo = new SchemaRepository(repoOptions({ baseUris: [`http://127.0.0.1:${port}/`] }));
      const err = await rejection(repo.get(CHAIN), 'EG_ERR_SCHEMA_FETCH');
      expect(err.message).to.contain(CHAIN).and.to.contain('ECONNREFUSED');
    });

    it('answers EG_ERR_SCHEMA_FETCH, not NOT_FOUND, when one base failed and no other had the schema', async () => {
      const port = await freePort();
      const repo = new SchemaRepository(repoOptions({ baseUris: [FIXTURES, `http://127.0.0.1:${port}/`] }));
      await rejection(repo.get('/nope/1.0.0'), 'EG_ERR_SCHEMA_FETCH');
    });

    it('still finds a schema in a working base when another base is unreachable', async () => {
      const port = await freePort();
      const repo = new SchemaRepository(repoOptions({ baseUris: [`http://127.0.0.1:${port}/`, FIXTURES] }));
      await repo.get(CHAIN);
    });

    it('answers EG_ERR_SCHEMA_FETCH for a base that answers 5xx', async () => {
      server.handle((_req, res) => {
        res.statusCode = 500;
        res.end();
        return true;
      });
      const repo = new SchemaRepository(repoOptions({ baseUris: [server.base] }));
      await rejection(repo.get(CHAIN), 'EG_ERR_SCHEMA_FETCH');
    });

    it('answers EG_ERR_SCHEMA_FETCH when a base does not answer within fetchTimeoutMs', async () => {
      server.handle(() => true);
      const repo = new SchemaRepository(repoOptions({ baseUris: [server.base], fetchTimeoutMs: 100 }));
      const err = await rejection(repo.get(CHAIN), 'EG_ERR_SCHEMA_FETCH');
      expect(err.message).to.contain('timed out');
    });

    it('answers EG_ERR_SCHEMA_PARSE for a file that is not YAML or not an object', async () => {
      const repo = new SchemaRepository(repoOptions());
      await rejection(repo.get('/broken/parse/1.0.0'), 'EG_ERR_SCHEMA_PARSE');
      await rejection(repo.get('/broken/list/1.0.0'), 'EG_ERR_SCHEMA_PARSE');
    });

    it('answers URI errors before fetching anything', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [server.base] }));
      await rejection(repo.get('/../secret'), 'EG_ERR_SCHEMA_URI_ESCAPE');
      await rejection(repo.get('/%2e%2e/secret'), 'EG_ERR_SCHEMA_URI_ESCAPE');
      await rejection(repo.get(`${server.base}ref/chain/1.0.0`), 'EG_ERR_SCHEMA_URI_ABSOLUTE');
      await rejection(repo.get('/a b'), 'EG_ERR_SCHEMA_URI_INVALID');
      expect(server.total()).to.equal(0);
    });
  });

  describe('absolute schema URIs', () => {
    it('loads an absolute http URI when allowAbsoluteUris is set', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [], allowAbsoluteUris: true }));
      const s = await repo.get(`${server.base}ref/chain/1.0.0`);
      expect(s.validate(101)).to.equal(false);
      expect(server.count('/ref/chain/1.0.0.yaml')).to.equal(1);
    });

    it('resolves the $refs of an absolutely named schema against its URI, not the bases', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [FIXTURES], allowAbsoluteUris: true }));
      const s = await repo.get(`${server.base}ref/event/1.0.0`);
      expect(s.validate({ meta: { stream: 's', chained: 101 } })).to.equal(false);
      expect(server.count('/ref/common/1.0.0.yaml')).to.equal(1);
      expect(server.count('/ref/chain/1.0.0.yaml')).to.equal(1);
    });

    it('does not let an absolutely named schema stand in for a base schema with the same rooted $id', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [FIXTURES], allowAbsoluteUris: true }));
      // Served from the http host, it declares $id /dup/shared/1.0.0 (type string).
      await repo.get(`${server.base}dup/a/1.0.0`);
      // Through the base, the other file claiming that id (type integer) is still its own schema.
      const b = await repo.get('/dup/b/1.0.0');
      expect(b.validate(1)).to.equal(true);
      expect(b.validate('x')).to.equal(false);
    });

    it('loads an absolute file URI when allowAbsoluteUris is set', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [], allowAbsoluteUris: true }));
      await repo.get(pathToFileURL(join(FIXTURES, 'ref/chain/1.0.0.yaml')).href);
    });
  });

  describe('cache', () => {
    it('answers peek synchronously once a schema is loaded, and nothing before', async () => {
      const repo = new SchemaRepository(repoOptions());
      expect(repo.peek(CHAIN)).to.equal(undefined);
      const s = await repo.get(CHAIN);
      expect(repo.peek(CHAIN)).to.equal(s);
    });

    it('sends userAgent (services[0].conf.user_agent) as the User-Agent of http fetches', async () => {
      const agents: (string | undefined)[] = [];
      server.handle((req) => {
        agents.push(req.headers['user-agent']);
        return Promise.resolve(false);
      });
      await new SchemaRepository(repoOptions({ baseUris: [server.base], userAgent: 'eventgate-main' })).get(CHAIN);
      await new SchemaRepository(repoOptions({ baseUris: [server.base] })).get(CHAIN);
      expect(agents).to.deep.equal(['eventgate-main', undefined]);
    });

    it('merges concurrent first loads of one schema into one fetch', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [server.base] }));
      const all = await Promise.all(Array.from({ length: 10 }, () => repo.get(CHAIN)));
      expect(server.count('/ref/chain/1.0.0.yaml')).to.equal(1);
      for (const s of all) expect(s).to.equal(all[0]);
    });

    it('merges concurrent first loads of a missing schema into one fetch, all failing alike', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [server.base] }));
      const settled = await Promise.allSettled(Array.from({ length: 10 }, () => repo.get('/nope/1.0.0')));
      expect(server.count('/nope/1.0.0.yaml')).to.equal(1);
      for (const s of settled) expect(s.status === 'rejected' && (s.reason as EventGateError).code).to.equal('EG_ERR_SCHEMA_NOT_FOUND');
    });

    it('does not fetch a missing schema again within the negative TTL', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [server.base], negativeCacheTtlMs: 60_000 }));
      const first = await rejection(repo.get('/nope/1.0.0'), 'EG_ERR_SCHEMA_NOT_FOUND');
      const again = await rejection(repo.get('/nope/1.0.0'), 'EG_ERR_SCHEMA_NOT_FOUND');
      expect(again).to.equal(first);
      expect(repo.peek('/nope/1.0.0')).to.equal(first);
      expect(server.count('/nope/1.0.0.yaml')).to.equal(1);
    });

    it('fetches a missing schema again once the negative TTL has passed', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [server.base], negativeCacheTtlMs: 50 }));
      await rejection(repo.get('/nope/1.0.0'), 'EG_ERR_SCHEMA_NOT_FOUND');
      await until(() => repo.peek('/nope/1.0.0') === undefined, 2000, 'the failure to expire');
      await rejection(repo.get('/nope/1.0.0'), 'EG_ERR_SCHEMA_NOT_FOUND');
      expect(server.count('/nope/1.0.0.yaml')).to.equal(2);
    });

    it('finds a schema published after a client first asked for it, once the TTL has passed', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'eventgate-schema-'));
      try {
        const repo = new SchemaRepository(repoOptions({ baseUris: [dir], negativeCacheTtlMs: 50 }));
        await rejection(repo.get('/late/1.0.0'), 'EG_ERR_SCHEMA_NOT_FOUND');
        mkdirSync(join(dir, 'late'));
        writeFileSync(join(dir, 'late', '1.0.0.yaml'), 'type: object\n');
        await rejection(repo.get('/late/1.0.0'), 'EG_ERR_SCHEMA_NOT_FOUND');
        await until(() => repo.peek('/late/1.0.0') === undefined, 2000, 'the failure to expire');
        await repo.get('/late/1.0.0');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('does not remember failures of overlong URIs, which clients could use to fill memory', async () => {
      const repo = new SchemaRepository(repoOptions());
      const long = `/${'a'.repeat(5000)}`;
      await rejection(repo.get(long), 'EG_ERR_SCHEMA_URI_INVALID');
      expect(repo.peek(long)).to.equal(undefined);
      await rejection(repo.get('/a b'), 'EG_ERR_SCHEMA_URI_INVALID');
      expect(repo.peek('/a b')).to.have.property('code', 'EG_ERR_SCHEMA_URI_INVALID');
    });

    it('caches an unreachable base negatively too, so an outage is not hammered', async () => {
      server.handle((_req, res) => {
        res.statusCode = 503;
        res.end();
        return true;
      });
      const repo = new SchemaRepository(repoOptions({ baseUris: [server.base] }));
      await rejection(repo.get(CHAIN), 'EG_ERR_SCHEMA_FETCH');
      await rejection(repo.get(CHAIN), 'EG_ERR_SCHEMA_FETCH');
      expect(server.count('/ref/chain/1.0.0.yaml')).to.equal(1);
    });

    it('forgets everything on clear, so schemas are fetched afresh', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [server.base] }));
      await repo.get(CHAIN);
      await rejection(repo.get('/nope/1.0.0'), 'EG_ERR_SCHEMA_NOT_FOUND');
      repo.clear();
      expect(repo.peek(CHAIN)).to.equal(undefined);
      expect(repo.peek('/nope/1.0.0')).to.equal(undefined);
      await repo.get(CHAIN);
      expect(server.count('/ref/chain/1.0.0.yaml')).to.equal(2);
    });

    it('does not let a load begun before clear fill the cleared cache', async () => {
      const repo = new SchemaRepository(repoOptions({ baseUris: [server.base] }));
      const loading = repo.get(CHAIN);
      repo.clear();
      await loading;
      expect(repo.peek(CHAIN)).to.equal(undefined);
    });

    it('counts hits, misses, load time and failures by code', async () => {
      const metrics = new MemoryMetrics();
      const repo = new SchemaRepository(repoOptions({ metrics }));
      await repo.get(CHAIN);
      repo.peek(CHAIN);
      await repo.get(CHAIN);
      await rejection(repo.get('/nope/1.0.0'), 'EG_ERR_SCHEMA_NOT_FOUND');
      repo.peek('/nope/1.0.0');
      expect(metrics.counter('schema.cache.miss')).to.equal(2);
      expect(metrics.counter('schema.cache.hit')).to.equal(2);
      expect(metrics.counter('schema.cache.negative_hit')).to.equal(1);
      expect(metrics.counter('schema.load.failed', { code: 'EG_ERR_SCHEMA_NOT_FOUND' })).to.equal(1);
      expect(metrics.timings.get('schema.load_time')).to.have.length(2);
    });
  });

  describe('precache', () => {
    it('loads every listed schema so that peek finds them', async () => {
      const repo = new SchemaRepository(repoOptions());
      await repo.precache([CHAIN, '/ref/event/1.0.0']);
      expect(repo.peek(CHAIN)).to.have.property('validate');
      expect(repo.peek('/ref/event/1.0.0')).to.have.property('validate');
    });

    it('fails with EG_ERR_SCHEMA_PRECACHE listing each schema that failed and why', async () => {
      const repo = new SchemaRepository(repoOptions());
      const err = await rejection(repo.precache([CHAIN, '/nope/1.0.0', '/insecure/event/1.0.0']), 'EG_ERR_SCHEMA_PRECACHE');
      expect(err.message).to.contain('2 of 3');
      expect(err.message).to.contain('/nope/1.0.0 (EG_ERR_SCHEMA_NOT_FOUND');
      expect(err.message).to.contain('/insecure/event/1.0.0 (EG_ERR_SCHEMA_INSECURE');
      expect(err.message).not.to.contain(`${CHAIN} (`);
      expect(repo.peek(CHAIN)).to.have.property('validate');
    });
  });

  it('logs one schema not found at info, with the locations tried, and the rest of a flood of unknown URIs at debug', async () => {
    const ring = new bunyan.RingBuffer({ limit: 100 });
    const log = bunyan.createLogger({ name: 'test', streams: [{ type: 'raw', stream: ring, level: 'debug' }] });
    const repo = new SchemaRepository(repoOptions({ log }));
    for (let i = 0; i < 5; i++) await rejection(repo.get(`/no/such/${i}/1.0.0`), 'EG_ERR_SCHEMA_NOT_FOUND');
    const notFound = (ring.records as { level: number; code?: string; tried?: string[] }[]).filter((r) => r.code === 'EG_ERR_SCHEMA_NOT_FOUND');
    expect(notFound.map((r) => bunyan.nameFromLevel[r.level])).to.deep.equal(['info', 'debug', 'debug', 'debug', 'debug']);
    expect(notFound[0].tried).to.deep.equal([pathToFileURL(join(FIXTURES, 'no/such/0/1.0.0.yaml')).href]);
  });
});

