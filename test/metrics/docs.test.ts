import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prometheusName, type MetricKind } from '../../lib/metrics/promnames';
import { ROOT } from '../helpers/service';

/** Every `*.ts` file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

const KIND_OF_CALL: Readonly<Record<string, MetricKind>> = { increment: 'counter', timing: 'timing', gauge: 'gauge' };
const KIND_OF_DOC: Readonly<Record<string, MetricKind>> = { c: 'counter', ms: 'timing', g: 'gauge' };

/** Metric names passed as literals to increment/timing/gauge anywhere in lib/ (lib/metrics/ implements them), with their kind and file. */
function emittedNames(): Map<string, { kind: MetricKind; file: string }> {
  const names = new Map<string, { kind: MetricKind; file: string }>();
  const metricsDir = join(ROOT, 'lib/metrics');
  for (const file of sources(join(ROOT, 'lib'))) {
    if (file.startsWith(metricsDir)) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\.(increment|timing|gauge)\(\s*'([a-z0-9_.]+)'/g)) names.set(m[2], { kind: KIND_OF_CALL[m[1]], file });
    // A name chosen by a condition in the first argument: `cond ? 'a' : 'b'`.
    for (const m of text.matchAll(/\.(increment|timing|gauge)\(\s*[^,'"()]*\?\s*'([a-z0-9_.]+)'\s*:\s*'([a-z0-9_.]+)'/g)) {
      names.set(m[2], { kind: KIND_OF_CALL[m[1]], file });
      names.set(m[3], { kind: KIND_OF_CALL[m[1]], file });
    }
  }
  return names;
}

interface DocRow {
  readonly kind: MetricKind;
  readonly tags: string[];
  readonly where: string;
  readonly prometheus: string;
}

/** The rows of docs/metrics.md's metric tables: name | type | tags | where | Prometheus | meaning. */
function documentedRows(): Map<string, DocRow> {
  const text = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
  const rows = new Map<string, DocRow>();
  for (const m of text.matchAll(/^\| `([a-z0-9_.]+)` \| (c|ms|g) \|([^|]*)\|([^|]*)\| `([^`]*)` \|/gm)) {
    const tags = m[3].trim() ? m[3].split(',').map((t) => t.trim()) : [];
    rows.set(m[1], { kind: KIND_OF_DOC[m[2]], tags, where: m[4].trim(), prometheus: m[5] });
  }
  return rows;
}

/** What the Prometheus column must say: the mapped name, its labels (tags, a family label, `worker` on a worker's gauge). */
function expectedPrometheus(name: string, row: DocRow): string {
  const prom = prometheusName(row.kind, name);
  const labels = [...row.tags];
  if (prom.label) labels.push(`${prom.label.name}="${prom.label.value}"`);
  if (row.kind === 'gauge' && row.where.startsWith('W')) labels.push('worker');
  return labels.length ? `${prom.name}{${labels.join(',')}}` : prom.name;
}

describe('docs/metrics.md', () => {
  it('lists every metric name the code emits, and no name the code no longer emits', () => {
    const emitted = emittedNames();
    const documented = documentedRows();
    const undocumented = [...emitted.keys()].filter((n) => !documented.has(n)).map((n) => `${n} (${emitted.get(n)!.file})`);
    expect(undocumented, 'emitted but not in docs/metrics.md').to.deep.equal([]);
    expect([...documented.keys()].filter((n) => !emitted.has(n)), 'in docs/metrics.md but not emitted').to.deep.equal([]);
  });

  it('gives each metric the type the code emits it as', () => {
    const documented = documentedRows();
    const wrong = [...emittedNames()].filter(([n, e]) => documented.get(n) && documented.get(n)!.kind !== e.kind).map(([n, e]) => `${n}: ${e.kind}`);
    expect(wrong).to.deep.equal([]);
  });

  it('gives each metric the Prometheus name and labels that the one name mapping makes of it', () => {
    const rows = [...documentedRows()];
    expect(rows.length).to.be.above(30);
    const wrong = rows.filter(([n, r]) => r.prometheus !== expectedPrometheus(n, r)).map(([n, r]) => `${n}: documented ${r.prometheus}, mapped ${expectedPrometheus(n, r)}`);
    expect(wrong).to.deep.equal([]);
    const byName = new Map(rows.map(([n, r]) => [n, r.prometheus]));
    // The names operators were promised.
    expect(byName.get('events.accepted')).to.equal('eventgate_events_total{stream,status="accepted"}');
    expect(byName.get('http.request')).to.equal('eventgate_http_request_duration_seconds{route,method,status}');
  });
});
