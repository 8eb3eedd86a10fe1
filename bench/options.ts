/** Bench knobs: command-line flags, each with an environment variable fallback. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Kind } from './events';

export interface Options {
  readonly durationS: number;
  readonly warmupS: number;
  readonly connections: number;
  readonly batchSize: number;
  /** Distinct request bodies per scenario, sent round-robin. */
  readonly bodies: number;
  /** Measure each pair this many times and keep each server's best: other load only ever slows a run down. */
  readonly repeat: number;
  /** Before each measurement, wait up to this long for other load to go away. */
  readonly quietWaitS: number;
  readonly sets: readonly string[];
  readonly kinds: readonly Kind[];
  readonly json: string | undefined;
  readonly pin: boolean;
  readonly threadPool: boolean;
  readonly spin: boolean;
  readonly serverNodeArgs: readonly string[];
  readonly ceilingNodeArgs: readonly string[];
  readonly wmfSchemas: string;
  readonly help: boolean;
}

export const USAGE = `npm run bench -- [flags]          (flags also as env variables)

  --duration S         measured seconds per scenario         BENCH_DURATION    10
  --warmup S           unmeasured seconds before each one    BENCH_WARMUP      2
  --connections N      concurrent keep-alive connections     BENCH_CONNECTIONS 16
  --batch-size N       events per batch body                 BENCH_BATCH_SIZE  100
  --bodies N           distinct bodies per scenario          BENCH_BODIES      16
  --repeat N           runs per row, best kept (noisy hosts)  BENCH_REPEAT      1
  --quiet-wait S       before each row, wait up to S s for  BENCH_QUIET_WAIT  0
                       other load to stop (shared hosts)
  --sets LIST          event sets: test,wmf                  BENCH_SETS        test,wmf
  --kinds LIST         body kinds: single,batch              BENCH_KINDS       single,batch
  --json FILE          also write a JSON summary to FILE     BENCH_JSON
  --no-pin             do not pin server/generator to CPUs   BENCH_NO_PIN=1
  --spin               generator polls instead of sleeping   BENCH_SPIN=1
  --thread-pool        enable eventgate's batch thread pool  BENCH_THREAD_POOL=1
  --server-node-args=S node flags for eventgate (note the =)  BENCH_SERVER_NODE_ARGS
                       e.g. "--server-node-args=--cpu-prof --cpu-prof-dir=bench/results/prof"
  --ceiling-node-args=S the same for the ceiling server       BENCH_CEILING_NODE_ARGS
  --wmf-schemas DIR    Wikimedia schema fixtures             BENCH_WMF_SCHEMAS test/fixtures/wmf-schemas
  -h, --help`;

function num(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, not ${JSON.stringify(raw)}`);
  return n;
}

function list<T extends string>(name: string, raw: string, allowed: readonly T[]): T[] {
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new Error(`--${name}: unknown ${JSON.stringify(item)} (allowed: ${allowed.join(', ')})`);
  }
  if (items.length === 0) throw new Error(`--${name} is empty`);
  return items as T[];
}

const flag = (raw: string | undefined) => raw !== undefined && raw !== '' && raw !== '0';

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, repo: string): Options {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'batch-size': { type: 'string' },
      bodies: { type: 'string' },
      repeat: { type: 'string' },
      'quiet-wait': { type: 'string' },
      sets: { type: 'string' },
      kinds: { type: 'string' },
      json: { type: 'string' },
      'no-pin': { type: 'boolean' },
      'thread-pool': { type: 'boolean' },
      spin: { type: 'boolean' },
      'server-node-args': { type: 'string' },
      'ceiling-node-args': { type: 'string' },
      'wmf-schemas': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const json = v.json ?? env.BENCH_JSON;
  const words = (raw: string | undefined) => (raw ?? '').split(/\s+/).filter(Boolean);
  return {
    durationS: num('duration', v.duration ?? env.BENCH_DURATION, 10, 0.1),
    warmupS: num('warmup', v.warmup ?? env.BENCH_WARMUP, 2, 0),
    connections: Math.floor(num('connections', v.connections ?? env.BENCH_CONNECTIONS, 16, 1)),
    batchSize: Math.floor(num('batch-size', v['batch-size'] ?? env.BENCH_BATCH_SIZE, 100, 1)),
    bodies: Math.floor(num('bodies', v.bodies ?? env.BENCH_BODIES, 16, 1)),
    repeat: Math.floor(num('repeat', v.repeat ?? env.BENCH_REPEAT, 1, 1)),
    quietWaitS: num('quiet-wait', v['quiet-wait'] ?? env.BENCH_QUIET_WAIT, 0, 0),
    sets: list('sets', v.sets ?? env.BENCH_SETS ?? 'test,wmf', ['test', 'wmf']),
    kinds: list('kinds', v.kinds ?? env.BENCH_KINDS ?? 'single,batch', ['single', 'batch'] as const),
    json: json ? resolve(json) : undefined,
    pin: !(v['no-pin'] ?? flag(env.BENCH_NO_PIN)),
    threadPool: v['thread-pool'] ?? flag(env.BENCH_THREAD_POOL),
    spin: v.spin ?? flag(env.BENCH_SPIN),
    serverNodeArgs: words(v['server-node-args'] ?? env.BENCH_SERVER_NODE_ARGS),
    ceilingNodeArgs: words(v['ceiling-node-args'] ?? env.BENCH_CEILING_NODE_ARGS),
    wmfSchemas: resolve(repo, v['wmf-schemas'] ?? env.BENCH_WMF_SCHEMAS ?? 'test/fixtures/wmf-schemas'),
    help: v.help ?? false,
  };
}
