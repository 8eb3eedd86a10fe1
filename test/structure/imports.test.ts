/**
 * Dependencies point one way (STYLE.md): no folder of lib/ imports a folder
 * that imports it back, the pure layers know no HTTP and no processes, and
 * nothing reaches up into the supervisor.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths';
import { findCycle, graphOf, importsOf, type Edge } from './graph';

const LIB = join(ROOT, 'lib');
/** Pure of HTTP and of processes. */
const PURE = ['schema', 'gate', 'stream', 'sink', 'event', 'pipeline', 'answer'];
const PROCESS_MODULES = ['node:http', 'node:https', 'node:cluster', 'node:child_process', 'http', 'https', 'cluster', 'child_process'];
/** Leaves: they import nothing of lib/ but the error catalogue. */
const LEAVES = ['errors', 'event'];

const shown = (edges: readonly Edge[]) => edges.map((e) => `${e.file} imports ${e.specifier}`);

describe('lib/ import structure', () => {
  const { edges, external } = importsOf(LIB);

  it('reads the imports of lib/ (the check below has something to check)', () => {
    expect(edges.length).to.be.greaterThan(50);
    expect(edges.some((e) => e.from === 'http' && e.to === 'gate')).to.equal(true);
  });

  it('has no folder-level import cycle', () => {
    const cycle = findCycle(graphOf(edges));
    expect(cycle, cycle && `cycle: ${cycle.join(' -> ')}; ${shown(edges.filter((e) => cycle.includes(e.from) && cycle.includes(e.to))).join('; ')}`).to.equal(undefined);
  });

  it('keeps schema, gate, stream, sink, event, pipeline and answer free of HTTP, processes and the supervisor', () => {
    const bad = edges.filter((e) => PURE.includes(e.from) && ['http', 'supervisor', 'service', 'cli'].includes(e.to));
    const processes = external.filter((e) => PURE.includes(e.from) && PROCESS_MODULES.includes(e.to));
    expect(shown([...bad, ...processes])).to.deep.equal([]);
  });

  it('lets nothing but the cli reach into the supervisor', () => {
    expect(shown(edges.filter((e) => e.to === 'supervisor' && e.from !== 'cli'))).to.deep.equal([]);
  });

  it('keeps errors and event leaves', () => {
    expect(shown(edges.filter((e) => LEAVES.includes(e.from) && e.to !== 'errors'))).to.deep.equal([]);
  });
});

describe('findCycle', () => {
  const g = (pairs: [string, string][]) => graphOf(pairs.map(([from, to]) => ({ from, to, file: `${from}.ts`, specifier: to })));

  it('finds a cycle and names its path', () => {
    expect(findCycle(g([['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd']]))).to.deep.equal(['a', 'b', 'c', 'a']);
  });

  it('finds a two-node cycle reached from elsewhere', () => {
    expect(findCycle(g([['x', 'gate'], ['gate', 'stream'], ['stream', 'gate']]))).to.deep.equal(['gate', 'stream', 'gate']);
  });

  it('passes an acyclic graph with shared descendants', () => {
    expect(findCycle(g([['http', 'gate'], ['http', 'sink'], ['gate', 'sink'], ['gate', 'errors'], ['sink', 'errors']]))).to.equal(undefined);
  });
});
