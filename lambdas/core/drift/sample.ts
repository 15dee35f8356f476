import { sortedCopy } from '#core/stats.ts';
import { npSum } from './numeric.ts';

/**
 * One feature's values prepared once for all two-sample tests: non-finite
 * values counted and dropped, the rest sorted (the only O(n log n) step),
 * plus NumPy-identical moments computed in the original order.
 */
export interface Sample {
  /** Finite values in input order. */
  readonly values: Float64Array;
  /** Finite values ascending. */
  readonly sorted: Float64Array;
  readonly n: number;
  /** NaN / ±Infinity values seen and excluded. */
  readonly nonFinite: number;
  readonly mean: number;
  /** Population variance (ddof 0). */
  readonly var0: number;
  /** Sample variance (ddof 1) as SciPy's `_var` computes it; NaN when n < 2. */
  readonly var1: number;
}

/**
 * Prepares a sample. Accepts any array-like of numbers; NaN and infinities
 * are excluded and counted in `nonFinite` (a capture may hold them).
 * @example prepareSample([1, 2, Number.NaN]).nonFinite // 1
 */
export function prepareSample(input: ArrayLike<number>): Sample {
  let finite = 0;
  for (let i = 0; i < input.length; i++) if (Number.isFinite(input[i])) finite++;
  const values = new Float64Array(finite);
  let k = 0;
  for (let i = 0; i < input.length; i++) {
    const v = input[i];
    if (Number.isFinite(v)) values[k++] = v;
  }
  const sorted = sortedCopy(values);
  const n = finite;
  const mean = n > 0 ? npSum(values) / n : Number.NaN;
  let var0 = Number.NaN;
  let var1 = Number.NaN;
  if (n > 0) {
    const sq = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const d = values[i] - mean;
      sq[i] = d * d;
    }
    var0 = npSum(sq) / n;
    // scipy.stats._var: the biased moment rescaled by n/(n-1), not a division by n-1.
    if (n > 1) var1 = var0 * (n / (n - 1));
  }
  return { values, sorted, n, nonFinite: input.length - finite, mean, var0, var1 };
}
