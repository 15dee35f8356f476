import { gcd, npSum, type Pooled, pooledCounts, pyFloorDiv } from './numeric.ts';

/** `auto` computes the exact p-value iff max(n1, n2) ≤ this (as SciPy). */
export const CVM_MAX_EXACT_N = 20;

export interface CvmResult {
  readonly statistic: number;
  readonly pvalue: number;
  readonly method: 'exact' | 'asymptotic';
}

/**
 * e^{−q}·K_ν(q) = ∫₀^∞ exp(−q·(cosh t + 1))·cosh(νt) dt by the trapezoidal
 * rule, which converges geometrically for this analytic, doubly-exponentially
 * decaying integrand (step 0.05 is far below double precision error).
 */
function besselKTimesExpNeg(nu: number, q: number): number {
  const step = 0.05;
  let sum = 0.5 * Math.exp(-2 * q); // t = 0, half weight
  for (let i = 1; i < 100_000; i++) {
    const t = i * step;
    const c = Math.cosh(t / 2);
    const f = Math.exp(-q * 2 * c * c) * Math.cosh(nu * t);
    sum += f;
    if (f === 0 || f < 1e-18 * sum) break;
  }
  return sum * step;
}

/** Limiting CDF of the one-sample Cramér-von Mises statistic (Csörgő & Faraway 1996, eq. 1.3), as SciPy. */
function cdfCvmInf(x: number): number {
  let tot = 0;
  let ratio = Math.sqrt(Math.PI); // Γ(k + ½) / Γ(k + 1) at k = 0
  for (let k = 0; k < 1000; k++) {
    const u = ratio / (Math.PI ** 1.5 * Math.sqrt(x));
    const y = 4 * k + 1;
    const q = (y * y) / (16 * x);
    const z = u * Math.sqrt(y) * besselKTimesExpNeg(0.25, q);
    tot += z;
    if (!(Math.abs(z) >= 1e-7)) break;
    ratio *= (k + 0.5) / (k + 1);
  }
  return tot;
}

/**
 * Exact p-value P(U ≥ u) of the two-sample statistic by the frequency tables
 * of Xiao, Gordon & Yakovlev (2006), Algorithm 1, as SciPy. Feasible for the
 * small samples it is used on (max n ≤ 20): counts stay below 2^53.
 */
function pvalCvmExact(s: number, m: number, n: number): number {
  const lcm = (m / gcd(m, n)) * n;
  const a = lcm / m;
  const b = lcm / n;
  const mn = m * n;
  const zeta = pyFloorDiv(lcm ** 2 * (m + n) * (6 * s - mn * (4 * mn - 1)), 6 * mn ** 2);
  let gs: Map<number, number>[] = [new Map([[0, 1]])];
  for (let v = 1; v <= m; v++) gs.push(new Map());
  for (let u = 0; u <= n; u++) {
    const next: Map<number, number>[] = [];
    let tmp = new Map<number, number>();
    for (let v = 0; v <= m; v++) {
      const merged = new Map<number, number>();
      const shift = (a * v - b * u) ** 2;
      for (const [val, f] of tmp) merged.set(val + shift, (merged.get(val + shift) ?? 0) + f);
      for (const [val, f] of gs[v]) merged.set(val + shift, (merged.get(val + shift) ?? 0) + f);
      tmp = merged;
      next.push(tmp);
    }
    gs = next;
  }
  let combinations = 1;
  for (let i = 1; i <= m; i++) combinations = (combinations * (n + i)) / i;
  combinations = Math.round(combinations);
  let tail = 0;
  for (const [val, f] of gs[m]) if (val >= zeta) tail += f;
  return tail / combinations;
}

/**
 * Two-sample Cramér-von Mises test (Anderson 1962) with midranks for ties, as
 * SciPy 1.10's `cramervonmises_2samp`. Inputs sorted ascending, each n ≥ 2.
 */
export function cramerVonMises2samp(
  ref: Float64Array,
  cur: Float64Array,
  method: 'auto' | 'exact' | 'asymptotic' = 'auto',
  pooled: Pooled = pooledCounts(ref, cur),
): CvmResult {
  const nx = ref.length;
  const ny = cur.length;
  if (nx < 2 || ny < 2) throw new RangeError('cramerVonMises2samp needs at least 2 values per sample');
  const mode = method === 'auto' ? (Math.max(nx, ny) > CVM_MAX_EXACT_N ? 'asymptotic' : 'exact') : method;
  const dx = new Float64Array(nx);
  const dy = new Float64Array(ny);
  let pi = 0;
  let pj = 0;
  for (let k = 0; k < pooled.length; k++) {
    const i = pooled.cx[k];
    const j = pooled.cy[k];
    const start = pi + pj + 1;
    const midrank = start + (i - pi + (j - pj) - 1) / 2;
    for (let t = pi; t < i; t++) {
      const e = midrank - (t + 1);
      dx[t] = e * e;
    }
    for (let t = pj; t < j; t++) {
      const e = midrank - (t + 1);
      dy[t] = e * e;
    }
    pi = i;
    pj = j;
  }
  let u = nx * npSum(dx);
  u += ny * npSum(dy);
  const k = nx * ny;
  const N = nx + ny;
  const t = u / (k * N) - (4 * k - 1) / (6 * N);
  if (mode === 'exact') return { statistic: t, pvalue: pvalCvmExact(u, nx, ny), method: 'exact' };
  const et = (1 + 1 / N) / 6;
  const vt = ((N + 1) * (4 * k * N - 3 * (nx ** 2 + ny ** 2) - 2 * k)) / (45 * N ** 2 * 4 * k);
  const tn = 1 / 6 + (t - et) / Math.sqrt(45 * vt);
  const pvalue = tn < 0.003 ? 1 : Math.max(0, 1 - cdfCvmInf(tn));
  return { statistic: t, pvalue, method: 'asymptotic' };
}
