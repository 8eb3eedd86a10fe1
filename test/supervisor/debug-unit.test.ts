import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadConfigFile } from '../../lib/config/load';
import { debugDir, debugWrites } from '../../lib/supervisor/options';
import { ROOT } from '../helpers/paths';
import { until } from '../helpers/until';
import { Eventgate, freeBase, send, testEvent, type TempConfig, withTempConfig } from '../helpers/eventgate-process';

const UNIT = join(ROOT, 'deploy/eventgate.service');

/** What of deploy/eventgate.service decides which folders the service may write. */
interface UnitView {
  readonly protectSystem: string;
  readonly protectHome: string;
  readonly readWritePaths: readonly string[];
  readonly privateTmp: boolean;
  readonly env: Readonly<Record<string, string>>;
  /** The -c of ExecStart. */
  readonly configPath: string;
}

function parseUnit(text: string): UnitView {
  const values = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) values.set(m[1], [...(values.get(m[1]) ?? []), m[2].trim()]);
  }
  const last = (key: string, otherwise: string) => values.get(key)?.at(-1) ?? otherwise;
  const yes = (v: string) => ['yes', 'true', 'on', '1'].includes(v);
  const env: Record<string, string> = {};
  for (const assignment of (values.get('Environment') ?? []).flatMap((v) => v.split(/\s+/))) {
    const [k, ...v] = assignment.split('=');
    env[k] = v.join('=');
  }
  const configPath = /\s-c\s+(\S+)/.exec(last('ExecStart', ''))?.[1];
  if (!configPath) throw new Error('ExecStart has no -c');
  return {
    protectSystem: last('ProtectSystem', 'no'),
    protectHome: last('ProtectHome', 'no'),
    // "-" before a path: no error when it is missing.
    readWritePaths: (values.get('ReadWritePaths') ?? []).flatMap((v) => v.split(/\s+/)).map((p) => p.replace(/^-/, '')).filter(Boolean),
    privateTmp: yes(last('PrivateTmp', 'no')),
    env,
    configPath,
  };
}

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

/** Whether the service may write into `path` under the unit's sandboxing (systemd.exec(5)). */
function writable(unit: UnitView, path: string): boolean {
  if (['yes', 'true', 'read-only'].includes(unit.protectHome) && ['/home', '/root', '/run/user'].some((d) => under(path, d))) return false;
  if (unit.readWritePaths.some((d) => under(path, d))) return true;
  if (unit.privateTmp && (under(path, '/tmp') || under(path, '/var/tmp'))) return true;
  switch (unit.protectSystem) {
    case 'strict':
      return ['/dev', '/proc', '/sys'].some((d) => under(path, d));
    case 'full':
      return !['/usr', '/boot', '/efi', '/etc'].some((d) => under(path, d));
    case 'yes':
    case 'true':
      return !['/usr', '/boot', '/efi'].some((d) => under(path, d));
    default:
      return true;
  }
}

/**
 * The unit's file-system view of /tmp, the folder debug mode writes, in a
 * mount namespace of its own (unshare -m: the rest of the machine keeps its
 * /tmp): read-only as ProtectSystem=strict makes it, writable again where
 * ReadWritePaths says, a fresh tmpfs with PrivateTmp. Then it execs its arguments.
 */
function tmpAsUnitSees(unit: UnitView): string[] {
  const steps = ['set -e'];
  if (unit.protectSystem === 'strict') steps.push('mount --bind /tmp /tmp', 'mount -o remount,bind,ro /tmp');
  for (const p of unit.readWritePaths.filter((d) => under(d, '/tmp'))) steps.push(`mount --bind ${p} ${p}`, `mount -o remount,bind,rw ${p}`);
  if (unit.privateTmp) steps.push('mount -t tmpfs tmpfs /tmp');
  steps.push('exec "$@"');
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', steps.join('\n'), 'sh'];
}

describe('debug mode under deploy/eventgate.service', function () {
  this.timeout(30000);
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));

  it('may write every folder debug mode writes, by the unit\'s ProtectSystem, ReadWritePaths and PrivateTmp', async () => {
    // The shipped config.yaml, as the unit runs it: from its -c path.
    const shipped = await loadConfigFile(join(ROOT, 'config.yaml'));
    const loaded = { ...shipped, path: unit.configPath, dir: dirname(unit.configPath) };
    const dirs = debugWrites(loaded, unit.env.TMPDIR ?? '/tmp');
    expect(dirs).to.include('/tmp');
    for (const dir of dirs) expect(writable(unit, dir), `${dir} writable under the unit`).to.equal(true);
  });

  it('has a /tmp view that the mount namespace of the next test really makes read-only without ReadWritePaths', () => {
    const readOnly = { ...unit, readWritePaths: [], privateTmp: false, protectSystem: 'strict' };
    const probe = `/tmp/eventgate-unit-probe-${process.pid}`;
    const r = spawnSync(tmpAsUnitSees(readOnly)[0], [...tmpAsUnitSees(readOnly).slice(1), 'touch', probe], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.not.equal(0);
    expect(existsSync(probe)).to.equal(false);
  });

  describe('started in the unit\'s view of /tmp', () => {
    let cfg: TempConfig;
    let eg: Eventgate | undefined;
    let outside: string | undefined;
    withTempConfig((c) => (cfg = c));
    afterEach(() => {
      for (const pid of eg?.forked() ?? []) rmSync(`/tmp/perf-${pid}.map`, { force: true });
      if (outside) rmSync(outside, { recursive: true, force: true });
      eg = undefined;
    });

    it('starts its debug workers, which write their V8 logs and perf maps, and stops cleanly', async () => {
      // The events go where the unit's ReadWritePaths would put them: outside /tmp, which the test makes read-only.
      outside = mkdtempSync('/var/tmp/eventgate-unit-');
      const base = await freeBase(1, [cfg.port]);
      cfg.write({ num_workers: 1, debug_inspect_port_base: base }, { output_path: join(outside, 'events.ndjson') });
      eg = new Eventgate(cfg.path, ['--debug'], { wrap: tmpAsUnitSees(unit), env: unit.env.TMPDIR ? { TMPDIR: unit.env.TMPDIR } : {} });
      const [pid] = [...(await eg.waitForWorkers(1)).values()];
      // As the worker sees its file system (its own mount namespace).
      const root = `/proc/${pid}/root`;
      const { dir } = debugDir(await loadConfigFile(cfg.path), eg.pid, unit.env.TMPDIR ?? '/tmp');
      const v8log = join(root, dir, `eventgate-v8-${pid}.log`);
      await until(() => existsSync(v8log) && statSync(v8log).size > 0, 10000, v8log);
      await until(() => existsSync(join(root, `/tmp/perf-${pid}.map`)), 10000, 'the perf map');
      expect((await send(cfg.port, 'POST', '/v1/events', testEvent())).status).to.equal(201);
      eg.signal('SIGTERM');
      expect(await eg.exited).to.deep.equal({ code: 0, signal: null });
    });
  });
});
