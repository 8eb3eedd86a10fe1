import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/service';

/** Every `*.ts` file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Metric names passed as literals to increment/timing/gauge anywhere in lib/ (lib/metrics/ implements them). */
function emittedNames(): Map<string, string> {
  const names = new Map<string, string>();
  const metricsDir = join(ROOT, 'lib/metrics');
  for (const file of sources(join(ROOT, 'lib'))) {
    if (file.startsWith(metricsDir)) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\.(?:increment|timing|gauge)\(\s*'([a-z0-9_.]+)'/g)) names.set(m[1], file);
    // A name chosen by a condition in the first argument: `cond ? 'a' : 'b'`.
    for (const m of text.matchAll(/\.(?:increment|timing|gauge)\(\s*[^,'"()]*\?\s*'([a-z0-9_.]+)'\s*:\s*'([a-z0-9_.]+)'/g)) {
      names.set(m[1], file);
      names.set(m[2], file);
    }
  }
  return names;
}

function documentedNames(): Set<string> {
  const text = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
  return new Set([...text.matchAll(/^\| `([a-z0-9_.]+)` \| (?:c|ms|g) \|/gm)].map((m) => m[1]));
}

describe('docs/metrics.md', () => {
  it('lists every metric name the code emits, and no name the code no longer emits', () => {
    const emitted = emittedNames();
    const documented = documentedNames();
    const undocumented = [...emitted.keys()].filter((n) => !documented.has(n)).map((n) => `${n} (${emitted.get(n)})`);
    expect(undocumented, 'emitted but not in docs/metrics.md').to.deep.equal([]);
    expect([...documented].filter((n) => !emitted.has(n)), 'in docs/metrics.md but not emitted').to.deep.equal([]);
  });
});
