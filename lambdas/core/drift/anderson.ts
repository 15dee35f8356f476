import { npSum, type Pooled, pooledCounts } from './numeric.ts';

/** Significance levels of the tabulated critical values (Scholz & Stephens 1987, Table 2). */
export const AD_SIGNIFICANCE_LEVELS = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001] as const;
const B0 = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
const B1 = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
const B2 = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];

export interface AndersonResult {
  /** Standardised A² (can be negative). */
  readonly statistic: number;
  /** Critical values for `AD_SIGNIFICANCE_LEVELS`. */
  readonly criticalValues: readonly number[];
  /** The p-value SciPy 1.10 reports: the interpolation clipped to [0.001, 0.25]. */
  readonly pvalue: number;
  /** The quadratic interpolation evaluated without the clip (meaningless far outside the table). */
  readonly pvalueUncapped: number;
  /** True when SciPy would have capped (statistic below the table) at 0.25. */
  readonly capped: boolean;
  /** True when SciPy would have floored (statistic above the table) at 0.001. */
  readonly floored: boolean;
}

/** Critical values for k samples: b0 + b1/√m + b2/m with m = k − 1. */
export function adCriticalValues(k = 2): number[] {
  const m = k - 1;
  return B0.map((b0, i) => b0 + B1[i] / Math.sqrt(m) + B2[i] / m);
}

/**
 * Least-squares quadratic through (x, y) like `np.polyfit(x, y, 2)`: columns
 * of the Vandermonde matrix scaled to unit norm, solved by Householder QR.
 * Returns [c2, c1, c0].
 */
function polyfit2(x: readonly number[], y: readonly number[]): [number, number, number] {
  const rows = x.length;
  const cols = 3;
  const A = x.map((xi) => [xi * xi, xi, 1]);
  const scale = [0, 1, 2].map((c) => Math.sqrt(A.reduce((s, r) => s + r[c] * r[c], 0)));
  for (const r of A) for (let c = 0; c < cols; c++) r[c] /= scale[c];
  const b = y.slice();
  for (let c = 0; c < cols; c++) {
    let norm = 0;
    for (let r = c; r < rows; r++) norm += A[r][c] * A[r][c];
    norm = Math.sqrt(norm);
    const alpha = A[c][c] > 0 ? -norm : norm;
    const v = new Array<number>(rows).fill(0);
    for (let r = c; r < rows; r++) v[r] = A[r][c];
    v[c] -= alpha;
    let vnorm2 = 0;
    for (let r = c; r < rows; r++) vnorm2 += v[r] * v[r];
    if (vnorm2 === 0) continue;
    for (let cc = c; cc < cols; cc++) {
      let dot = 0;
      for (let r = c; r < rows; r++) dot += v[r] * A[r][cc];
      const f = (2 * dot) / vnorm2;
      for (let r = c; r < rows; r++) A[r][cc] -= f * v[r];
    }
    let dot = 0;
    for (let r = c; r < rows; r++) dot += v[r] * b[r];
    const f = (2 * dot) / vnorm2;
    for (let r = c; r < rows; r++) b[r] -= f * v[r];
  }
  const coef = [0, 0, 0];
  for (let c = cols - 1; c >= 0; c--) {
    let s = b[c];
    for (let cc = c + 1; cc < cols; cc++) s -= A[c][cc] * coef[cc];
    coef[c] = s / A[c][c];
  }
  return [coef[0] / scale[0], coef[1] / scale[1], coef[2] / scale[2]];
}

let cachedFit: { critical: number[]; coef: [number, number, number] } | undefined;
function twoSampleFit() {
  if (!cachedFit) {
    const critical = adCriticalValues(2);
    cachedFit = {
      critical,
      coef: polyfit2(
        critical,
        AD_SIGNIFICANCE_LEVELS.map((s) => Math.log(s)),
      ),
    };
  }
  return cachedFit;
}

/** Σ_{i=1}^{N-1} 1/i and g as in SciPy: cumulative sums in the same order, pairwise final sum. */
const hgCache = new Map<number, { h: number; g: number }>();
function harmonicTerms(N: number): { h: number; g: number } {
  const hit = hgCache.get(N);
  if (hit) return hit;
  const len = Math.max(N - 2, 0);
  const ratio = new Float64Array(len);
  let cs = 0;
  for (let t = 0; t < len; t++) {
    cs += 1 / (N - 1 - t);
    ratio[t] = cs / (t + 2);
  }
  const out = { h: cs + 1, g: npSum(ratio) };
  if (hgCache.size > 64) hgCache.clear();
  hgCache.set(N, out);
  return out;
}

/**
 * Anderson-Darling k-sample test for k = 2 (reference, current), midrank
 * version (Scholz & Stephens 1987, eq. 7), as SciPy 1.10's `anderson_ksamp`.
 * Inputs sorted ascending, each with ≥ 1 value and N = n1 + n2 ≥ 4.
 * Returns `undefined` when the pooled sample has fewer than two distinct
 * values (SciPy raises there: the statistic is undefined).
 */
export function andersonKsamp(
  ref: Float64Array,
  cur: Float64Array,
  pooled: Pooled = pooledCounts(ref, cur),
): AndersonResult | undefined {
  const n = [ref.length, cur.length];
  const N = n[0] + n[1];
  const L = pooled.length;
  if (L < 2) return undefined;
  let A2akN = 0;
  const inner = new Float64Array(L);
  for (let s = 0; s < 2; s++) {
    const M = s === 0 ? pooled.cx : pooled.cy;
    let pi = 0;
    let pj = 0;
    for (let t = 0; t < L; t++) {
      const i = pooled.cx[t];
      const j = pooled.cy[t];
      const l = N === L ? 1 : i - pi + (j - pj);
      const f = s === 0 ? i - pi : j - pj;
      const Bj = pi + pj + l / 2;
      const Mij = M[t] - f / 2;
      const num = N * Mij - Bj * n[s];
      inner[t] = ((l / N) * (num * num)) / (Bj * (N - Bj) - (N * l) / 4);
      pi = i;
      pj = j;
    }
    A2akN += npSum(inner, 0, L) / n[s];
  }
  A2akN *= (N - 1) / N;
  const k = 2;
  const H = 1 / n[0] + 1 / n[1];
  const { h, g } = harmonicTerms(N);
  const a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * H;
  const b = (2 * g - 4) * k ** 2 + 8 * h * k + (2 * g - 14 * h - 4) * H - 8 * h + 4 * g - 6;
  const c = (6 * h + 2 * g - 2) * k ** 2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * H + 4 * h;
  const d = (2 * h + 6) * k ** 2 - 4 * h * k;
  const sigmasq = (a * N ** 3 + b * N ** 2 + c * N + d) / ((N - 1) * (N - 2) * (N - 3));
  const m = k - 1;
  const A2 = (A2akN - m) / Math.sqrt(sigmasq);
  const { critical, coef } = twoSampleFit();
  const pvalueUncapped = Math.exp((coef[0] * A2 + coef[1]) * A2 + coef[2]);
  const capped = A2 < Math.min(...critical);
  const floored = A2 > Math.max(...critical);
  const pvalue = capped ? 0.25 : floored ? 0.001 : pvalueUncapped;
  return { statistic: A2, criticalValues: critical, pvalue, pvalueUncapped, capped, floored };
}
