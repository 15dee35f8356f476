import { Rng } from '#core/forest/rng.ts';

/**
 * Mergeable summaries of a capture window, so drift over a window too big for one function's
 * memory is computed partition by partition (a Step Functions Distributed Map child per
 * partition) and reduced at the end, with a stated error against the exact computation.
 *
 * A summary holds, per feature, exact moments (finite count, non-finite count, weighted sum
 * and sum of squares, min, max), and one **bottom-k reservoir of rows** shared by all features:
 * each captured row gets the key `E / w` with `E ~ Exp(1)` and `w = 1 / sampleRate` (the scored
 * rows it stands for), and the k smallest keys are kept. That is Efraimidis–Spirakis weighted
 * sampling without replacement (PPSWOR); with exponential keys the union of two summaries'
 * reservoirs cut to the k smallest keys *is* the reservoir of the union, so merging is exact and
 * order-independent, and children never coordinate.
 *
 * Given the threshold `t` (the (k+1)-th smallest key), a row of weight `w` is kept with
 * probability `1 − exp(−w·t)` (rank conditioning, Cohen & Kaplan 2007), so its Horvitz–Thompson
 * weight is `v = w / (1 − exp(−w·t))`. When every `w·t` is small, `v ≈ 1/t` for every kept row:
 * the reservoir is a uniform sample of the *scored* rows, which is what drift compares with the
 * reference. How far it is from uniform is measured, not assumed (`weightBias`).
 */

/** Exact per-feature moments of the rows summarized (weights `1 / sampleRate`). */
export interface FeatureMoments {
  /** Finite values seen. */
  readonly n: number;
  /** NaN / infinite / missing values seen. */
  readonly nonFinite: number;
  /** Σ w over finite values. */
  readonly weight: number;
  /** Σ w·x. */
  readonly sum: number;
  /** Σ w·x². */
  readonly sumSq: number;
  readonly min: number;
  readonly max: number;
}

/** One partition's (or a merge of several partitions') summary. JSON-safe: missing values are `null`. */
export interface WindowSummary {
  readonly format: 'vigil.drift-summary/1';
  readonly features: readonly string[];
  /** Reservoir capacity k. */
  readonly capacity: number;
  /** Captured rows summarized. */
  readonly rows: number;
  /** Σ w over rows: the scored rows they stand for. */
  readonly weight: number;
  /** Partitions merged into this summary. */
  readonly partitions: number;
  /**
   * Key of the (k+1)-th smallest row (the rank-conditioning threshold), `null` while fewer
   * than k+1 rows have been seen (then the reservoir holds every row).
   */
  readonly threshold: number | null;
  readonly moments: Readonly<Record<string, FeatureMoments>>;
  /** Kept rows, ascending by key. */
  readonly sample: {
    readonly keys: readonly number[];
    readonly weights: readonly number[];
    /** `values[i][j]`: feature `features[j]` of kept row i (`null` when not finite). */
    readonly values: ReadonlyArray<ReadonlyArray<number | null>>;
  };
}

/** A row as the summarizer needs it: features and the rate it was captured at. */
export interface WeightedRow {
  readonly features: Readonly<Record<string, number>>;
  /** In (0, 1]; absent → 1. */
  readonly sampleRate?: number;
}

/** Default reservoir capacity: KS error ≤ 0.014 at δ = 0.001 (see `ksErrorBound`). */
export const DEFAULT_SUMMARY_CAPACITY = 20_000;

interface Entry {
  key: number;
  weight: number;
  values: (number | null)[];
}

/** Binary max-heap on `key`, so the worst kept row is replaced in O(log k). */
class MaxHeap {
  readonly items: Entry[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Entry | undefined {
    return this.items[0];
  }
  push(e: Entry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].key >= a[i].key) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  /** Replaces the root (the largest key) and restores the heap. */
  replaceTop(e: Entry): void {
    const a = this.items;
    a[0] = e;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l].key > a[m].key) m = l;
      if (r < a.length && a[r].key > a[m].key) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i], a[m]];
      i = m;
    }
  }
}

const emptyMoments = (): { -readonly [K in keyof FeatureMoments]: FeatureMoments[K] } => ({
  n: 0,
  nonFinite: 0,
  weight: 0,
  sum: 0,
  sumSq: 0,
  min: Number.POSITIVE_INFINITY,
  max: Number.NEGATIVE_INFINITY,
});

/** Weight of a row from its capture rate; a rate outside (0, 1] is a bad capture, not a weight. */
function weightOf(rate: number | undefined): number {
  if (rate === undefined) return 1;
  if (!(rate > 0 && rate <= 1)) throw new RangeError(`sampleRate must be in (0, 1], got ${rate}`);
  return 1 / rate;
}

