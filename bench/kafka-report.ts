/**
 * bench/kafka.ts's output: the rows (the file sink's, then Kafka's), each
 * Kafka row as a share of the file sink's row of the same body kind, the
 * targets of issue 13, warnings, and the JSON summary.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Kind } from './events';
import type { Measurement } from './measure';
import { MEASUREMENT_HEADER, measurementCells, table } from './report';

/** `file`: eventgate without kafka.conf, its file sink; the others produce to Kafka. */
export type Path = 'file' | 'guaranteed' | 'hasty';

export interface KafkaRow {
  readonly path: Path;
  readonly kind: Kind;
  readonly eventsPerBody: number;
  readonly m: Measurement;
}

/** Issue 13's targets for one process against the single broker: a share of the file sink's events/s, and a p50. */
interface Target {
  readonly share: number;
  readonly p50Ms?: number;
}
const TARGETS: Readonly<Record<Exclude<Path, 'file'>, Readonly<Record<Kind, Target>>>> = {
  guaranteed: { single: { share: 0.15, p50Ms: 3 }, batch: { share: 0.6 } },
  hasty: { single: { share: 0.7 }, batch: { share: 0.7 } },
};

export interface Ratio {
  readonly path: Exclude<Path, 'file'>;
  readonly kind: Kind;
  /** events/s ÷ the file sink's events/s. */
  readonly share: number | undefined;
  /** The file sink's server µs/event ÷ this row's: the same share as other load disturbs it less. */
  readonly cpuShare: number | undefined;
  readonly p50Ms: number;
  readonly target: Target;
  readonly met: boolean;
}

export function ratiosOf(rows: readonly KafkaRow[]): Ratio[] {
  const out: Ratio[] = [];
  for (const r of rows) {
    if (r.path === 'file') continue;
    const file = rows.find((f) => f.path === 'file' && f.kind === r.kind)?.m;
    const share = file && file.eventsPerS > 0 ? r.m.eventsPerS / file.eventsPerS : undefined;
    const f = file?.serverUsPerEvent;
    const e = r.m.serverUsPerEvent;
    const cpuShare = f !== undefined && e !== undefined && e > 0 ? f / e : undefined;
    const target = TARGETS[r.path][r.kind];
    const met = share !== undefined && share >= target.share && (target.p50Ms === undefined || r.m.p50Ms <= target.p50Ms);
    out.push({ path: r.path, kind: r.kind, share, cpuShare, p50Ms: r.m.p50Ms, target, met });
  }
  return out;
}

const ANSWER: Readonly<Record<Path, string>> = { file: 'after write', guaranteed: 'after delivery', hasty: '202 before produce' };
const fixed2 = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(2));

/** The measurement columns with `kafka µs/ev` after `srv µs/ev`, then the shares of the file sink. */
export function formatRows(rows: readonly KafkaRow[]): string {
  const header = [...MEASUREMENT_HEADER];
  const at = header.indexOf('srv µs/ev') + 1;
  header.splice(at, 0, 'kafka µs/ev');
  const ratios = ratiosOf(rows);
  const out = [['path', 'kind', 'answer', ...header, 'x file', 'x file cpu']];
  for (const r of rows) {
    const cells = measurementCells(r.m);
    cells.splice(at, 0, r.m.watchedUsPerEvent === undefined ? '-' : r.m.watchedUsPerEvent.toFixed(1));
    const ratio = ratios.find((x) => x.path === r.path && x.kind === r.kind);
    const shares = ratio ? [fixed2(ratio.share), fixed2(ratio.cpuShare)] : ['1', '1'];
    out.push([r.path === 'file' ? 'file sink' : r.path, `${r.kind} (${r.eventsPerBody})`, ANSWER[r.path], ...cells, ...shares]);
  }
  return table(out);
}

export function formatTargets(rows: readonly KafkaRow[]): string {
  const lines = [
    "events/s as a share of the file sink's (same run, same bodies), against issue 13's targets",
    '(set for the single broker); in brackets the share from server CPU per event:',
  ];
  for (const v of ratiosOf(rows)) {
    const cpu = v.cpuShare === undefined ? '' : ` (cpu ${v.cpuShare.toFixed(2)})`;
    const p50 = v.target.p50Ms === undefined ? '' : `, p50 ${v.p50Ms.toFixed(2)} ms <= ${v.target.p50Ms} ms`;
    lines.push(
      `  ${v.path.padEnd(10)} ${v.kind.padEnd(6)} ${fixed2(v.share)}${cpu}  target >= ${v.target.share.toFixed(2)}${p50}  ${v.met ? 'met' : 'MISSED'}`,
    );
  }
  return lines.join('\n');
}

/** Rows not to trust: failures, a generator that was the bottleneck, other load. */
export function formatWarnings(rows: readonly KafkaRow[], spinning: boolean): string {
  const out: string[] = [];
  for (const r of rows) {
    const { m } = r;
    const at = `${r.path} ${r.kind}`;
    if (m.non2xx || m.errors) {
      out.push(`${at}: ${m.non2xx} non-2xx (${JSON.stringify(m.statuses)}), ${m.errors} errors; first: ${m.firstNon2xx ?? m.firstError ?? '?'}`);
    }
    if (m.otherCpuPct !== undefined && m.otherCpuPct > 15) {
      out.push(`${at}: other processes used ${Math.round(m.otherCpuPct)}% of a core meanwhile: this row is noisy`);
    }
    if (!spinning && m.generatorCpuPct > 90) out.push(`${at}: the load generator used ${Math.round(m.generatorCpuPct)}% of its core: this row may be generator-bound`);
  }
  return out.length ? `warnings:\n  ${out.join('\n  ')}` : '';
}

export function writeJson(file: string, meta: Record<string, unknown>, rows: readonly KafkaRow[]): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...meta, rows, ratios: ratiosOf(rows) }, null, 2) + '\n');
}
