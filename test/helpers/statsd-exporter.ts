/**
 * A real prometheus/statsd_exporter (built by install-statsd-exporter.sh) on
 * Wikimedia's eventgate chart mapping, and a reader of what it exposes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { call } from '../helpers/http';
import { freePort } from '../helpers/ports';
import { ROOT } from '../helpers/service';
import { until } from '../helpers/until';

export const FIXTURE = join(ROOT, 'test/fixtures/eventgate-statsd');

/** A Prometheus text exposition: each sample by its name and sorted labels, and each family's type. */
export interface Exposition {
  readonly samples: Map<string, number>;
  readonly types: Map<string, string>;
}

export function parseExposition(text: string): Exposition {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}="${v}"`).sort();
    samples.set(labels.length ? `${m[1]}{${labels.join(',')}}` : m[1], Number(m[3]));
  }
  return { samples, types };
}

/**
 * statsd_exporter takes no series `<name>_sum` once a series `<name>` exists
 * (it could be a summary's part). The brokers' windowed statistics have both
 * (`rtt` with quantiles, `rtt_sum`): the `_sum`s show only for the producer
 * whose document reached the exporter first, which may be either.
 */
export const FIRST_PRODUCER_ONLY = /^eventgate_rdkafka_producer_broker_[a-z_]+_sum\{/;

/** A sample key's metric name. */
export const nameOf = (key: string): string => key.replace(/\{.*$/, '');

/** A UDP port that nothing is bound to now. */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

export function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  return gone;
}

export interface Exporter {
  /** Where it takes statsd lines (UDP, 127.0.0.1). */
  readonly udpPort: number;
  readonly scrape: () => Promise<string>;
  readonly stop: () => Promise<void>;
}

/** Builds statsd_exporter when .cache/ lacks it (minutes on a fresh machine) and starts it on the chart's mapping. */
export async function startExporter(): Promise<Exporter> {
  const bin = execFileSync('bash', [join(ROOT, 'test/metrics/install-statsd-exporter.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const udpPort = await freeUdpPort();
  const webPort = await freePort();
  const child = spawn(
    bin,
    [
      `--statsd.listen-udp=127.0.0.1:${udpPort}`,
      '--statsd.listen-tcp=',
      `--web.listen-address=127.0.0.1:${webPort}`,
      `--statsd.mapping-config=${join(FIXTURE, 'prometheus-statsd.conf')}`,
    ],
    { stdio: 'ignore' },
  );
  const scrape = async () => (await call(webPort, { path: '/metrics', fresh: true, timeoutMs: 5000 })).text;
  try {
    await until(() => scrape().then(() => true, () => false), 10000, 'statsd_exporter to answer');
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { udpPort, scrape, stop: () => stopChild(child) };
}
