import { type AndersonResult, andersonKsamp } from './anderson.ts';
import { type CvmResult, cramerVonMises2samp } from './cvm.ts';
import { binCounts, jensenShannon, psi, quantileEdges, wasserstein1 } from './distances.ts';
import { type KsMethod, type KsResult, ks2samp } from './ks.ts';
import { pooledCounts } from './numeric.ts';
import type { Sample } from './sample.ts';
import { type WelchResult, welchTTest } from './ttest.ts';

/** Options of the per-feature statistics. */
export interface StatsOptions {
  /** Quantile bins for JS and PSI (default 10, reference deciles). */
  readonly bins?: number;
  /** ε replacing empty-bin proportions in PSI (default 1e-4). */
  readonly psiEpsilon?: number;
  /** KS p-value method (default 'auto': exact iff max(n) ≤ 10,000). */
  readonly ksMethod?: KsMethod;
  /** Floor of the reference standard deviation when normalising Wasserstein (default 0.001, as Evidently). */
  readonly stdFloor?: number;
}

/** Why a test has no result for this pair of samples. */
export interface Skipped {
  readonly skipped: string;
}

export interface WassersteinResult {
  readonly distance: number;
  /** distance / max(std_ref (ddof 0), stdFloor). */
  readonly normalized: number;
}

export interface BinnedResult {
  readonly value: number;
  readonly edges: readonly number[];
  readonly countsReference: readonly number[];
  readonly countsCurrent: readonly number[];
}

/** All two-sample statistics of one feature, reference vs current. */
export interface FeatureStats {
  readonly nReference: number;
  readonly nCurrent: number;
  readonly ks: KsResult | Skipped;
  readonly wasserstein: WassersteinResult | Skipped;
  readonly anderson: AndersonResult | Skipped;
  readonly cvm: CvmResult | Skipped;
  readonly jensenShannon: BinnedResult | Skipped;
  readonly psi: BinnedResult | Skipped;
  readonly meanShift: WelchResult | Skipped;
}

export const isSkipped = (r: object): r is Skipped => 'skipped' in r;

/**
 * Computes every two-sample statistic of one feature, `f(reference, current)`,
 * from prepared (sorted) samples: O(n) after the sort. Tests that are
 * undefined for the inputs (empty, too small, a single distinct pooled value)
 * come back as `{ skipped: reason }` rather than throwing.
 */
export function featureStats(ref: Sample, cur: Sample, opts: StatsOptions = {}): FeatureStats {
  const bins = opts.bins ?? 10;
  const empty = ref.n === 0 ? 'reference is empty' : cur.n === 0 ? 'current window is empty' : undefined;
  const small = ref.n < 2 ? 'reference has < 2 values' : cur.n < 2 ? 'current has < 2 values' : undefined;
  const base = { nReference: ref.n, nCurrent: cur.n };
  if (empty) {
    const s = { skipped: empty };
    return { ...base, ks: s, wasserstein: s, anderson: s, cvm: s, jensenShannon: s, psi: s, meanShift: s };
  }
  const pooled = pooledCounts(ref.sorted, cur.sorted);
  const ks = ks2samp(ref.sorted, cur.sorted, opts.ksMethod ?? 'auto', pooled);
  const distance = wasserstein1(ref.sorted, cur.sorted, pooled);
  const std = Math.sqrt(ref.var0);
  const wasserstein = { distance, normalized: distance / Math.max(std, opts.stdFloor ?? 0.001) };
  let anderson: AndersonResult | Skipped;
  if (ref.n + cur.n < 4) anderson = { skipped: 'needs at least 4 pooled values' };
  else
    anderson = andersonKsamp(ref.sorted, cur.sorted, pooled) ?? {
      skipped: 'pooled sample has one distinct value',
    };
  const cvm = small ? { skipped: small } : cramerVonMises2samp(ref.sorted, cur.sorted, 'auto', pooled);
  const edges = quantileEdges(ref.sorted, bins);
  const countsReference = binCounts(ref.sorted, edges);
  const countsCurrent = binCounts(cur.sorted, edges);
  const binned = { edges, countsReference, countsCurrent };
  const js = { value: jensenShannon(countsReference, countsCurrent, 2), ...binned };
  const p = { value: psi(countsReference, countsCurrent, opts.psiEpsilon ?? 1e-4).value, ...binned };
  const meanShift = small
    ? { skipped: small }
    : welchTTest(ref.mean, ref.var1, ref.n, cur.mean, cur.var1, cur.n);
  return { ...base, ks, wasserstein, anderson, cvm, jensenShannon: js, psi: p, meanShift };
}
