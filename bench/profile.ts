/**
 * Summarizes a V8 .cpuprofile (from `--server-node-args=--cpu-prof ...`):
 * where the time went, by area, and the top functions by self and by
 * inclusive time. `node dist/bench/profile.js FILE.cpuprofile [N]`
 */
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const REPO = resolve(__dirname, '..', '..');

function where(node: ProfileNode): string {
  const { url, lineNumber } = node.callFrame;
  if (!url) return '';
  const path = url.startsWith('file://') ? relative(REPO, url.slice(7)) : url;
  return `${path}:${lineNumber + 1}`;
}

function keyOf(node: ProfileNode): string {
  const name = node.callFrame.functionName || '(anonymous)';
  const at = where(node);
  return at ? `${name} ${at}` : name;
}

/** Coarse areas, to see at a glance how much is ours. */
function areaOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (url.includes('/dist/lib/')) return 'eventgate (dist/lib)';
  if (url.includes('/node_modules/')) return `node_modules/${url.split('/node_modules/')[1].split('/')[0]}`;
  if (url.startsWith('node:')) return url.split('/')[0] === 'node:internal' ? `node:${url.split('/')[1]}` : url;
  if (!url && functionName.startsWith('(')) return functionName;
  if (!url) return 'native / generated (e.g. ajv validators, JSON)';
  return url;
}

function top(map: Map<string, number>, total: number, n: number): string {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, ms]) => `  ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(6)} ms  ${k}`)
    .join('\n');
}

function main(): void {
  const [file, nArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: node dist/bench/profile.js FILE.cpuprofile [N]');
  const n = Number(nArg ?? 25);
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of prof.nodes) for (const c of node.children ?? []) parent.set(c, node.id);

  const selfMs = new Map<number, number>();
  prof.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000));
  let total = 0;
  for (const ms of selfMs.values()) total += ms;

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const areas = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (!node) continue;
    const k = keyOf(node);
    self.set(k, (self.get(k) ?? 0) + ms);
    areas.set(areaOf(node), (areas.get(areaOf(node)) ?? 0) + ms);
    // Each function on the stack once, however often it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const a = byId.get(at);
      if (a) seen.add(keyOf(a));
    }
    for (const s of seen) inclusive.set(s, (inclusive.get(s) ?? 0) + ms);
  }
  process.stdout.write(
    `${file}: ${total.toFixed(0)} ms sampled\n\nby area (self time):\n${top(areas, total, n)}\n\n` +
      `top ${n} by self time:\n${top(self, total, n)}\n\ntop ${n} by inclusive time:\n${top(inclusive, total, n)}\n`,
  );
}

main();
