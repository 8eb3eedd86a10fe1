/** A small deterministic generator (mulberry32): the same strings on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` near-misses of the seeds, the same on every run: each a seed with
 * `minEdits` to `minEdits + 2` pieces written over or into it at random places.
 */
export function* nearMisses(seeds: readonly string[], pieces: readonly string[], count: number, minEdits: number): Generator<string> {
  const next = random(20261122);
  const mutate = (s: string): string => {
    const i = Math.floor(next() * (s.length + 1));
    const piece = pieces[Math.floor(next() * pieces.length)];
    return next() < 0.5 ? s.slice(0, i) + piece + s.slice(i + 1) : s.slice(0, i) + piece + s.slice(i);
  };
  for (let n = 0; n < count; n++) {
    let s = seeds[n % seeds.length];
    for (let k = minEdits + Math.floor(next() * 3); k > 0; k--) s = mutate(s);
    yield s;
  }
}
