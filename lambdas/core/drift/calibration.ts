import jStat from 'jstat';
import { jensenShannon, psi } from './distances.ts';
import type { Sample } from './sample.ts';

/** The distance tests whose vote needs a threshold: they have no p-value of their own. */
export const DISTANCE_TESTS = ['wasserstein', 'jensenShannon', 'psi'] as const;
export type DistanceTest = (typeof DISTANCE_TESTS)[number];

/** A distance strictly above its threshold votes drift. */
export type DistanceThresholds = Record<DistanceTest, number>;

/** What a threshold depends on besides the reference sample. */
export interface NullQuery {
  /** Current values the statistic is computed on. */
  readonly nCurrent: number;
  /** False-alarm rate of each distance vote (already divided by the feature count under a correction). */
  readonly alpha: number;
  /** Reference-quantile bins of JS and PSI. */
  readonly bins: number;
  /** Floor of the reference standard deviation when normalising Wasserstein (default 0.001). */
  readonly stdFloor?: number;
}

/** Where a feature's distance thresholds come from; `evaluateDrift` takes one (default: {@link defaultCalibrator}). */
export interface NullCalibrator {
  thresholds(reference: Sample, query: NullQuery): DistanceThresholds;
}

/** Tuning of the bootstrap null. */
export interface BootstrapOptions {
  /** Bootstrap draws per reference and size bucket (B = 299: (B + 1)·α is whole at α = 0.05 and 0.01). @default 299 */
  readonly draws?: number;
  /** Largest reference and current sizes simulated; larger ones are scaled (see {@link bootstrapCalibrator}). @default 2000 */
  readonly maxSize?: number;
  /** Seed of the draws (thresholds are reproducible). @default 0x5eed */
  readonly seed?: number;
}

/**
 * Seeded uniform integers in [0, k) (mulberry32, one 32-bit step per draw): the bootstrap's hot
 * loop draws millions of indices, and its quality needs are modest (no cryptographic use).
 */
function indexSource(seed: number): (k: number) => number {
  let a = seed >>> 0;
  return (k) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * k);
  };
}

/** Sorted draws of √n_eff · statistic under the null, one array per distance. */
type NullDraws = Record<DistanceTest, Float64Array>;

/** n_eff = m·n/(m+n): the two-sample sample size every distance's null spread scales with (1/√n_eff). */
export const effectiveSize = (m: number, n: number): number => (m * n) / (m + n);

/**
 * Size bucket of a current window: exact up to 64 rows, then quarter-octaves (2^(k/4), ≤ 19 % wide).
 * Thresholds are simulated once per reference and bucket, at the bucket's lower edge.
 */
export function sizeBucket(n: number): number {
  if (n <= 64) return Math.max(2, Math.floor(n));
  return Math.floor(2 ** (Math.floor(4 * Math.log2(n)) / 4));
}

/** `size` values spread over the ascending `sorted` by evenly spaced order statistics (its quantile shape kept). */
function thin(sorted: Float64Array, size: number): Float64Array {
  if (sorted.length <= size) return sorted;
  const out = new Float64Array(size);
  for (let i = 0; i < size; i++) out[i] = sorted[Math.floor(((i + 0.5) * sorted.length) / size)];
  return out;
}

/** NumPy 'linear' quantile of a sample given as counts over ascending atoms (`prefix[k]` = values in atoms < k). */
function quantileOfCounts(atoms: Float64Array, prefix: Int32Array, total: number, q: number): number {
  const h = (total - 1) * q;
  const j = Math.floor(h);
  const g = h - j;
  const at = (idx: number) => {
    // First atom k with prefix[k+1] > idx.
    let lo = 0;
    let hi = atoms.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (prefix[mid + 1] > idx) hi = mid;
      else lo = mid + 1;
    }
    return atoms[lo];
  };
  const a = at(j);
  const b = at(Math.min(j + 1, total - 1));
  return g < 0.5 ? a + (b - a) * g : b - (b - a) * (1 - g);
}

