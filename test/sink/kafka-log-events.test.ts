/**
 * The `event` fields of the Kafka producer's log lines and the table of them
 * in docs/operations.md ("### Kafka producer") agree: an operator filters
 * on what the page lists.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths';

const KAFKA_DIR = join(ROOT, 'lib', 'sink', 'kafka');

function loggedEvents(): string[] {
  const events = new Set<string>();
  for (const file of readdirSync(KAFKA_DIR).filter((f) => f.endsWith('.ts'))) {
    for (const m of readFileSync(join(KAFKA_DIR, file), 'utf8').matchAll(/[{,]\s*event: '([a-z0-9_.]+)'/g)) events.add(m[1] ?? '');
  }
  return [...events].sort();
}

function documentedEvents(): string[] {
  const page = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const start = page.indexOf('### Kafka producer');
  expect(start, 'docs/operations.md has a "### Kafka producer" section').to.be.above(-1);
  const section = page.slice(start).split(/\n#{2,3} /)[0] ?? '';
  return [...section.matchAll(/^\| `([a-z0-9_.]+)` \|/gm)].map((m) => m[1] ?? '').sort();
}

describe('The Kafka producer log events', function () {
  it('are each in the table of docs/operations.md, and the table lists no other', function () {
    const logged = loggedEvents();
    expect(logged.length).to.be.above(10);
    for (const event of logged) expect(event, 'dotted snake_case under kafka.').to.match(/^kafka\.[a-z]+(_[a-z]+)*$/);
    expect(documentedEvents()).to.deep.equal(logged);
  });
});
