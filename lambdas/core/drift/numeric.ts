/**
 * Small numeric helpers shared by the drift statistics. Several of them copy
 * NumPy's exact floating-point behaviour (pairwise summation, `lerp` in
 * `np.quantile`, Python's float floor division) because the reference vectors
 * were produced by NumPy/SciPy and we want bit-for-bit agreement where cheap.
 */

/**
 * NumPy's pairwise summation (`np.add.reduce` on a contiguous float64 array):
 * blocks of ≤ 128 summed with 8 accumulators, larger runs split in halves
 * whose length is a multiple of 8. Error grows as O(log n) instead of O(n).
 */
export function npSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = -0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= 128) {
    let r0 = a[start];
    let r1 = a[start + 1];
    let r2 = a[start + 2];
    let r3 = a[start + 3];
    let r4 = a[start + 4];
    let r5 = a[start + 5];
    let r6 = a[start + 6];
    let r7 = a[start + 7];
    let i = 8;
    const end = n - (n % 8);
    for (; i < end; i += 8) {
      const k = start + i;
      r0 += a[k];
      r1 += a[k + 1];
      r2 += a[k + 2];
      r3 += a[k + 3];
      r4 += a[k + 4];
      r5 += a[k + 5];
      r6 += a[k + 6];
      r7 += a[k + 7];
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return npSum(a, start, n2) + npSum(a, start + n2, n - n2);
}

/** `np.mean` (pairwise sum divided by n). NaN for an empty array. */
export function npMean(a: ArrayLike<number>): number {
  return a.length === 0 ? Number.NaN : npSum(a) / a.length;
}

/** `np.var(a, ddof)`: two-pass, pairwise sums, like NumPy. */
export function npVar(a: ArrayLike<number>, ddof = 0, mean = npMean(a)): number {
  const n = a.length;
  if (n - ddof <= 0) return Number.NaN;
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = a[i] - mean;
    sq[i] = d * d;
  }
  return npSum(sq) / (n - ddof);
}

/** First index i with sorted[i] >= x (`searchsorted(side='left')`). */
export function lowerBound(sorted: ArrayLike<number>, x: number, lo = 0, hi = sorted.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i with sorted[i] > x (`searchsorted(side='right')`). */
export function upperBound(sorted: ArrayLike<number>, x: number, lo = 0, hi = sorted.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `np.quantile(sorted, q, method='linear')`, shared with the model package's deciles. */
export { quantileSorted } from '#core/stats.ts';

/** Python's float floor division `a // b` (fmod based), exact where `Math.floor(a / b)` may round up. */
export function pyFloorDiv(a: number, b: number): number {
  const mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0 && b < 0 !== mod < 0) div -= 1;
  if (div === 0) return 0;
  let floordiv = Math.floor(div);
  if (div - floordiv > 0.5) floordiv += 1;
  return floordiv;
}

/** Greatest common divisor of two non-negative integers. */
export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * The distinct pooled values of two ascending arrays with, for each, the
 * number of x and y elements ≤ it (right-continuous ECDF numerators). Built
 * once per feature and shared by KS, Wasserstein, Anderson-Darling and CvM.
 */
export interface Pooled {
  readonly values: Float64Array;
  readonly cx: Int32Array;
  readonly cy: Int32Array;
  readonly length: number;
  readonly nx: number;
  readonly ny: number;
}

/** Builds `Pooled` in one merge pass, O(n1 + n2). */
export function pooledCounts(x: ArrayLike<number>, y: ArrayLike<number>): Pooled {
  const n1 = x.length;
  const n2 = y.length;
  const values = new Float64Array(n1 + n2);
  const cx = new Int32Array(n1 + n2);
  const cy = new Int32Array(n1 + n2);
  let i = 0;
  let j = 0;
  let L = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && x[i] <= y[j]) ? x[i] : y[j];
    while (i < n1 && x[i] === v) i++;
    while (j < n2 && y[j] === v) j++;
    values[L] = v;
    cx[L] = i;
    cy[L] = j;
    L++;
  }
  return { values, cx, cy, length: L, nx: n1, ny: n2 };
}
