/** The two servers under load: eventgate (bin/eventgate on a generated config) and the ceiling. */
import { join } from 'node:path';
import { writeConfig, type BenchConfig } from './config';
import type { EventSet } from './events';
import type { Target } from './measure';
import { freePort, launch, stop, waitReady, type Child } from './procs';

export interface Server extends Target {
  stop(): Promise<void>;
}

export interface Eventgate extends Server {
  readonly config: BenchConfig;
}

const READY_TIMEOUT_MS = 60000;

function serverOf(name: string, child: Child, port: number): Server {
  return {
    server: name,
    port,
    pid: child.proc.pid,
    async stop() {
      const code = await stop(child);
      if (code !== 0 && code !== null) process.stderr.write(`bench: ${name} exited with ${code}:\n${child.output()}\n`);
    },
  };
}

export interface EventgateOptions {
  readonly cpu: number | undefined;
  readonly nodeArgs: readonly string[];
  readonly threadPool: boolean;
  /** Further service conf keys for writeConfig (bench/kafka.ts: `kafka`, `topic_prefix`). */
  readonly conf?: Readonly<Record<string, unknown>>;
  /** Further top-level keys for writeConfig (bench/pool.ts: `num_workers`). */
  readonly top?: Readonly<Record<string, unknown>>;
}

export async function startEventgate(repo: string, tmp: string, set: EventSet, opts: EventgateOptions): Promise<Eventgate> {
  const { cpu, nodeArgs } = opts;
  const port = await freePort();
  const config = writeConfig(tmp, set, port, opts.threadPool, opts.conf, opts.top);
  const child = launch('eventgate', { script: join(repo, 'bin', 'eventgate'), args: ['-c', config.path], nodeArgs, cpu, cwd: repo });
  try {
    await waitReady(child, port, '/readyz', READY_TIMEOUT_MS);
  } catch (err) {
    await stop(child, 2000);
    throw err;
  }
  return { ...serverOf('eventgate', child, port), config };
}

export async function startCeiling(cpu: number | undefined, nodeArgs: readonly string[]): Promise<Server> {
  const port = await freePort();
  const child = launch('ceiling', { script: join(__dirname, 'ceiling.js'), args: [String(port)], nodeArgs, cpu });
  try {
    await waitReady(child, port, '/readyz', READY_TIMEOUT_MS);
  } catch (err) {
    await stop(child, 2000);
    throw err;
  }
  return serverOf('ceiling', child, port);
}
