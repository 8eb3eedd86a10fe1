/**
 * A fixed-size log-linear latency histogram (HdrHistogram's layout, 128
 * sub-buckets per power of two: under 0.8% error). Values are microseconds;
 * recording is O(1) and allocates nothing, so it does not disturb the load
 * generator. Counts travel between processes as a plain number array.
 */
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS;
/** Enough buckets for values up to 2^31 µs (about 35 minutes). */
const BUCKETS = (31 - SUB_BITS + 1) * SUB + SUB;

function indexOf(us: number): number {
  const v = us < 0 ? 0 : us >= 0x7fffffff ? 0x7ffffffe : Math.floor(us);
  if (v < 2 * SUB) return v;
  const shift = 31 - Math.clz32(v) - SUB_BITS;
  return shift * SUB + (v >>> shift);
}

function lowestOf(index: number): number {
  if (index < 2 * SUB) return index;
  const shift = (index >>> SUB_BITS) - 1;
  return (index - shift * SUB) * 2 ** shift;
}

export class Histogram {
  readonly counts: Uint32Array;
  total = 0;

  constructor(counts?: readonly number[]) {
    this.counts = new Uint32Array(BUCKETS);
    if (counts) {
      this.counts.set(counts.slice(0, BUCKETS));
      for (const c of counts) this.total += c;
    }
  }

  record(us: number): void {
    this.counts[indexOf(us)]++;
    this.total++;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }

  /** Latency in µs at quantile q (0..1): the middle of the bucket it falls in. */
  quantile(q: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return (lowestOf(i) + lowestOf(i + 1)) / 2;
    }
    return NaN;
  }

  toArray(): number[] {
    return Array.from(this.counts);
  }
}
