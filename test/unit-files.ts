/**
 * The inner loop, `npm run test:unit`: prints the compiled test files that
 * need no Kafka broker, no cluster and no child process, one a line, for
 * mocha without the broker fixture (with `--others`: the rest of them).
 *
 * The split is read from the compiled tests, not kept as a list that goes
 * stale: a file is left out when it, or a test module it imports (followed
 * through dist/test/), imports node:child_process or node:cluster, names
 * the broker's address variable, or is one of the Kafka test modules, the
 * helper that runs bin/eventgate (test/helpers/eventgate-process.ts) or test/e2e/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';

const DIST_TEST = __dirname;
const NEEDS_CODE = [/require\("(node:)?(child_process|cluster)"\)/, /process\.env\.EVENTGATE_TEST_KAFKA\b/];
const NEEDS_MODULES = [join(DIST_TEST, 'kafka'), join(DIST_TEST, 'helpers', 'eventgate-process.js'), join(DIST_TEST, 'e2e')];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return testFiles(p);
    return d.name.endsWith('.test.js') ? [p] : [];
  });
}

function resolveModule(from: string, specifier: string): string | undefined {
  const target = resolve(dirname(from), specifier);
  return [`${target}.js`, join(target, 'index.js'), target].find((p) => existsSync(p) && statSync(p).isFile());
}

/** True when the compiled module `file`, or a test module it imports, needs a broker or a process. */
export function needsOutside(file: string, seen = new Map<string, boolean>()): boolean {
  const known = seen.get(file);
  if (known !== undefined) return known;
  seen.set(file, false); // an import cycle adds nothing to what the rest finds
  const code = readFileSync(file, 'utf8');
  let needs = NEEDS_MODULES.some((m) => file === m || file.startsWith(m + sep)) || NEEDS_CODE.some((re) => re.test(code));
  for (const match of needs ? [] : code.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) {
    const imported = resolveModule(file, match[1] ?? '');
    if (imported?.startsWith(DIST_TEST + sep) && needsOutside(imported, seen)) {
      needs = true;
      break;
    }
  }
  seen.set(file, needs);
  return needs;
}

/** The unit test files (`outside` false), or the others (true), sorted. */
export function unitFiles(outside = false): string[] {
  const seen = new Map<string, boolean>();
  return testFiles(DIST_TEST)
    .filter((f) => needsOutside(f, seen) === outside)
    .sort();
}

// `--others`: the files test/run.sh runs with the broker, once the unit files ran without it.
if (require.main === module) process.stdout.write(unitFiles(process.argv[2] === '--others').join('\n') + '\n');
