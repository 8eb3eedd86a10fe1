import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { needsOutside, unitFiles } from './unit-files';

const compiled = (name: string) => join(__dirname, name);

/** Every compiled test file under `dir`, found apart from unit-files.ts's own walk. */
function allTests(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => join(dir, f));
}

describe('the unit split (npm run test:unit)', () => {
  it('leaves out a test that talks to the Kafka broker', () => {
    expect(needsOutside(compiled('sink/kafka.test.js'))).to.equal(true);
  });

  it('leaves out a test that reaches child processes only through a helper it imports', () => {
    const source = readFileSync(compiled('supervisor/shutdown.test.js'), 'utf8');
    expect(source).not.to.match(/require\("(node:)?(child_process|cluster)"\)/);
    expect(needsOutside(compiled('supervisor/shutdown.test.js'))).to.equal(true);
  });

  it('keeps in-process tests, and itself', () => {
    const unit = unitFiles();
    expect(unit).to.include(compiled('schema/resolve.test.js'));
    expect(unit).to.include(compiled('http/events.test.js'));
    expect(unit).to.include(__filename);
    expect(unit.filter((f) => f.includes('/e2e/'))).to.deep.equal([]);
  });

  it('runs every test file either as a unit or with the broker, never both', () => {
    const unit = unitFiles();
    const others = unitFiles(true);
    expect(others).to.include(compiled('sink/kafka.test.js'));
    expect(others.filter((f) => unit.includes(f))).to.deep.equal([]);
    expect([...unit, ...others].sort()).to.deep.equal(allTests(__dirname).sort());
  });
});