/** Number of atoms with a value < x. */
function atomsBelow(atoms: Float64Array, x: number): number {
  let lo = 0;
  let hi = atoms.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (atoms[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Simulates the three distances between two samples drawn from the reference's own distribution
 * (a two-sample bootstrap: both sides resampled, so both sides' noise is in the null), `draws` times.
 * Both resamples are kept as counts over the reference's (thinned) atoms: no sort per draw.
 */
function simulateNull(
  atoms: Float64Array,
  m: number,
  n: number,
  bins: number,
  stdFloor: number,
  draws: number,
  seed: number,
): NullDraws {
  const index = indexSource(seed);
  const A = atoms.length;
  const cr = new Int32Array(A);
  const cc = new Int32Array(A);
  const pr = new Int32Array(A + 1);
  const pc = new Int32Array(A + 1);
  const scale = Math.sqrt(effectiveSize(m, n));
  const out: NullDraws = {
    wasserstein: new Float64Array(draws),
    jensenShannon: new Float64Array(draws),
    psi: new Float64Array(draws),
  };
  const countsRef = new Array<number>(bins).fill(0);
  const countsCur = new Array<number>(bins).fill(0);
  for (let d = 0; d < draws; d++) {
    cr.fill(0);
    cc.fill(0);
    for (let i = 0; i < m; i++) cr[index(A)]++;
    for (let i = 0; i < n; i++) cc[index(A)]++;
    let sum = 0;
    for (let k = 0; k < A; k++) {
      pr[k + 1] = pr[k] + cr[k];
      pc[k + 1] = pc[k] + cc[k];
      sum += cr[k] * atoms[k];
    }
    const mean = sum / m;
    let ss = 0;
    let w = 0;
    for (let k = 0; k < A; k++) {
      const dv = atoms[k] - mean;
      ss += cr[k] * dv * dv;
      if (k < A - 1) w += Math.abs(pr[k + 1] / m - pc[k + 1] / n) * (atoms[k + 1] - atoms[k]);
    }
    const std = Math.sqrt(ss / m);
    out.wasserstein[d] = (scale * w) / Math.max(std, stdFloor);
    // Bins (−∞,e1), [e1,e2), …, [e_{k−1},+∞) at the resampled reference's quantiles, as `featureStats`.
    let prevR = 0;
    let prevC = 0;
    for (let b = 1; b < bins; b++) {
      const below = atomsBelow(atoms, quantileOfCounts(atoms, pr, m, b / bins));
      countsRef[b - 1] = pr[below] - prevR;
      countsCur[b - 1] = pc[below] - prevC;
      prevR = pr[below];
      prevC = pc[below];
    }
    countsRef[bins - 1] = m - prevR;
    countsCur[bins - 1] = n - prevC;
    out.jensenShannon[d] = scale * jensenShannon(countsRef, countsCur, 2);
    // PSI is a divergence (∝ squared distance): its null spread scales with 1/n_eff.
    out.psi[d] = scale * scale * psi(countsRef, countsCur).value;
  }
  for (const t of DISTANCE_TESTS) out[t].sort();
  return out;
}

/**
 * The (1 − α) quantile of sorted null draws, as a Monte Carlo test's critical value: the
 * ⌈(1 − α)(B + 1)⌉-th draw, so that "statistic > threshold" has level ≤ α when the null is right.
 * When α·(B + 1) < 1 the draws do not reach that far (e.g. α/50 under a Bonferroni correction):
 * a gamma fitted to the draws' mean and variance gives the tail instead, never below the largest draw.
 */
export function nullQuantile(sorted: Float64Array, alpha: number): number {
  const B = sorted.length;
  if (alpha * (B + 1) >= 1) {
    const k = Math.ceil((1 - alpha) * (B + 1));
    return sorted[Math.min(B, k) - 1];
  }
  let mean = 0;
  for (const v of sorted) mean += v;
  mean /= B;
  let v2 = 0;
  for (const v of sorted) v2 += (v - mean) ** 2;
  v2 /= B - 1;
  if (!(v2 > 0)) return sorted[B - 1];
  const shape = (mean * mean) / v2;
  const scale = v2 / mean;
  return Math.max(sorted[B - 1], jStat.gamma.inv(1 - alpha, shape, scale));
}

/**
 * Size-aware distance thresholds from a two-sample bootstrap of the reference, cached in memory.
 *
 * A fixed distance threshold (Evidently's 0.1) sits inside sampling noise at small n and far above
 * it at large n, so the vote's false-alarm rate depended on the window size. Here each distance
 * votes when it exceeds the (1 − α) quantile of its own null distribution at the actual sizes:
 * reference (size m) and current (size n) both resampled from the reference. Every distance's null
 * spread shrinks as 1/√n_eff (n_eff = m·n/(m+n); PSI as 1/n_eff), so draws are stored as
 * √n_eff · distance and one simulation serves a whole size bucket; sizes above `maxSize` are
 * simulated at `maxSize` (the reference thinned to evenly spaced order statistics) and scaled.
 *
 * Cost: `draws` × O(min(m, maxSize) + min(n, maxSize)) per reference sample and size bucket, once per
 * process: the cache is keyed by the `Sample` object, which `buildDriftReport` keeps per manifest.
 */
export function bootstrapCalibrator(options: BootstrapOptions = {}): NullCalibrator {
  const draws = options.draws ?? 299;
  const maxSize = options.maxSize ?? 2000;
  const seed = options.seed ?? 0x5eed;
  const cache = new WeakMap<Sample, Map<string, NullDraws>>();
  return {
    thresholds(reference, query) {
      const m = reference.n;
      const n = query.nCurrent;
      const stdFloor = query.stdFloor ?? 0.001;
      const mSim = Math.min(m, maxSize);
      const nSim = Math.min(sizeBucket(n), maxSize);
      const key = `${nSim}|${query.bins}|${stdFloor}`;
      let perRef = cache.get(reference);
      if (!perRef) {
        perRef = new Map();
        cache.set(reference, perRef);
      }
      let nul = perRef.get(key);
      if (!nul) {
        const atoms = thin(reference.sorted, mSim);
        // Tied values stay repeated atoms, so a uniform index draws each value with its multiplicity.
        nul = simulateNull(atoms, mSim, nSim, query.bins, stdFloor, draws, seed);
        perRef.set(key, nul);
      }
      const s = Math.sqrt(effectiveSize(m, n));
      return {
        wasserstein: nullQuantile(nul.wasserstein, query.alpha) / s,
        jensenShannon: nullQuantile(nul.jensenShannon, query.alpha) / s,
        psi: nullQuantile(nul.psi, query.alpha) / (s * s),
      };
    },
  };
}

/** The process-wide calibrator `evaluateDrift` uses unless given another. */
export const defaultCalibrator: NullCalibrator = bootstrapCalibrator();
