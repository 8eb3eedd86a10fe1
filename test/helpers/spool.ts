/**
 * The failed-events spool read back as `eventgate replay` reads it: through
 * lib/sink/spool.ts's readSpool, so that a test sees the entries a replay
 * would produce, parsed the same way. A line replay would skip as broken
 * fails the read here instead: a test's spool is never written by a crash.
 */
import { existsSync } from 'node:fs';
import { readSpool, type SpoolEntry } from '../../lib/sink/spool';
import { until } from './until';

/** The entries of a spool file, in file order; none when the file does not exist (nothing spooled yet). */
export async function spooled(path: string): Promise<SpoolEntry[]> {
  if (!existsSync(path)) return [];
  const entries: SpoolEntry[] = [];
  for await (const entry of readSpool(path)) entries.push(entry);
  return entries;
}

/** The spool's entries once it holds at least `n` (spooling may follow the answer, e.g. of hasty events). */
export async function spoolHolding(path: string, n: number, timeoutMs: number): Promise<SpoolEntry[]> {
  let entries: SpoolEntry[] = [];
  await until(
    async () => {
      entries = await spooled(path);
      return entries.length >= n;
    },
    timeoutMs,
    `${n} events in ${path}`,
  );
  return entries;
}
