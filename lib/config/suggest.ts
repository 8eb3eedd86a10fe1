/** "Did you mean": the known name nearest to a misspelt one, if it is near enough to be a typo. */

/** Edit distance (insert, delete, replace, swap of neighbours). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The nearest of `known` to `name`: at most a third of its length away
 * (and at least 2 edits allowed), compared without case and with `-`, `_`
 * and `.` alike, so that `max-body-size` finds `max_body_size`.
 */
export function nearest(name: string, known: Iterable<string>): string | undefined {
  const fold = (s: string) => s.toLowerCase().replace(/[-_.]/g, '_');
  const target = fold(name);
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const dist = distance(target, fold(k));
    if (dist < bestDistance && dist <= limit) {
      best = k;
      bestDistance = dist;
    }
  }
  return best;
}

/** `; did you mean x?` or nothing. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const n = nearest(name, known);
  return n === undefined ? '' : `; did you mean ${n}?`;
}
