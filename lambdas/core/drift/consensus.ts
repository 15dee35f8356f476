import { ksSize } from './ks.ts';

/**
 * The level the other voters vote at when KS is a voter, so that the feature's verdict
 * "KS rejects at α, or at least `minVotes` voters vote" keeps its false-alarm rate ≤ α.
 *
 * Why: a consensus of k tests at α each can miss what KS alone sees (heavy tails spoil the mean-shift
 * and Wasserstein votes; integer data moved off its lattice is seen by KS only), so KS is never out-voted:
 * its rejection alone makes the verdict. That union only stays at level α if the consensus spends no
 * more than what KS leaves unused, r = α − size(KS), where size(KS) ≤ {@link ksSize} (exact on the
 * D lattice, for every data distribution). The consensus without KS needs `minVotes` of the
 * V − 1 other voters; by Markov's inequality on their vote count, whatever their dependence,
 * Pr(≥ k of V − 1 vote) ≤ (V − 1)·α_c / k. So α_c = k·r / (V − 1) (at most α) gives
 *
 *   Pr(drift) ≤ Pr(KS rejects) + Pr(consensus without KS) ≤ size(KS) + r = α.
 *
 * Power is then never below KS alone (its rejection region is inside the verdict's), and the
 * consensus adds detection only where KS is conservative: at small n (r ≈ 0.011 at 50 vs 50, 0.014 at
 * 100 vs 100) and not at all once KS's lattice is fine (n ≳ 1,000, asymptotic p-values).
 * @example consensusLevel({ m: 100, n: 100, alpha: 0.05, voters: 5, minVotes: 3 }) // 0.0102
 */
export function consensusLevel(q: {
  /** Reference and current sizes (finite values). */
  readonly m: number;
  readonly n: number;
  /** The feature's level (α, or α / features under a correction). */
  readonly alpha: number;
  /** Number of voters, KS included. */
  readonly voters: number;
  readonly minVotes: number;
}): number {
  const others = q.voters - 1;
  if (others < 1) return 0;
  const spare = Math.max(0, q.alpha - ksSize(q.m, q.n, q.alpha));
  return Math.min(q.alpha, (q.minVotes * spare) / others);
}
