/**
 * bench:hostile: what hostile bodies cost other clients. One eventgate with
 * the default limits (10 MB bodies, depth 64, 10,000 events, 1 MB answers,
 * the thread pool on); single events measured alone, then again while
 * another client sends, one after the other, the bodies of docs/limits:
 * a max_body_size flood of tiny events, deeply nested events, a large batch
 * of invalid events (under max_events_per_request), 200,000 nested arrays. Prints the singles' p50/p99 in
 * both runs, each hostile body's status, answer size and time, and the
 * server's peak RSS. Numbers only: nothing here passes or fails.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventSets, exampleEvent, makeBodies } from './events';
import { measure, type Load, type Measurement } from './measure';
import { startEventgate } from './servers';

const REPO = resolve(__dirname, '..', '..');
const DURATION_MS = Number(process.env.BENCH_HOSTILE_SECONDS ?? 10) * 1000;
const MB = 1024 * 1024;

/** The hostile bodies, each just under the default max_body_size. */
function hostileBodies(): { name: string; body: Buffer }[] {
  const deepOne = `{"$schema":"/test/event/1.0.0","meta":{"stream":"test.event"},"d":${'['.repeat(4000)}${']'.repeat(4000)}}`;
  const invalidOne = JSON.stringify({ $schema: '/test/event/1.0.0', meta: {}, pad: 'y'.repeat(900) });
  const fill = (one: string) => Buffer.from(`[${Array.from({ length: Math.floor((9.5 * MB) / (one.length + 1)) }, () => one).join(',')}]`);
  return [
    { name: 'flood of {} (9.5 MB)', body: fill('{}') },
    { name: '1,200 events 4,000 deep (9.5 MB)', body: Buffer.from(`[${Array.from({ length: 1200 }, () => deepOne).join(',')}]`) },
    { name: '9,000 invalid events (8.3 MB)', body: Buffer.from(`[${Array.from({ length: 9000 }, () => invalidOne).join(',')}]`) },
    { name: '200,000 nested arrays', body: Buffer.from('['.repeat(200000) + ']'.repeat(200000)) },
  ];
}

function post(port: number, body: Buffer): Promise<{ status: number; bytes: number; ms: number }> {
  const started = performance.now();
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/events', headers: { 'content-type': 'application/json' } }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => done({ status: res.statusCode ?? 0, bytes, ms: performance.now() - started }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  const set = eventSets(REPO, resolve(REPO, 'test/fixtures/wmf-schemas')).find((s) => s.name === 'test');
  if (!set) throw new Error('no test event set');
  const tmp = mkdtempSync(join(tmpdir(), 'eventgate-bench-hostile-'));
  const server = await startEventgate(REPO, tmp, set, { cpu: undefined, nodeArgs: [], threadPool: true });
  const target = { server: 'eventgate', port: server.port, pid: server.pid };
  const singles: Load = { bodies: makeBodies(exampleEvent(set), 'single', 1, 64), eventsPerBody: 1, connections: 4, warmupMs: 1000, durationMs: DURATION_MS, cpu: undefined };
  const bodies = hostileBodies();
  try {
    const rssIdle = rssMb(server.pid);
    const alone: Measurement = await measure(target, singles);
    let peak = rssIdle;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(server.pid))), 20);
    const seen = new Map<string, { n: number; status: Set<number>; bytes: number; maxMs: number }>();
    let stopping = false;
    const hostile = (async () => {
      // Starts after the singles' warm-up, and goes round until they are done.
      await new Promise((r) => setTimeout(r, singles.warmupMs));
      while (!stopping) {
        for (const h of bodies) {
          if (stopping) break;
          const r = await post(server.port, h.body);
          const s = seen.get(h.name) ?? { n: 0, status: new Set<number>(), bytes: 0, maxMs: 0 };
          s.n++;
          s.status.add(r.status);
          s.bytes = r.bytes;
          s.maxMs = Math.max(s.maxMs, r.ms);
          seen.set(h.name, s);
        }
      }
    })();
    const during = await measure(target, singles);
    stopping = true;
    await hostile;
    clearInterval(sampler);
    const f = (n: number) => n.toFixed(2);
    process.stdout.write(
      `single events (4 connections, ${DURATION_MS / 1000} s): alone p50 ${f(alone.p50Ms)} ms, p99 ${f(alone.p99Ms)} ms, ${Math.round(alone.requestsPerS)} req/s; ` +
        `with hostile bodies p50 ${f(during.p50Ms)} ms, p99 ${f(during.p99Ms)} ms, ${Math.round(during.requestsPerS)} req/s; ` +
        `non-2xx ${during.non2xx}, errors ${during.errors}\n\n`,
    );
    process.stdout.write('| hostile body | sent | status | answer bytes | slowest answer ms |\n|---|---|---|---|---|\n');
    for (const [name, s] of seen) process.stdout.write(`| ${name} | ${s.n} | ${[...s.status].join(', ')} | ${s.bytes} | ${s.maxMs.toFixed(0)} |\n`);
    process.stdout.write(`\nserver RSS: ${rssIdle.toFixed(0)} MB before, ${peak.toFixed(0)} MB at most during the hostile run (bodies ~9.5 MB)\n`);
  } finally {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:hostile failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
