import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root, whether tests run compiled from dist/ or not. */
export const ROOT = ((): string => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('dist')) dir = dirname(dir);
  return dir;
})();
