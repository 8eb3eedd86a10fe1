import { expect } from 'chai';
import { codeOf, eventOutcomeOf, type ErrorCode } from '../../lib/errors';
import { MemoryMetrics } from '../../lib/metrics/memory';
import { SchemaRepository, type CompiledSchema, type SchemaLimits } from '../../lib/schema';
import { until } from '../helpers/until';
import { startGatedServer, type GatedServer } from '../helpers/gated-schema-server';
import { rejection, repoOptions } from '../helpers/schema-server';

const LIMITS: SchemaLimits = { maxConcurrentFetches: 4, maxNewPerRequest: 1000, maxSchemas: 1000, maxFailures: 10_000 };

function uris(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `/${prefix}/${i}/1.0.0`);
}

/** The code each URI was answered with (`ok` for a schema). */
function codes(answers: Map<string, CompiledSchema | Error>): (ErrorCode | 'ok')[] {
  return [...answers.values()].map((a) => (a instanceof Error ? codeOf(a) : 'ok'));
}

function tally<T>(list: readonly T[]): Map<T, number> {
  const out = new Map<T, number>();
  for (const x of list) out.set(x, (out.get(x) ?? 0) + 1);
  return out;
}

describe('schema repository limits', () => {
  let gate: GatedServer;
  let metrics: MemoryMetrics;
  beforeEach(async () => {
    gate = await startGatedServer();
    metrics = new MemoryMetrics();
  });
  afterEach(() => gate.close());

  function repo(limits: Partial<SchemaLimits> = {}, fetchTimeoutMs = 5000): SchemaRepository {
    return new SchemaRepository(repoOptions({ baseUris: [gate.base], fileExtension: undefined, fetchTimeoutMs, metrics, limits: { ...LIMITS, ...limits } }));
  }

  describe('per request', () => {
    it('looks up at most max_new_per_request of 500 unknown schemas, and answers the rest with a retryable error without a fetch', async () => {
      gate.open();
      const r = repo({ maxNewPerRequest: 20 });
      const asked = uris('unknown', 500);
      const answers = await r.getMany(asked);
      expect([...answers.keys()]).to.deep.equal(asked);
      const got = codes(answers);
      // The first 20 it names are looked up (and not found); the other 480 are not.
      expect(got.slice(0, 20)).to.deep.equal(Array<ErrorCode>(20).fill('EG_ERR_SCHEMA_NOT_FOUND'));
      expect(tally(got.slice(20))).to.deep.equal(new Map([['EG_ERR_SCHEMA_LOOKUP_LIMIT', 480]]));
      expect(eventOutcomeOf('EG_ERR_SCHEMA_LOOKUP_LIMIT')).to.equal('error');
      expect(gate.server.total()).to.equal(20);
      expect(gate.maxInFlight()).to.be.at.most(4);
      expect(metrics.counter('schema.fetch.refused', { reason: 'request_limit' })).to.equal(480);
    });

    it('does not count schemas already cached or already loading for another request', async () => {
      gate.open();
      const r = repo({ maxNewPerRequest: 2 });
      await r.getMany(['/gen/a']);
      gate.shut();
      const other = r.getMany(['/gen/b']);
      await until(() => gate.arrived.includes('/gen/b'), 5000, 'the other request to fetch /gen/b');
      const answers = r.getMany(['/gen/a', '/gen/b', '/gen/c', '/gen/d', '/gen/e']);
      gate.open();
      expect(codes(await answers)).to.deep.equal(['ok', 'ok', 'ok', 'ok', 'EG_ERR_SCHEMA_LOOKUP_LIMIT']);
      expect(codes(await other)).to.deep.equal(['ok']);
      expect(gate.server.count('/gen/b')).to.equal(1);
    });

    it('remembers no refusal: the schemas it did not look up are looked up in a later request', async () => {
      gate.open();
      const r = repo({ maxNewPerRequest: 1 });
      expect(codes(await r.getMany(['/gen/a', '/gen/b']))).to.deep.equal(['ok', 'EG_ERR_SCHEMA_LOOKUP_LIMIT']);
      expect(codes(await r.getMany(['/gen/a', '/gen/b']))).to.deep.equal(['ok', 'ok']);
    });
  });

  describe('fetches in flight', () => {
    it('never has more than max_concurrent_fetches in flight over several concurrent requests, and fetches each schema once', async () => {
      const r = repo({ maxConcurrentFetches: 3 });
      const requests = [r.getMany(uris('a', 10)), r.getMany(uris('b', 10)), r.getMany([...uris('a', 5), ...uris('c', 5)])];
      await until(() => gate.inFlight() === 3, 5000, 'three fetches in flight');
      expect(r.fetches).to.deep.equal({ active: 3, waiting: 22 });
      // Let them out one by one: each answer lets exactly one waiter in.
      while (gate.server.total() < 25) {
        const before = gate.server.total();
        expect(gate.releaseOne()).to.equal(true);
        await until(() => gate.server.total() === before + 1 && gate.inFlight() === 3, 5000, 'the next fetch');
      }
      gate.open();
      for (const answers of await Promise.all(requests)) expect(new Set(codes(answers))).to.deep.equal(new Set(['EG_ERR_SCHEMA_NOT_FOUND']));
      expect(gate.maxInFlight()).to.equal(3);
      expect(gate.server.total()).to.equal(25);
      expect(r.fetches).to.deep.equal({ active: 0, waiting: 0 });
    });

    it('lets waiting fetches in first come, first served', async () => {
      const r = repo({ maxConcurrentFetches: 1 });
      const order = ['/gen/1', '/gen/2', '/gen/3', '/gen/4'];
      const done = order.map((u) => r.get(u));
      for (let i = 0; i < order.length; i++) {
        await until(() => gate.arrived.length === i + 1, 5000, `fetch ${i + 1}`);
        gate.releaseOne();
      }
      await Promise.all(done);
      expect(gate.arrived).to.deep.equal(order);
    });

    it('answers a fetch that found no turn within the fetch timeout with EG_ERR_SCHEMA_FETCH_BUSY, an error it does not remember', async () => {
      const r = repo({ maxConcurrentFetches: 1 }, 300);
      // Held and never answered: the first fetch times out, and the queue behind it cannot all get its slot.
      const answers = await r.getMany(uris('slow', 5));
      const got = codes(answers);
      expect(got.every((c) => c === 'EG_ERR_SCHEMA_FETCH' || c === 'EG_ERR_SCHEMA_FETCH_BUSY'), got.join()).to.equal(true);
      expect(got.filter((c) => c === 'EG_ERR_SCHEMA_FETCH_BUSY').length).to.be.at.least(3);
      // The timed-out fetch's slot may pass to the next in line before the rest give up waiting.
      expect(gate.server.total()).to.be.at.most(2);
      expect(eventOutcomeOf('EG_ERR_SCHEMA_FETCH_BUSY')).to.equal('error');
      expect(metrics.counter('schema.fetch.refused', { reason: 'busy' })).to.be.at.least(3);
      // Not cached: asked again, it is fetched.
      const busy = [...answers].find(([, a]) => codeOf(a) === 'EG_ERR_SCHEMA_FETCH_BUSY')![0];
      const before = gate.server.count(busy);
      gate.open();
      await rejection(r.get(busy), 'EG_ERR_SCHEMA_NOT_FOUND');
      expect(gate.server.count(busy)).to.equal(before + 1);
    });
  });

  describe('precache', () => {
    it('loads a list longer than max_concurrent_fetches from a slow repository without any load waiting past the fetch timeout', async () => {
      // Each answer takes 2/3 of the timeout: five loads queued at once would leave the last ones waiting past it.
      gate.slow(200);
      const r = repo({ maxConcurrentFetches: 1 }, 300);
      const list = ['/gen/1', '/gen/2', '/gen/3', '/gen/4', '/gen/5'];
      await r.precache(list);
      expect(list.every((u) => r.peek(u) !== undefined)).to.equal(true);
      expect(gate.maxInFlight()).to.equal(1);
      expect(metrics.counter('schema.fetch.refused', { reason: 'busy' })).to.equal(0);
    });
  });

  describe('caches', () => {
    it('holds at most max_cached compiled schemas, and fetches and compiles an evicted one afresh', async () => {
      gate.open();
      const r = repo({ maxSchemas: 3 });
      for (const u of ['/gen/1', '/gen/2', '/gen/3', '/gen/4', '/gen/5']) {
        await r.get(u);
        expect(r.cached.ok).to.be.at.most(3);
      }
      expect(metrics.counter('schema.cache.evicted', { kind: 'schema' })).to.equal(2);
      const held = ['/gen/1', '/gen/2', '/gen/3', '/gen/4', '/gen/5'].filter((u) => r.peek(u) !== undefined);
      expect(held).to.have.length(3);
      const evicted = '/gen/1';
      expect(held).to.not.include(evicted);
      // New content under the same id: had ajv kept the evicted schema, it would refuse this one.
      gate.version = 2;
      const again = await r.get(evicted);
      expect(again.title).to.equal(`${evicted} 2`);
      expect(gate.server.count(evicted)).to.equal(2);
    });

    it('holds at most max_failures_cached failed look-ups, forgetting the oldest', async () => {
      gate.open();
      const r = repo({ maxFailures: 5 });
      // One by one: failures are dropped in the order they were stored.
      for (const u of uris('missing', 20)) await rejection(r.get(u), 'EG_ERR_SCHEMA_NOT_FOUND');
      expect(r.cached.failed).to.equal(5);
      expect(metrics.counter('schema.cache.evicted', { kind: 'failure' })).to.equal(15);
      expect(r.peek('/missing/0/1.0.0')).to.equal(undefined);
      expect(codeOf(r.peek('/missing/19/1.0.0'))).to.equal('EG_ERR_SCHEMA_NOT_FOUND');
    });
  });
});