/**
 * Streams rows into a summary: O(features) per row, O(k) memory whatever the window size.
 * `seed` makes a partition's summary reproducible; different partitions must use different
 * seeds (their keys must be independent), e.g. a hash of the partition id.
 * @example const s = new SummaryBuilder(['cpu'], { seed: 7 }); s.add({ features: { cpu: 1 } }); s.build()
 */
export class SummaryBuilder {
  private readonly heap = new MaxHeap();
  private readonly rng: Rng;
  private readonly moments: ReturnType<typeof emptyMoments>[];
  private rows = 0;
  private weight = 0;
  /** Smallest key ever pushed out of the reservoir: the (k+1)-th smallest key so far. */
  private threshold = Number.POSITIVE_INFINITY;

  constructor(
    readonly features: readonly string[],
    readonly opts: { readonly seed: number; readonly capacity?: number },
  ) {
    const k = opts.capacity ?? DEFAULT_SUMMARY_CAPACITY;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`capacity must be a positive integer, got ${k}`);
    this.rng = new Rng(opts.seed);
    this.moments = features.map(emptyMoments);
  }

  get capacity(): number {
    return this.opts.capacity ?? DEFAULT_SUMMARY_CAPACITY;
  }

  add(row: WeightedRow): void {
    const w = weightOf(row.sampleRate);
    this.rows++;
    this.weight += w;
    const nf = this.features.length;
    for (let j = 0; j < nf; j++) {
      const v = row.features[this.features[j]];
      const m = this.moments[j];
      if (typeof v === 'number' && Number.isFinite(v)) {
        m.n++;
        m.weight += w;
        m.sum += w * v;
        m.sumSq += w * v * v;
        if (v < m.min) m.min = v;
        if (v > m.max) m.max = v;
      } else {
        m.nonFinite++;
      }
    }
    let u = this.rng.next();
    while (u === 0) u = this.rng.next();
    const key = -Math.log(u) / w;
    const full = this.heap.size >= this.capacity;
    const top = this.heap.peek();
    // Most rows of a big partition are rejected here, before anything is allocated for them.
    if (full && top && key >= top.key) {
      if (key < this.threshold) this.threshold = key;
      return;
    }
    const values: (number | null)[] = new Array(nf);
    for (let j = 0; j < nf; j++) {
      const v = row.features[this.features[j]];
      values[j] = typeof v === 'number' && Number.isFinite(v) ? v : null;
    }
    if (!full || !top) {
      this.heap.push({ key, weight: w, values });
      return;
    }
    if (top.key < this.threshold) this.threshold = top.key;
    this.heap.replaceTop({ key, weight: w, values });
  }

  build(): WindowSummary {
    const entries = this.heap.items.slice().sort((a, b) => a.key - b.key);
    return freeze(this.features, this.capacity, {
      rows: this.rows,
      weight: this.weight,
      partitions: 1,
      threshold: Number.isFinite(this.threshold) ? this.threshold : null,
      moments: this.moments,
      entries,
    });
  }
}

function freeze(
  features: readonly string[],
  capacity: number,
  s: {
    rows: number;
    weight: number;
    partitions: number;
    threshold: number | null;
    moments: readonly FeatureMoments[];
    entries: readonly Entry[];
  },
): WindowSummary {
  return {
    format: 'vigil.drift-summary/1',
    features: [...features],
    capacity,
    rows: s.rows,
    weight: s.weight,
    partitions: s.partitions,
    threshold: s.threshold,
    moments: Object.fromEntries(features.map((f, j) => [f, { ...s.moments[j] }])),
    sample: {
      keys: s.entries.map((e) => e.key),
      weights: s.entries.map((e) => e.weight),
      values: s.entries.map((e) => e.values),
    },
  };
}

/** Summarizes a whole array of rows (one partition read into memory). */
export function summarizeRows(
  features: readonly string[],
  rows: Iterable<WeightedRow>,
  opts: { readonly seed: number; readonly capacity?: number },
): WindowSummary {
  const b = new SummaryBuilder(features, opts);
  for (const r of rows) b.add(r);
  return b.build();
}

/** Thrown when summaries cannot be merged (different features or capacities, or not a summary). */
export class SummaryMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SummaryMismatchError';
  }
}

/**
 * Merges summaries: moments add up, reservoirs are cut to the k smallest keys of their union
 * (exactly the reservoir a single pass over all the rows would have kept, given the same keys),
 * and the threshold becomes the (k+1)-th smallest key seen anywhere. Associative and commutative.
 * @throws SummaryMismatchError when features or capacities differ
 */
