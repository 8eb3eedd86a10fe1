/**
 * The OpenAPI document is the contract: schemathesis (PyPI, installed by
 * test/contract/install.sh into .cache/) generates requests from GET /?spec
 * of a real eventgate on config.dev.yaml and runs every check it has
 * (status codes, content types, response schemas, negative data, methods).
 */
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { eventgate, type Child } from '../helpers/kafka-service';
import { call } from '../helpers/http';
import { ROOT } from '../helpers/paths';
import { freePort } from '../helpers/ports';
import { withTempDir } from '../helpers/tempdir';
import { until } from '../helpers/until';

function run(cmd: string, args: readonly string[], ms: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: join(ROOT, 'test', 'contract'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('the OpenAPI document against the service (schemathesis)', function () {
  this.timeout(300000);
  const tempDir = withTempDir('eventgate-contract-');
  let st: string;
  let child: Child | undefined;

  before(function () {
    const installed = spawnSync('bash', [join(ROOT, 'test', 'contract', 'install.sh')], { encoding: 'utf8', timeout: 280000 });
    expect(installed.status, `schemathesis could not be installed: ${installed.stderr}`).to.equal(0);
    st = installed.stdout.trim();
  });
  afterEach(async () => {
    await child?.kill();
    child = undefined;
  });

  it('finds no failure with --checks all', async () => {
    const port = await freePort();
    const running = eventgate(['-c', 'config.dev.yaml'], { PORT: String(port), EVENTGATE_OUTPUT: join(tempDir(), 'events.ndjson') });
    child = running;
    await until(async () => (await call(port, { path: '/readyz' }).catch(() => undefined))?.status === 200, 15000, '/readyz 200');
    const base = `http://127.0.0.1:${port}`;
    const args = ['run', `${base}/?spec`, '--url', base, '--checks', 'all', '--max-examples', '40', '--seed', '1', '--no-color'];
    const result = await run(st, args, 240000);
    expect(result.code, result.out.slice(-6000)).to.equal(0);
    // It ran what it says it ran: every operation of the document.
    expect(result.out).to.match(/Tested: 11/);
    expect(running.process.exitCode, running.stderr()).to.equal(null);
  });
});
