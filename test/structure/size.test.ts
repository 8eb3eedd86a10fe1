/**
 * Files stay small, with one job each (STYLE.md): no source file of lib/ is
 * over MAX_LINES lines. One that grows past it is a sign that it holds two
 * jobs; split it by responsibility rather than raise the limit.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/paths';

const LIB = join(ROOT, 'lib');
const MAX_LINES = 350;

/** Lines as `wc -l` counts them for a file that ends with a newline. */
function lineCount(text: string): number {
  if (text === '') return 0;
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f))
    .sort();
}

describe('lib/ file sizes', () => {
  const sizes = sourceFiles(LIB).map((file) => ({ file: relative(ROOT, file), lines: lineCount(readFileSync(file, 'utf8')) }));

  it('reads every source file of lib/ (the check below has something to check)', () => {
    expect(sizes.length).to.be.greaterThan(50);
    expect(sizes.map((s) => s.file)).to.include(join('lib', 'sink', 'kafka', 'producer.ts'));
    expect(sizes.every((s) => s.lines > 0)).to.equal(true);
  });

  it(`has no file over ${MAX_LINES} lines`, () => {
    const over = sizes.filter((s) => s.lines > MAX_LINES).map((s) => `${s.file}: ${s.lines} lines`);
    expect(over, `over ${MAX_LINES} lines: ${over.join(', ')}`).to.deep.equal([]);
  });

  it('counts lines as wc -l does', () => {
    expect(lineCount('')).to.equal(0);
    expect(lineCount('a\n')).to.equal(1);
    expect(lineCount('a\nb')).to.equal(2);
    expect(lineCount('a\n\nb\n')).to.equal(3);
  });
});
