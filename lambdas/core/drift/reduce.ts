import type { Manifest } from '#core/model/manifest.ts';
import type { DriftConfig } from './config.ts';
import { buildDriftReport, type DriftReport } from './report.ts';
import {
  ksErrorBound,
  mergeSummaries,
  momentStats,
  sampleColumn,
  type WindowSummary,
  weightBias,
} from './summary.ts';

/** Confidence parameter of the stated bounds: each holds with probability ≥ 1 − δ. */
export const SUMMARY_DELTA = 0.001;

/**
 * How a report computed from a merged summary relates to the exact computation over every row
 * of the window. The tests run on the reservoir (a uniform sample of `sampleSize` scored rows);
 * their statistics are within these bounds of the full-window statistics with probability
 * ≥ 1 − δ; their p-values are those of the sample (at millions of rows the full window's
 * p-values are ~0 for any real shift; the effect floor, not the p-values, decides there).
 */
export interface ApproximationInfo {
  readonly method: 'reservoir';
  /** Captured rows in the window (all partitions). */
  readonly rows: number;
  /** Scored rows they stand for (Σ 1/sampleRate). */
  readonly weightedRows: number;
  readonly partitions: number;
  readonly sampleSize: number;
  readonly delta: number;
  /** TV distance of the reservoir from a uniform sample of scored rows (`weightBias`). */
  readonly weightBias: number;
  /**
   * |KS statistic − exact| ≤ this (DKW–Massart at δ, plus `weightBias`); 0 when the reservoir
   * holds every row at one rate. Also bounds every CDF value, so each JS/PSI bin share is
   * within 2× this of the exact share.
   */
  readonly ksErrorBound: number;
  /** Per feature: exact moments and the Wasserstein bound. */
  readonly features: Readonly<
    Record<
      string,
      {
        /** Exact over the window (weighted by 1/sampleRate); `null` without finite values. */
        readonly mean: number | null;
        readonly std: number | null;
        readonly min: number | null;
        readonly max: number | null;
        readonly n: number;
        readonly nonFinite: number;
        /**
         * |normalized Wasserstein − exact| ≤ this: W1(sample, window) ≤ (max − min)·sup|ΔF|,
         * divided by the reference std (floored as in the test). Loose for heavy tails.
         */
        readonly wassersteinErrorBound: number;
      }
    >
  >;
}

/** A drift report reduced from partition summaries. */
export type SummarizedDriftReport = DriftReport & { readonly approximation: ApproximationInfo };

/** Population std (ddof 0) of the reference sample, floored as the Wasserstein test floors it. */
function referenceStd(values: readonly number[], floor = 0.001): number {
  let n = 0;
  let s = 0;
  for (const v of values) {
    if (Number.isFinite(v)) {
      n++;
      s += v;
    }
  }
  if (n === 0) return floor;
  const mean = s / n;
  let q = 0;
  for (const v of values) if (Number.isFinite(v)) q += (v - mean) * (v - mean);
  return Math.max(Math.sqrt(q / n), floor);
}

/**
 * The reduce step: merges partition summaries and builds the same report the in-memory evaluator
 * builds (`buildDriftReport`), on the merged reservoir, with `n` the window's captured rows and
 * an `approximation` section stating the error of each statistic. Pure.
 * @throws SummaryMismatchError when the summaries do not merge
 */
export function reduceDriftSummaries(input: {
  readonly manifest: Manifest;
  readonly summaries: readonly WindowSummary[];
  readonly window: { readonly from: string; readonly to: string };
  readonly config: DriftConfig;
  readonly delta?: number;
}): SummarizedDriftReport {
  const { manifest, config } = input;
  const delta = input.delta ?? SUMMARY_DELTA;
  const merged = mergeSummaries(input.summaries);
  const columns: Record<string, Float64Array> = {};
  for (const f of manifest.features) columns[f] = sampleColumn(merged, f);
  const k = merged.sample.keys.length;
  const rows: Record<string, number>[] = new Array(k);
  for (let i = 0; i < k; i++) {
    const r: Record<string, number> = {};
    for (const f of manifest.features) r[f] = columns[f][i];
    rows[i] = r;
  }
  const report = buildDriftReport({ manifest, rows, window: input.window, config });
  const bias = weightBias(merged);
  // A reservoir holding every row of one rate is the window itself: no sampling error.
  const complete = merged.threshold === null;
  const ksBound = Math.min(1, (complete ? 0 : ksErrorBound(k, delta)) + bias);
  const features: Record<string, ApproximationInfo['features'][string]> = {};
  for (const f of manifest.features) {
    const m = merged.moments[f];
    const seen = m !== undefined && m.n > 0;
    const { mean, std } = seen ? momentStats(m) : { mean: null, std: null };
    const range = seen ? m.max - m.min : 0;
    const refStd = referenceStd(manifest.reference.features[f]?.sample ?? []);
    features[f] = {
      mean,
      std,
      min: seen ? m.min : null,
      max: seen ? m.max : null,
      n: m?.n ?? 0,
      nonFinite: m?.nonFinite ?? 0,
      wassersteinErrorBound: (range * ksBound) / refStd,
    };
  }
  return {
    ...report,
    n: merged.rows,
    approximation: {
      method: 'reservoir',
      rows: merged.rows,
      weightedRows: merged.weight,
      partitions: merged.partitions,
      sampleSize: k,
      delta,
      weightBias: bias,
      ksErrorBound: ksBound,
      features,
    },
  };
}
