import { expect } from 'chai';
import { post, type Reply } from '../helpers/http';
import { startTestService, type TestService } from '../helpers/service';
import { until } from '../helpers/until';
import { startGatedServer, type GatedServer } from '../helpers/gated-schema-server';

interface Item {
  readonly status: string;
  readonly context: { readonly code: string };
}

function items(r: Reply): Item[] {
  const body = r.json as { invalid?: Item[]; error?: Item[] };
  return [...(body.invalid ?? []), ...(body.error ?? [])];
}

function tally(list: readonly Item[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of list) out[`${i.status} ${i.context.code}`] = (out[`${i.status} ${i.context.code}`] ?? 0) + 1;
  return out;
}

/** `copies` events for each of `n` schemas no base has. */
function unknownEvents(prefix: string, n: number, copies = 1): Record<string, unknown>[] {
  return Array.from({ length: n * copies }, (_, i) => ({ $schema: `/${prefix}/${i % n}/1.0.0`, meta: { stream: 'test.event' }, n: i }));
}

function known(n: number): Record<string, unknown> {
  return { $schema: '/test/event/1.0.0', meta: { stream: 'test.event', id: `known-${n}` }, n };
}

// Singles always inline; batches of 5 events or more in the pool (two threads) or inline.
const PATHS: [string, Record<string, unknown>][] = [
  ['inline', { batch: { thread_pool: { enabled: false } } }],
  ['thread', { batch: { thread_pool: { min_bytes: 100_000_000, min_events: 5, max_threads: 2, min_threads: 2 } } }],
];

for (const [path, pool] of PATHS) {
  describe(`schema fetches of a service, batches ${path === 'thread' ? 'in the thread pool' : 'inline'}`, () => {
    let gate: GatedServer;
    let svc: TestService | undefined;
    beforeEach(async () => {
      gate = await startGatedServer();
    });
    afterEach(async () => {
      gate.open();
      await svc?.close();
      svc = undefined;
      await gate.close();
    });

    async function start(limits: Record<string, number>, fetchTimeoutMs = 20_000): Promise<TestService> {
      svc = await startTestService({
        ...pool,
        schema_base_uris: ['./schemas', gate.base],
        schema_precache_uris: ['/test/event/1.0.0'],
        schema_fetch_timeout_ms: fetchTimeoutMs,
        schema_limits: limits,
      });
      return svc;
    }

    function expectPath(s: TestService): void {
      expect(s.metrics.counter('batch.path', { path })).to.be.above(0);
    }

    it("answers every event of a request naming 500 unknown schemas after at most max_new_per_request fetches, max_concurrent_fetches at a time, while other clients' events are accepted", async () => {
      const s = await start({ max_concurrent_fetches: 4, max_new_per_request: 20 });
      const big = post(s.port, unknownEvents('unknown', 500));
      await until(() => gate.inFlight() === 4, 10_000, 'four fetches in flight');
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        const r = await post(s.port, known(i));
        expect(r.status).to.equal(201);
        // The fetches are held: an answer that waited for them would not come at all.
        expect(performance.now() - started).to.be.below(2000);
      }
      expect(gate.inFlight()).to.equal(4);
      gate.open();
      const r = await big;
      expectPath(s);
      expect(r.status).to.equal(503);
      expect(r.headers['retry-after']).to.be.a('string');
      expect(tally(items(r))).to.deep.equal({ 'invalid EG_ERR_SCHEMA_NOT_FOUND': 20, 'error EG_ERR_SCHEMA_LOOKUP_LIMIT': 480 });
      expect(gate.server.total()).to.equal(20);
      expect(gate.maxInFlight()).to.equal(4);
      expect(s.written()).to.have.length(10);
    });

    it('keeps max_concurrent_fetches in flight at most for the whole worker over several concurrent requests', async () => {
      const s = await start({ max_concurrent_fetches: 3, max_new_per_request: 20 });
      const requests = ['a', 'b', 'c'].map((p) => post(s.port, unknownEvents(p, 20, 2)));
      await until(() => gate.inFlight() === 3, 10_000, 'three fetches in flight');
      // One answer at a time: each lets exactly one more fetch in, never a fourth at once.
      while (gate.server.total() < 60) {
        const before = gate.server.total();
        gate.releaseOne();
        await until(() => gate.server.total() > before, 10_000, 'the next fetch');
        expect(gate.inFlight()).to.be.at.most(3);
      }
      gate.open();
      for (const r of await Promise.all(requests)) {
        expect(r.status).to.equal(400);
        expect(tally(items(r))).to.deep.equal({ 'invalid EG_ERR_SCHEMA_NOT_FOUND': 40 });
      }
      expectPath(s);
      expect(gate.maxInFlight()).to.equal(3);
      expect(gate.server.total()).to.equal(60);
    });

    it('answers events whose schema fetch found no turn within schema_fetch_timeout_ms with the retryable EG_ERR_SCHEMA_FETCH_BUSY', async () => {
      const s = await start({ max_concurrent_fetches: 1, max_new_per_request: 20 }, 400);
      // Never answered: the first fetch times out, and the four behind it cannot all get its turn.
      const r = await post(s.port, unknownEvents('slow', 5, 2));
      expectPath(s);
      expect(r.status).to.equal(500);
      const got = items(r);
      expect(got).to.have.length(10);
      expect(got.every((i) => i.status === 'error' && ['EG_ERR_SCHEMA_FETCH', 'EG_ERR_SCHEMA_FETCH_BUSY'].includes(i.context.code))).to.equal(true);
      expect(got.filter((i) => i.context.code === 'EG_ERR_SCHEMA_FETCH_BUSY').length).to.be.at.least(6);
      expect(gate.server.total()).to.be.at.most(2);
      expect(s.metrics.counter('schema.fetch.refused', { reason: 'busy' })).to.be.at.least(3);
    });
  });
}
