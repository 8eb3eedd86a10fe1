import { expect } from 'chai';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../../lib/config/load';
import { debugDir, debugFlags, desiredWorkers, isWorkerCountSpec, workerCount } from '../../lib/supervisor/options';

describe('worker count', () => {
  it('reads a number, ncpu and ncpu*K', () => {
    expect(workerCount(0, 8)).to.equal(0);
    expect(workerCount(3, 8)).to.equal(3);
    expect(workerCount('5', 8)).to.equal(5);
    expect(workerCount('ncpu', 8)).to.equal(8);
    expect(workerCount('ncpu*2', 8)).to.equal(16);
    expect(workerCount('ncpu * 3', 2)).to.equal(6);
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'two', '-1', 'ncpu+1', '2*ncpu', '1.5']) {
      expect(isWorkerCountSpec(bad), bad).to.equal(false);
      expect(() => workerCount(bad), bad).to.throw(/not a worker count/);
    }
  });

  it('refuses with the EG_ERR_WORKER_COUNT code', () => {
    expect(() => workerCount('two')).to.throw().with.property('code', 'EG_ERR_WORKER_COUNT');
  });

  it('lets -n win over num_workers', () => {
    const config = validateConfig({ num_workers: 4 });
    expect(desiredWorkers(config, {})).to.equal(4);
    expect(desiredWorkers(config, { numWorkers: '0' })).to.equal(0);
  });
});

describe('debug flags', () => {
  it('put the inspector on base + worker id, then the configured flags, then the V8 log with %p for the pid', () => {
    const config = validateConfig({ debug_inspect_port_base: 9300, debug_dir: 'prof' });
    expect(debugFlags({ config, dir: '/etc/eventgate' }, 2)).to.deep.equal([
      '--inspect=127.0.0.1:9302',
      '--prof',
      '--perf-basic-prof',
      '--logfile=/etc/eventgate/prof/eventgate-v8-%p.log',
    ]);
  });

  it("default to a folder of the master's own in the OS temp folder and take the flags from debug_node_flags", () => {
    const config = validateConfig({ debug_node_flags: ['--cpu-prof'] });
    expect(debugFlags({ config, dir: '/x' }, 1, 4242)).to.deep.equal([
      '--inspect=127.0.0.1:9230',
      '--cpu-prof',
      `--logfile=${join(tmpdir(), 'eventgate-debug-4242', 'eventgate-v8-%p.log')}`,
    ]);
    expect(debugDir({ config, dir: '/x' }, 4242)).to.deep.equal({ dir: join(tmpdir(), 'eventgate-debug-4242'), owned: true });
    expect(debugDir({ config: validateConfig({ debug_dir: '/var/tmp/eg' }), dir: '/x' }).owned).to.equal(false);
  });

  it('are refused with --prof beside --interpreted-frames-native-stack, which can deadlock a worker at startup', () => {
    for (const flags of [
      ['--prof', '--interpreted-frames-native-stack'],
      ['--interpreted_frames_native_stack', '--perf-basic-prof', '--prof'],
    ]) {
      expect(() => validateConfig({ debug_node_flags: flags }), flags.join(' ')).to.throw(/--prof and --interpreted-frames-native-stack together can deadlock/);
    }
    expect(validateConfig({ debug_node_flags: ['--perf-basic-prof', '--interpreted-frames-native-stack'] }).debug_node_flags).to.have.length(2);
  });

  it('wrap inspector ports that would pass 65535 back to just above the base', () => {
    const config = validateConfig({ debug_inspect_port_base: 65530 });
    expect(debugFlags({ config, dir: '/' }, 5)[0]).to.equal('--inspect=127.0.0.1:65535');
    expect(debugFlags({ config, dir: '/' }, 6)[0]).to.equal('--inspect=127.0.0.1:65531');
  });
});
