/**
 * The load generator, run as its own process (the runner forks it once per
 * measurement): N keep-alive connections, each with one request in flight,
 * for a warm-up and then a measured window. Requests are serialized before
 * the clock starts; latencies go to a preallocated histogram.
 */
import { performance } from 'node:perf_hooks';
import { Connection, type ConnectionEvents } from './connection';
import { Histogram } from './histogram';
import type { LoadJob, LoadMessage, LoadResult } from './protocol';

function requestsOf(job: LoadJob): Buffer[] {
  return job.bodies.map((body) => {
    const bytes = Buffer.from(body);
    const head =
      `POST ${job.path} HTTP/1.1\r\nHost: ${job.host}:${job.port}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${bytes.length}\r\nConnection: keep-alive\r\n\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), bytes]);
  });
}

/**
 * Spreads connections evenly over cluster workers: each worker takes its
 * share, a connection that lands on a full one reconnects. After many
 * refusals (a worker gone, say) every connection is taken where it lands.
 */
function placement(connections: number, workers: number): Pick<ConnectionEvents, 'place' | 'unplace'> {
  const share = Math.ceil(connections / workers);
  const placed = new Map<string, number>();
  let refusals = 0;
  return {
    place(who: string): boolean {
      const n = placed.get(who) ?? 0;
      if (n >= share && refusals++ < connections * 50) return false;
      placed.set(who, n + 1);
      return true;
    },
    unplace(who: string): void {
      placed.set(who, (placed.get(who) ?? 1) - 1);
    },
  };
}

function reply(msg: LoadMessage): void {
  process.send?.(msg);
}

function run(job: LoadJob): void {
  const requests = requestsOf(job);
  const latency = new Histogram();
  const statuses = new Map<number, number>();
  let measuring = false;
  let responses = 0;
  let errors = 0;
  let firstError: string | undefined;
  let firstNon2xx: string | undefined;

  const events = {
    response(status: number, latencyUs: number, raw: Buffer): void {
      if (!measuring) return;
      responses++;
      latency.record(latencyUs);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if ((status < 200 || status > 299) && firstNon2xx === undefined) firstNon2xx = raw.toString('utf8', 0, Math.min(raw.length, 800));
    },
    error(err: Error): void {
      if (!measuring) return;
      errors++;
      firstError ??= err.message;
    },
  };
  if (job.spreadOver && job.spreadOver > 1) Object.assign(events, placement(job.connections, job.spreadOver));
  const step = Math.max(1, Math.floor(requests.length / job.connections));
  const conns = Array.from({ length: job.connections }, (_, i) => new Connection(job.port, job.host, requests, i * step, events));
  for (const c of conns) c.start();
  let running = true;
  if (job.spin) {
    // A pending immediate makes libuv poll without blocking: the generator
    // never sleeps, so the server's writes never pay for waking it up.
    const spin = (): void => {
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
  }

  let startedAt = 0;
  let cpuAtStart = process.cpuUsage();
  setTimeout(() => {
    measuring = true;
    startedAt = performance.now();
    cpuAtStart = process.cpuUsage();
    reply({ type: 'started' });
    setTimeout(finish, job.durationMs);
  }, job.warmupMs);

  function finish(): void {
    measuring = false;
    running = false;
    const elapsedMs = performance.now() - startedAt;
    const cpu = process.cpuUsage(cpuAtStart);
    for (const c of conns) c.stop();
    const result: LoadResult = {
      type: 'result',
      elapsedMs,
      responses,
      statuses: Object.fromEntries(statuses),
      errors,
      firstError,
      firstNon2xx,
      latency: latency.toArray(),
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
    reply(result);
    process.disconnect?.();
  }
}

process.once('message', (job: LoadJob) => run(job));
