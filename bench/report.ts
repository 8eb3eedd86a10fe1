/** Printing the results: a table, the ratios to the ceiling against the targets, and the JSON summary. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Kind } from './events';
import type { Measurement } from './measure';

/** Share of the ceiling's events/s that eventgate should reach, in one process (issue 13's file sink row). */
export const TARGETS: Readonly<Record<Kind, number>> = { single: 0.6, batch: 0.4 };

export interface Scenario {
  readonly set: string;
  readonly kind: Kind;
  readonly eventsPerBody: number;
  readonly meanBodyBytes: number;
  readonly ceiling: Measurement;
  readonly eventgate: Measurement;
  /** Bytes eventgate's file sink wrote in its measurement (warm-up included). */
  readonly sinkBytes: number;
}

export interface Verdict {
  readonly set: string;
  readonly kind: Kind;
  readonly ratio: number;
  /** The same share computed from server CPU per event (undefined without /proc). */
  readonly cpuRatio: number | undefined;
  readonly target: number;
  readonly met: boolean;
}

export function verdictOf(s: Scenario): Verdict {
  const ratio = s.ceiling.eventsPerS > 0 ? s.eventgate.eventsPerS / s.ceiling.eventsPerS : 0;
  const target = TARGETS[s.kind];
  const c = s.ceiling.serverUsPerEvent;
  const e = s.eventgate.serverUsPerEvent;
  const cpuRatio = c !== undefined && e !== undefined && e > 0 ? c / e : undefined;
  return { set: s.set, kind: s.kind, ratio, cpuRatio, target, met: ratio >= target };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (Number.isNaN(n) ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const pct = (n: number | undefined) => (n === undefined ? '-' : `${Math.round(n)}%`);

/** Aligned columns: the first three left-aligned, the rest right-aligned; rows[0] is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

/** The header cells of measurementCells. */
export const MEASUREMENT_HEADER = ['req/s', 'events/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'srv cpu', 'srv µs/ev', 'gen cpu', 'other'];

/** One measurement's cells of the table, after the row's labels. */
export function measurementCells(m: Measurement): string[] {
  return [
    int(m.requestsPerS),
    int(m.eventsPerS),
    ms(m.p50Ms),
    ms(m.p99Ms),
    String(m.non2xx),
    String(m.errors),
    pct(m.serverCpuPct),
    m.serverUsPerEvent === undefined ? '-' : m.serverUsPerEvent.toFixed(1),
    pct(m.generatorCpuPct),
    pct(m.otherCpuPct),
  ];
}

export function formatTable(scenarios: readonly Scenario[]): string {
  const rows = [['set', 'kind', 'server', ...MEASUREMENT_HEADER]];
  for (const s of scenarios) {
    for (const m of [s.ceiling, s.eventgate]) {
      rows.push([s.set, `${s.kind} (${s.eventsPerBody}, ${int(s.meanBodyBytes)} B)`, m.server, ...measurementCells(m)]);
    }
  }
  return table(rows);
}

export function formatVerdicts(scenarios: readonly Scenario[]): string {
  const lines = [
    'eventgate events/s as a share of the ceiling (targets for one process);',
    'in brackets the same share from server CPU per event, which other load disturbs less:',
  ];
  for (const s of scenarios) {
    const v = verdictOf(s);
    const cpu = v.cpuRatio === undefined ? '' : ` (cpu ${v.cpuRatio.toFixed(2)})`;
    lines.push(`  ${v.set.padEnd(5)} ${v.kind.padEnd(6)} ${v.ratio.toFixed(2)}${cpu}  target >= ${v.target.toFixed(2)}  ${v.met ? 'met' : 'MISSED'}`);
  }
  return lines.join('\n');
}

/** Things that make a row untrustworthy: failures, and a generator that was itself the bottleneck. */
export function formatWarnings(scenarios: readonly Scenario[], spinning: boolean): string {
  const out: string[] = [];
  for (const s of scenarios) {
    for (const m of [s.ceiling, s.eventgate]) {
      const at = `${s.set} ${s.kind} ${m.server}`;
      if (m.errors > 0) out.push(`${at}: ${m.errors} errors, first: ${m.firstError ?? '?'}`);
      if (m.non2xx > 0) out.push(`${at}: ${m.non2xx} non-2xx (${JSON.stringify(m.statuses)}), first:\n    ${(m.firstNon2xx ?? '').replace(/\r?\n/g, '\n    ')}`);
      if (m.otherCpuPct !== undefined && m.otherCpuPct > 15) {
        out.push(`${at}: other processes used ${pct(m.otherCpuPct)} of a core meanwhile: this row is noisy, rerun on a quiet machine`);
      }
      if (!spinning && m.generatorCpuPct > 90) out.push(`${at}: the load generator used ${pct(m.generatorCpuPct)} of its core: this row may be generator-bound`);
    }
  }
  for (const s of scenarios) {
    // The sink holds at least the measured window's events (and the warm-up's): far less means it dropped some.
    const expected = s.eventgate.eventsPerS * s.eventgate.seconds * (s.meanBodyBytes / s.eventsPerBody);
    if (s.sinkBytes < expected / 2) out.push(`${s.set} ${s.kind} eventgate: the file sink holds ${int(s.sinkBytes)} bytes, expected about ${int(expected)}`);
  }
  return out.length ? `warnings:\n  ${out.join('\n  ')}` : '';
}

export function writeJson(file: string, meta: Record<string, unknown>, scenarios: readonly Scenario[]): void {
  mkdirSync(dirname(file), { recursive: true });
  const summary = { ...meta, scenarios, verdicts: scenarios.map(verdictOf) };
  writeFileSync(file, JSON.stringify(summary, null, 2) + '\n');
}
