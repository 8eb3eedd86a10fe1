/**
 * docs/operations.md's "Log events" tables against lib/log-events.ts, as
 * errors.md is against the catalogue: each event a line can carry is
 * documented, each documented event exists, and each is used by a line.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOG_EVENTS } from '../lib/log-events';
import { ROOT } from './helpers/paths';

/** The event names of the tables of the section, as written: `worker.listening`. */
function documented(): string[] {
  const text = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const start = text.indexOf('\n## Log events\n');
  const end = text.indexOf('\n## ', start + 1);
  expect(start, 'docs/operations.md has a "## Log events" section').to.be.greaterThan(0);
  return [...text.slice(start, end).matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]);
}

function libSources(dir = join(ROOT, 'lib')): string {
  return readdirSync(dir, { withFileTypes: true })
    .map((d) => (d.isDirectory() ? libSources(join(dir, d.name)) : d.name.endsWith('.ts') && d.name !== 'log-events.ts' ? readFileSync(join(dir, d.name), 'utf8') : ''))
    .join('\n');
}

describe('log events', () => {
  it('are named in dotted snake_case, each once', () => {
    expect(LOG_EVENTS.length).to.be.greaterThan(50);
    expect(new Set(LOG_EVENTS).size, 'no name listed twice').to.equal(LOG_EVENTS.length);
    // config_notes and memory_budget predate the dots (README.md names them).
    for (const e of LOG_EVENTS) expect(e, e).to.match(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/);
  });

  it('are each documented in docs/operations.md, once', () => {
    const docs = documented();
    expect(new Set(docs).size, 'no event documented twice').to.equal(docs.length);
    expect(LOG_EVENTS.filter((e) => !docs.includes(e)), 'events missing from the docs').to.deep.equal([]);
  });

  it('are all that docs/operations.md documents', () => {
    const known: readonly string[] = LOG_EVENTS;
    expect(documented().filter((e) => !known.includes(e)), 'documented events no line carries').to.deep.equal([]);
  });

  it('are each carried by a line of lib/', () => {
    const code = libSources();
    expect(LOG_EVENTS.filter((e) => !code.includes(`'${e}'`)), 'events no line of lib/ names').to.deep.equal([]);
  });
});
