/**
 * A log-linear latency histogram in the spirit of HdrHistogram: fixed memory, O(1) record, and
 * every recorded value kept to within 1/SUB_BUCKETS (0.8%) of its true value, whatever its size.
 *
 * Values are non-negative integers (the benches record microseconds). Values below 2*SUB_BUCKETS
 * get one bucket each (exact). Above, each power-of-two range [2^m, 2^(m+1)) is split into
 * SUB_BUCKETS equal buckets of width 2^(m-P):
 *
 *   shift = max(0, highestBit(v) - P)       index = shift * SUB_BUCKETS + (v >> shift)
 *
 * so indexes are contiguous: [0, 256) exact, [256, 384) covers 256..511 in steps of 2, and so on.
 * A percentile is the highest value of the bucket holding the rank's value (as HdrHistogram's
 * getValueAtPercentile), capped by the exact maximum; min and max are exact.
 */

const P = 7;
export const SUB_BUCKETS = 1 << P;
/** Values are clamped to [0, MAX_VALUE] (2^40 us: 12 days). */
export const MAX_VALUE = 2 ** 40 - 1;
const BUCKETS = (40 - P + 1) * SUB_BUCKETS;

function highestBit(v: number): number {
  return v < 2 ** 32 ? 31 - Math.clz32(v) : 63 - Math.clz32(Math.floor(v / 2 ** 32));
}

export function bucketOf(v: number): number {
  if (v < 2 * SUB_BUCKETS) return v;
  const shift = highestBit(v) - P;
  return shift * SUB_BUCKETS + Math.floor(v / 2 ** shift);
}

/** The smallest and largest value that land in bucket `i`. */
export function bucketRange(i: number): [number, number] {
  if (i < 2 * SUB_BUCKETS) return [i, i];
  const shift = Math.floor(i / SUB_BUCKETS) - 1;
  const low = (i - shift * SUB_BUCKETS) * 2 ** shift;
  return [low, low + 2 ** shift - 1];
}

/** The percentiles the benches print and chart ("max" is 100). */
export const STANDARD_PERCENTILES = [50, 90, 99, 99.9, 99.99, 100] as const;

export interface HistogramJson {
  count: number;
  min: number;
  max: number;
  sum: number;
  /** Non-empty buckets as [lowest value, count], in order. */
  buckets: [number, number][];
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  min = Infinity;
  max = 0;
  sum = 0;

  record(value: number, times = 1): void {
    const v = Math.min(MAX_VALUE, Math.max(0, Math.round(value)));
    this.counts[bucketOf(v)]! += times;
    this.count += times;
    this.sum += v * times;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  add(other: Histogram): void {
    if (other.count === 0) return;
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  /**
   * The value at or below which `percentile`% of the recorded values fall (NaN when empty):
   * the value of rank ceil(percentile/100 * count), reported as its bucket's highest value.
   */
  valueAt(percentile: number): number {
    if (this.count === 0) return NaN;
    if (percentile >= 100) return this.max;
    if (percentile <= 0) return this.min;
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, bucketRange(i)[1]));
    }
    return this.max;
  }

  /** { 50: v, 90: v, ..., 100: max } for the given percentiles. */
  percentiles(ps: readonly number[] = STANDARD_PERCENTILES): Record<string, number> {
    return Object.fromEntries(ps.map((p) => [String(p), this.valueAt(p)]));
  }

  toJSON(): HistogramJson {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) buckets.push([bucketRange(i)[0], this.counts[i]!]);
    return { count: this.count, min: this.count ? this.min : 0, max: this.max, sum: this.sum, buckets };
  }

  static fromJSON(j: HistogramJson): Histogram {
    const h = new Histogram();
    for (const [v, n] of j.buckets) h.counts[bucketOf(v)]! += n;
    h.count = j.count;
    h.min = j.count ? j.min : Infinity;
    h.max = j.max;
    h.sum = j.sum;
    return h;
  }
}
