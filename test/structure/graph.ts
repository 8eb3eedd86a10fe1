/**
 * The folder-level import graph of lib/, read from its TypeScript sources:
 * a node is a folder of lib/ (lib/http/routes counts as http) or a file at
 * its top (service, cli, errors, ...).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export type Graph = ReadonlyMap<string, ReadonlySet<string>>;

/** Every import an edge, with the file that makes it, for messages. */
export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly file: string;
  readonly specifier: string;
}

// import ... from '...', export ... from '...', import '...', require('...'), import('...')
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** The node of a path inside lib/. */
export function nodeOf(libDir: string, path: string): string {
  const [first, ...rest] = relative(libDir, path).split(sep);
  return rest.length === 0 ? first.replace(/\.ts$/, '') : first;
}

/** Every import of every file under `libDir`: relative ones as edges between nodes, others (node:http, npm) by name. */
export function importsOf(libDir: string): { edges: Edge[]; external: Edge[] } {
  const edges: Edge[] = [];
  const external: Edge[] = [];
  for (const file of sources(libDir)) {
    const text = readFileSync(file, 'utf8');
    const from = nodeOf(libDir, file);
    for (const m of text.matchAll(SPECIFIER)) {
      const specifier = m[1];
      const rel = relative(libDir, file);
      if (!specifier.startsWith('.')) {
        external.push({ from, to: specifier, file: rel, specifier });
        continue;
      }
      const target = resolve(dirname(file), specifier);
      if (relative(libDir, target).startsWith('..')) continue;
      const to = nodeOf(libDir, target);
      if (to !== from) edges.push({ from, to, file: rel, specifier });
    }
  }
  return { edges, external };
}

export function graphOf(edges: readonly Edge[]): Graph {
  const g = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!g.has(e.from)) g.set(e.from, new Set());
    if (!g.has(e.to)) g.set(e.to, new Set());
    g.get(e.from)?.add(e.to);
  }
  return g;
}

/** A cycle as the list of its nodes (first repeated at the end), or undefined when the graph has none. */
export function findCycle(graph: Graph): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (state.get(next) === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    if (state.get(node) === undefined) {
      const found = visit(node);
      if (found) return found;
    }
  }
  return undefined;
}
