import { npSum, type Pooled, pooledCounts, quantileSorted } from './numeric.ts';

/**
 * 1-Wasserstein distance ∫|F_ref − F_cur| between two empirical distributions
 * (SciPy `wasserstein_distance`), from sorted inputs in one merge pass. The
 * terms are summed with NumPy's pairwise order to match SciPy to the last bits.
 */
export function wasserstein1(
  ref: Float64Array,
  cur: Float64Array,
  pooled: Pooled = pooledCounts(ref, cur),
): number {
  const n1 = ref.length;
  const n2 = cur.length;
  const N = n1 + n2;
  const terms = new Float64Array(Math.max(N - 1, 0));
  const { values, cx, cy } = pooled;
  let t = 0;
  let pi = 0;
  let pj = 0;
  for (let k = 0; k < pooled.length - 1; k++) {
    const i = cx[k];
    const j = cy[k];
    t += i - pi + (j - pj) - 1; // duplicates: consecutive deltas of 0
    terms[t++] = Math.abs(i / n1 - j / n2) * (values[k + 1] - values[k]);
    pi = i;
    pj = j;
  }
  return npSum(terms);
}

/** Bin counts of `sorted` over bins (−∞,e1), [e1,e2), …, [ek,+∞): bin index = number of edges ≤ x. */
export function binCounts(sorted: Float64Array, edges: readonly number[]): number[] {
  const counts: number[] = [];
  let prev = 0;
  for (const e of edges) {
    // number of values < e
    let lo = prev;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid] < e) lo = mid + 1;
      else hi = mid;
    }
    counts.push(lo - prev);
    prev = lo;
  }
  counts.push(sorted.length - prev);
  return counts;
}

/** Inner edges at the reference quantiles i/bins, i = 1 … bins−1 (NumPy 'linear'). Duplicates are kept. */
export function quantileEdges(refSorted: Float64Array, bins = 10): number[] {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) edges.push(quantileSorted(refSorted, i / bins));
  return edges;
}

/**
 * Jensen-Shannon distance between two count vectors (SciPy
 * `spatial.distance.jensenshannon(p, q, base)`): both normalised, zero bins
 * contribute 0, no ε.
 */
export function jensenShannon(countsRef: readonly number[], countsCur: readonly number[], base = 2): number {
  const sp = countsRef.reduce((a, b) => a + b, 0);
  const sq = countsCur.reduce((a, b) => a + b, 0);
  const k = countsRef.length;
  const left = new Float64Array(k);
  const right = new Float64Array(k);
  const relEntr = (x: number, y: number) =>
    x > 0 && y > 0 ? x * Math.log(x / y) : x === 0 && y >= 0 ? 0 : Infinity;
  for (let i = 0; i < k; i++) {
    const p = countsRef[i] / sp;
    const q = countsCur[i] / sq;
    const m = (p + q) / 2;
    left[i] = relEntr(p, m);
    right[i] = relEntr(q, m);
  }
  let js = npSum(left) + npSum(right);
  js /= Math.log(base);
  return Math.sqrt(js / 2);
}

/**
 * Population Stability Index Σ (q−p)·ln(q/p) over the given bins, with a
 * proportion whose count is 0 replaced by ε (no renormalisation).
 */
export function psi(
  countsRef: readonly number[],
  countsCur: readonly number[],
  epsilon = 1e-4,
): { value: number; terms: number[] } {
  const nr = countsRef.reduce((a, b) => a + b, 0);
  const nc = countsCur.reduce((a, b) => a + b, 0);
  const terms = countsRef.map((c, i) => {
    const p = c === 0 ? epsilon : c / nr;
    const q = countsCur[i] === 0 ? epsilon : countsCur[i] / nc;
    return (q - p) * Math.log(q / p);
  });
  return { value: npSum(terms), terms };
}
