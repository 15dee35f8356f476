import jStat from 'jstat';

export interface WelchResult {
  /** t = (mean_ref − mean_cur) / √(s²_ref/n_ref + s²_cur/n_cur); NaN or ±∞ for constant samples. */
  readonly statistic: number;
  /** Two-sided p-value; NaN when both samples are the same constant. */
  readonly pvalue: number;
  /** Welch-Satterthwaite degrees of freedom. */
  readonly df: number;
}

/**
 * Welch's unequal-variance t-test from summary statistics, as SciPy 1.10's
 * `ttest_ind(equal_var=False)`; the Student t tail comes from jStat's
 * regularised incomplete beta: P(|T| ≥ t) = I_{df/(df+t²)}(df/2, ½).
 */
export function welchTTest(
  mean1: number,
  var1: number,
  n1: number,
  mean2: number,
  var2: number,
  n2: number,
): WelchResult {
  const vn1 = var1 / n1;
  const vn2 = var2 / n2;
  let df = (vn1 + vn2) ** 2 / (vn1 ** 2 / (n1 - 1) + vn2 ** 2 / (n2 - 1));
  // SciPy: an undefined df means both variances are 0; any df will do then.
  if (Number.isNaN(df)) df = 1;
  const t = (mean1 - mean2) / Math.sqrt(vn1 + vn2);
  let pvalue: number;
  if (Number.isNaN(t)) pvalue = Number.NaN;
  else if (!Number.isFinite(t)) pvalue = 0;
  else pvalue = Math.min(1, Math.max(0, jStat.ibeta(df / (df + t * t), df / 2, 0.5)));
  return { statistic: t, pvalue, df };
}