export function mergeSummaries(summaries: readonly WindowSummary[]): WindowSummary {
  if (summaries.length === 0) throw new SummaryMismatchError('nothing to merge');
  const [first] = summaries;
  for (const s of summaries) {
    if (s.format !== 'vigil.drift-summary/1') throw new SummaryMismatchError('not a drift summary');
    if (s.capacity !== first.capacity) {
      throw new SummaryMismatchError(`capacities differ: ${s.capacity} vs ${first.capacity}`);
    }
    if (s.features.join('\u0000') !== first.features.join('\u0000')) {
      throw new SummaryMismatchError('summaries cover different features');
    }
  }
  const k = first.capacity;
  let threshold = Number.POSITIVE_INFINITY;
  let total = 0;
  for (const s of summaries) {
    if (s.threshold !== null) threshold = Math.min(threshold, s.threshold);
    total += s.sample.keys.length;
  }
  // Select on a typed copy of the keys (a native numeric sort), then gather only the k kept
  // rows: merging 100 summaries must not sort millions of objects.
  const keys = new Float64Array(total);
  let o = 0;
  for (const s of summaries) for (const key of s.sample.keys) keys[o++] = key;
  keys.sort();
  // Rows cut here were below every partition's own threshold, so the smallest of them is the
  // (k+1)-th smallest key overall unless a partition had already dropped a smaller one.
  if (total > k) threshold = Math.min(threshold, keys[k]);
  const cut = total > k ? keys[k - 1] : Number.POSITIVE_INFINITY;
  const kept: Entry[] = [];
  for (const s of summaries) {
    const { keys: sk, weights, values } = s.sample;
    for (let i = 0; i < sk.length; i++) {
      if (sk[i] <= cut) kept.push({ key: sk[i], weight: weights[i], values: values[i] as (number | null)[] });
    }
  }
  kept.sort((a, b) => a.key - b.key);
  const moments = first.features.map((f) => {
    const m = emptyMoments();
    for (const s of summaries) {
      const x = s.moments[f];
      m.n += x.n;
      m.nonFinite += x.nonFinite;
      m.weight += x.weight;
      m.sum += x.sum;
      m.sumSq += x.sumSq;
      m.min = Math.min(m.min, x.min ?? Number.POSITIVE_INFINITY);
      m.max = Math.max(m.max, x.max ?? Number.NEGATIVE_INFINITY);
    }
    return m;
  });
  return freeze(first.features, k, {
    rows: summaries.reduce((a, s) => a + s.rows, 0),
    weight: summaries.reduce((a, s) => a + s.weight, 0),
    partitions: summaries.reduce((a, s) => a + s.partitions, 0),
    threshold: Number.isFinite(threshold) ? threshold : null,
    moments,
    entries: kept.slice(0, k),
  });
}

/**
 * DKW–Massart: a uniform sample of k values has an ECDF within `sqrt(ln(2/δ) / 2k)` of the
 * population's, everywhere, with probability ≥ 1 − δ. Stated for i.i.d. draws; a sample without
 * replacement is at least as concentrated at each point (Hoeffding 1963), and the tests check
 * the bound on merged partitions. k = 20,000, δ = 0.001 → 0.0138.
 */
export function ksErrorBound(k: number, delta = 0.001): number {
  if (k <= 0) return 1;
  return Math.sqrt(Math.log(2 / delta) / (2 * k));
}

/**
 * How far the reservoir is from a uniform sample of the scored rows: the total-variation
 * distance between equal weights on the kept rows and their Horvitz–Thompson weights
 * `w / (1 − exp(−w·t))`. 0 when all rows have one capture rate and the reservoir is a strict
 * subset; with mixed rates it grows as `w·t` stops being small. Without a threshold (the
 * reservoir holds every row) the HT weights are the capture weights themselves.
 */
export function weightBias(summary: WindowSummary): number {
  const { weights } = summary.sample;
  const k = weights.length;
  if (k === 0) return 0;
  const t = summary.threshold;
  const ht = weights.map((w) => (t === null ? w : w / -Math.expm1(-w * t)));
  const total = ht.reduce((a, b) => a + b, 0);
  let tv = 0;
  for (const v of ht) tv += Math.abs(v / total - 1 / k);
  return tv / 2;
}

/** The exact weighted mean and standard deviation (ddof 0) of a feature, from its moments. */
export function momentStats(m: FeatureMoments): { readonly mean: number; readonly std: number } {
  if (m.weight <= 0) return { mean: Number.NaN, std: Number.NaN };
  const mean = m.sum / m.weight;
  const variance = Math.max(0, m.sumSq / m.weight - mean * mean);
  return { mean, std: Math.sqrt(variance) };
}

/** One feature's column of the reservoir (non-finite values as NaN, as `prepareSample` expects). */
export function sampleColumn(summary: WindowSummary, feature: string): Float64Array {
  const j = summary.features.indexOf(feature);
  const rows = summary.sample.values;
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = j < 0 ? Number.NaN : (rows[i][j] ?? Number.NaN);
  return out;
}
