/**
 * Mocha global fixture: one real Kafka broker for the whole test run.
 *
 * Load it with `mocha --require dist/test/kafka/fixture.js`. It starts the
 * broker of test/kafka/broker.sh in a fresh temporary folder, publishes its
 * PLAINTEXT address as EVENTGATE_TEST_KAFKA and what its SSL and SASL_SSL
 * listeners need (addresses, CA file, SCRAM user and password: the names of
 * broker.sh's DIR/security.env) beside it (test/helpers/kafka.ts reads
 * them), and stops it and removes the folder in the teardown. A run killed
 * before its teardown is cleaned up by broker.sh's watchdog
 * (EVENTGATE_KAFKA_OWNER_PID).
 *
 * With EVENTGATE_TEST_KAFKA already set (a broker of `npm run kafka`, which
 * prints the other variables to export), no broker is started and that one is used.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
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

/** broker.sh's DIR/security.env: NAME=VALUE lines, EVENTGATE_TEST_KAFKA_SSL and the others. */
async function readSecurityEnv(dir: string): Promise<Record<string, string>> {
  const vars: Record<string, string> = {};
  for (const line of (await readFile(path.join(dir, 'security.env'), 'utf8')).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) vars[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return vars;
}

export interface StartedBroker {
  readonly dir: string;
  /** HOST:PORT of the PLAINTEXT listener. */
  readonly bootstrap: string;
  /** The SSL and SASL_SSL listeners' addresses, CA file and SCRAM credentials, by the env variable names of DIR/security.env. */
  readonly security: Readonly<Record<string, string>>;
}

/**
 * Starts a broker in a new temporary folder; returns the folder, its
 * bootstrap address and its security settings. `port` fixes the PLAINTEXT
 * port (default: a free one).
 */
export async function startBroker(options: { port?: number } = {}): Promise<StartedBroker> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'eventgate-test-kafka-'));
  const env: NodeJS.ProcessEnv = { ...process.env, EVENTGATE_KAFKA_OWNER_PID: String(process.pid) };
  if (options.port !== undefined) env.EVENTGATE_KAFKA_PORT = String(options.port);
  else delete env.EVENTGATE_KAFKA_PORT;
  try {
    const out = await brokerScript(['start', dir], env);
    return { dir, bootstrap: out.split('\n').pop() ?? '', security: await readSecurityEnv(dir) };
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
  Object.assign(process.env, broker.security);
  process.stderr.write(`kafka test broker at ${broker.bootstrap}, ready in ${Date.now() - started} ms\n`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (!brokerDir) return;
  const dir = brokerDir;
  brokerDir = undefined;
  await stopBroker(dir);
}
