const EULER_GAMMA = 0.5772156649015329;

/**
 * Average path length of an unsuccessful search in a binary search tree of n
 * points, c(n) in Liu, Ting & Zhou (2008), as scikit-learn computes it:
 * c(n) = 2·(ln(n−1) + γ) − 2(n−1)/n for n > 2, c(2) = 1, c(n ≤ 1) = 0.
 */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/**
 * Isolation-forest anomaly score s(x) = 2^(−E[h(x)]/c(ψ)) from the mean path
 * length E[h(x)]; in (0, 1], higher = more anomalous.
 */
export const isolationScore = (meanPathLength: number, psi: number): number =>
  2 ** (-meanPathLength / averagePathLength(psi));
