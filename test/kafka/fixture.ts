/**
 * Mocha global fixture: one real Kafka broker for the whole test run.
 *
 * Load it with `mocha --require dist/test/kafka/fixture.js`. It starts the
 * broker of test/kafka/broker.sh in a fresh temporary folder, publishes its
 * address as EVENTGATE_TEST_KAFKA (test/kafka/helpers.ts reads it), and stops
 * it and removes the folder in the teardown. A run killed before its
 * teardown is cleaned up by broker.sh's watchdog (EVENTGATE_KAFKA_OWNER_PID).
 *
 * With EVENTGATE_TEST_KAFKA already set (a broker of `npm run kafka`), no
 * broker is started and that one is used.
 */
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const BROKER_SCRIPT = path.resolve(__dirname, '..', '..', '..', 'test', 'kafka', 'broker.sh');

let brokerDir: string | undefined;

/** Runs broker.sh; its stderr (mvn progress, a failed start's log tail) goes straight to ours. */
export function brokerScript(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BROKER_SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out.trim());
      else reject(new Error(`test/kafka/broker.sh ${args.join(' ')} failed with exit code ${code}`));
    });
  });
}

/**
 * Starts a broker in a new temporary folder; returns the folder and its
 * bootstrap address. `port` fixes the PLAINTEXT port (default: a free one).
 */
export async function startBroker(options: { port?: number } = {}): Promise<{ dir: string; bootstrap: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'eventgate-test-kafka-'));
  const env: NodeJS.ProcessEnv = { ...process.env, EVENTGATE_KAFKA_OWNER_PID: String(process.pid) };
  if (options.port !== undefined) env.EVENTGATE_KAFKA_PORT = String(options.port);
  else delete env.EVENTGATE_KAFKA_PORT;
  try {
    const out = await brokerScript(['start', dir], env);
    return { dir, bootstrap: out.split('\n').pop() ?? '' };
  } catch (err) {
    await brokerScript(['stop', dir]).catch(() => undefined);
    throw err;
  }
}

/** Stops the broker of `dir` and removes its data. */
export async function stopBroker(dir: string): Promise<void> {
  await brokerScript(['stop', dir]);
}

/** Stops the broker process of `dir` but keeps its data and ports, for resumeBroker. */
export async function haltBroker(dir: string): Promise<void> {
  await brokerScript(['halt', dir]);
}

/** Starts a halted broker again; resolves once it accepts produce requests. */
export async function resumeBroker(dir: string): Promise<void> {
  await brokerScript(['resume', dir]);
}

export async function mochaGlobalSetup(): Promise<void> {
  if (process.env.EVENTGATE_TEST_KAFKA) return;
  const started = Date.now();
  const broker = await startBroker();
  brokerDir = broker.dir;
  process.env.EVENTGATE_TEST_KAFKA = broker.bootstrap;
  process.stderr.write(`kafka test broker at ${broker.bootstrap}, ready in ${Date.now() - started} ms\n`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (!brokerDir) return;
  const dir = brokerDir;
  brokerDir = undefined;
  await stopBroker(dir);
}
