import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerMemoryLimit } from '../../lib/memory/limit';
import { memoryBudget } from '../../lib/memory/budget';
import { validateConfig, parseSize } from '../../lib/config/load';
import { withTempDir } from '../helpers/tempdir';

const MiB = 1024 * 1024;

/** A fake root with /proc/self/cgroup and cgroup files: path -> content. */
function tree(root: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('container memory limit', () => {
  const dir = withTempDir('eventgate-limit-');

  it("reads cgroup v1's memory.limit_in_bytes of the process's own cgroup, the smallest up to the root", () => {
    const root = tree(dir(), {
      'proc/self/cgroup': '5:cpu,cpuacct:/pod\n4:memory:/kubepods/pod1/ctr\n0::/\n',
      'sys/fs/cgroup/memory/kubepods/pod1/ctr/memory.limit_in_bytes': '9223372036854771712\n',
      'sys/fs/cgroup/memory/kubepods/pod1/memory.limit_in_bytes': `${300 * MiB}\n`,
      'sys/fs/cgroup/memory/kubepods/memory.limit_in_bytes': `${2048 * MiB}\n`,
      'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
    });
    const limit = containerMemoryLimit(root);
    expect(limit?.bytes).to.equal(300 * MiB);
    expect(limit?.source).to.equal(join(root, 'sys/fs/cgroup/memory/kubepods/pod1/memory.limit_in_bytes'));
  });

  it("takes v1's unlimited value as no limit", () => {
    const root = tree(dir(), {
      'proc/self/cgroup': '4:memory:/\n',
      'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
    });
    expect(containerMemoryLimit(root)).to.equal(undefined);
  });

  it("reads the container's own cgroup at the mount's root when the path is the host's (no cgroup namespace)", () => {
    const root = tree(dir(), {
      'proc/self/cgroup': '4:memory:/docker/abc\n',
      'sys/fs/cgroup/memory/memory.limit_in_bytes': `${512 * MiB}\n`,
    });
    expect(containerMemoryLimit(root)?.bytes).to.equal(512 * MiB);
  });

  it("reads cgroup v2's memory.max, where 'max' is no limit", () => {
    const root = tree(dir(), {
      'proc/self/cgroup': '0::/kubepods/pod2\n',
      'sys/fs/cgroup/kubepods/pod2/memory.max': `${300 * MiB}\n`,
      'sys/fs/cgroup/kubepods/memory.max': 'max\n',
    });
    expect(containerMemoryLimit(root)?.bytes).to.equal(300 * MiB);
    const unlimited = tree(dir(), { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/memory.max': 'max\n' });
    expect(containerMemoryLimit(unlimited)).to.equal(undefined);
  });

  it('is undefined without /proc/self/cgroup (not Linux)', () => {
    expect(containerMemoryLimit(dir())).to.equal(undefined);
  });
});

describe('memory budget', () => {
  const conf = (admission: Record<string, unknown> = {}, top: Record<string, unknown> = {}) =>
    validateConfig({ ...top, services: [{ conf: { admission } }] }).services[0].conf;
  const budget = (numWorkers: number, limitMiB: number | null, admission: Record<string, unknown> = {}) => {
    const c = conf(admission);
    return memoryBudget({
      admission: c.admission,
      maxBodySize: parseSize(c.max_body_size),
      threadPool: c.batch.thread_pool,
      numWorkers,
      sizeOf: (s) => (s === 0 ? 0 : parseSize(s)),
      limit: limitMiB === null ? null : { bytes: limitMiB * MiB, source: 'test' },
      machineBytes: 24 * 1024 * MiB,
      threads: 2,
    });
  };

  it("fits the chart's pod with the defaults: 1 worker in 300 MiB takes a 10mb body, one at a time, on one pool thread", () => {
    const b = budget(1, 300);
    expect(b.source).to.equal('cgroup');
    expect(b.largestBody).to.be.at.least(10 * MiB);
    expect(b.bodyBytes).to.be.below(2 * 10 * MiB * b.expansion);
    expect(b.threads).to.equal(1);
    // Not the configured 128 MB young generation, in so little memory.
    expect(b.youngGenerationMb).to.be.at.most(32);
    // The worst case of the model: master, worker, its bodies and the headroom within the limit.
    expect(32 * MiB + 56 * MiB + b.bodyBytes).to.be.at.most(300 * MiB * 0.9 + 1);
    // A pool thread keeps its heap between batches, as no other worker's grant could need it.
    expect(b.retireIdleThreads).to.equal(false);
  });

  it("shares one pool of the container's memory among the workers for large bodies, less the master and each worker's idle memory and small reserve", () => {
    const two = budget(2, 1000);
    expect(two.sharedBytes).to.be.closeTo(1000 * 0.9 * MiB - 32 * MiB - 2 * (56 + 4) * MiB, 1);
    expect(two.bodyBytes, 'a worker may hold its reserve and the whole pool').to.equal(two.sharedBytes + 4 * MiB);
    expect(budget(1, 1000).sharedBytes).to.be.greaterThan(two.sharedBytes);
    expect(budget(0, 1000).sharedBytes, 'no master: nothing shared').to.equal(0);
  });

  it('lets 2 workers in 300 MiB take one 10mb body at a time between them, their pool threads giving their heap back when idle', () => {
    const b = budget(2, 300);
    expect(b.largestBody).to.be.at.least(b.maxBodySize);
    expect(b.sharedBytes).to.be.below(2 * b.maxBodySize * b.expansion);
    expect(b.retireIdleThreads).to.equal(true);
  });

  it("uses the machine's memory without a container limit, and admission.memory_limit over both", () => {
    expect(budget(0, null).source).to.equal('machine');
    expect(budget(0, null).totalBytes).to.equal(24 * 1024 * MiB);
    const set = budget(1, 300, { memory_limit: '2gb' });
    expect([set.source, set.totalBytes]).to.deep.equal(['config', 2 * 1024 * MiB]);
  });

  it('says when max_body_size can never fit: 4 workers in 300 MiB', () => {
    const b = budget(4, 300);
    expect(b.largestBody).to.be.below(b.maxBodySize);
  });

  it('takes admission.body_memory as the body budget when set', () => {
    expect(budget(1, 300, { body_memory: '50mb' }).bodyBytes).to.equal(50 * MiB);
  });
});
