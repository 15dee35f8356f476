import { ks2samp } from '#core/drift/ks.ts';
import { averagePrecision, rocAuc } from '#core/evaluation.ts';
import { spearman } from '#core/release/judge.ts';
import { sortedCopy } from '#core/stats.ts';

/** Scores of one model on the evaluation sets, plus its anomaly cut. */
export interface ModelScores {
  /** Score at or above which a row is an anomaly. */
  readonly threshold: number;
  /** Scores of the holdout rows (recent traffic the candidate did not train on). */
  readonly holdout: Float64Array;
  /** Scores of the injected synthetic anomalies (same rows for both models). */
  readonly injected?: Float64Array;
}

export interface EvaluateInput {
  readonly candidate: ModelScores;
  /** Absent when the model has no production version yet (first training). */
  readonly production?: ModelScores;
  /** Holdout labels (1 anomaly, 0 normal, NaN unlabelled), aligned with `holdout`. */
  readonly labels?: Float64Array;
  /** Share of anomalies expected on recent traffic, and how far the candidate may stray from it. */
  readonly anomalyRate: { readonly target: number; readonly tolerance: number };
  /** Fewest labelled rows of each class for labelled metrics to count. @default 5 */
  readonly minLabelsPerClass?: number;
}

/** Labelled metrics of one model at its threshold. */
export interface LabelledMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly rocAuc: number;
  readonly averagePrecision: number;
}

export interface Evaluation {
  readonly holdoutRows: number;
  readonly anomalyRate: {
    readonly candidate: number;
    readonly production: number | null;
    readonly target: number;
    readonly band: readonly [number, number];
    /** 99 % Wilson score interval of the candidate's rate on this holdout. */
    readonly interval: readonly [number, number];
    /** Whether the interval meets the band: missed only when the holdout says so beyond its sampling error. */
    readonly withinBand: boolean;
  };
  /** KS two-sample test between the candidate's and production's holdout scores. */
  readonly scoreShift: { readonly ks: number; readonly pvalue: number } | null;
  /**
   * How the two models agree row by row on the holdout, as a release's shadow phase compares
   * them: the share of rows whose anomaly verdicts differ, and Spearman's correlation of the
   * scores (NaN when a side is constant). Null without production.
   */
  readonly agreement: { readonly disagreement: number; readonly rankCorrelation: number } | null;
  readonly labelled: {
    readonly rows: number;
    readonly anomalies: number;
    readonly candidate: LabelledMetrics;
    readonly production: LabelledMetrics | null;
  } | null;
  /** ROC AUC of holdout (normal) vs injected anomalies. */
  readonly injected: {
    readonly rows: number;
    readonly candidate: number;
    readonly production: number | null;
  } | null;
  /** The number the gate compares: labelled ROC AUC when there are enough labels, else injected ROC AUC. */
  readonly quality: {
    readonly source: 'labels' | 'injected' | 'none';
    readonly candidate: number | null;
    readonly production: number | null;
  };
}

/** z of a two-sided 99 % interval (the normal quantile at 0.995). */
const BAND_Z = 2.5758293035489004;

/**
 * Wilson score interval of `k` successes in `n` trials at normal quantile `z` (Wilson 1927):
 * center (p̂ + z²/2n) / (1 + z²/n), half width z·√(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n). Unlike the
 * normal approximation it stays inside [0, 1] and is not empty at k = 0.
 * @example wilsonInterval(2, 4, 2.5758293035489004) // [0.1051, 0.8949]
 */
export function wilsonInterval(k: number, n: number, z: number): [number, number] {
  if (n <= 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

/**
 * Evaluate (DESIGN.md §8): the candidate against production on the same holdout.
 *
 * - anomaly rate: share of holdout scores ≥ threshold; the band is
 *   [max(0, target − tolerance), target + tolerance], and the candidate is within it unless its
 *   99 % Wilson interval on this holdout misses the band entirely: a few hundred holdout rows
 *   estimate a 4 % rate to ±3 points, so a fixed cut on the point estimate failed good candidates
 *   by chance.
 * - score shift: two-sample KS between the two models' holdout scores
 *   (`ks2samp`, SciPy's semantics).
 * - labelled: where ≥ `minLabelsPerClass` rows of each class are labelled,
 *   precision and recall at the model's threshold, ROC AUC and average precision
 *   over the labelled rows.
 * - injected: ROC AUC with the holdout as negatives and the injected rows as positives.
 *   Labelled rows that say anomaly are left out of the negatives.
 */
export function evaluateCandidate(input: EvaluateInput): Evaluation {
  const { candidate: cand, production: prod, labels } = input;
  const n = cand.holdout.length;
  if (prod && prod.holdout.length !== n)
    throw new Error('candidate and production must score the same holdout');
  if (labels && labels.length !== n) throw new Error('labels must align with the holdout');
  const flagged = (s: ModelScores) => {
    let k = 0;
    for (let i = 0; i < s.holdout.length; i++) if (s.holdout[i] >= s.threshold) k++;
    return k;
  };
  const rate = (s: ModelScores) => (s.holdout.length > 0 ? flagged(s) / s.holdout.length : Number.NaN);
  const { target, tolerance } = input.anomalyRate;
  const band: [number, number] = [Math.max(0, target - tolerance), target + tolerance];
  const candRate = rate(cand);
  const interval = wilsonInterval(flagged(cand), n, BAND_Z);
  const anomalyRate = {
    candidate: candRate,
    production: prod ? rate(prod) : null,
    target,
    band,
    interval,
    withinBand: n > 0 && interval[1] >= band[0] && interval[0] <= band[1],
  };

  let scoreShift: Evaluation['scoreShift'] = null;
  if (prod && n > 0) {
    const r = ks2samp(sortedCopy(prod.holdout), sortedCopy(cand.holdout), n > 10_000 ? 'asymp' : 'auto');
    scoreShift = { ks: r.statistic, pvalue: r.pvalue };
  }

  let agreement: Evaluation['agreement'] = null;
  if (prod && n > 0) {
    let differ = 0;
    for (let i = 0; i < n; i++) {
      if (cand.holdout[i] >= cand.threshold !== prod.holdout[i] >= prod.threshold) differ++;
    }
    agreement = {
      disagreement: differ / n,
      rankCorrelation: spearman(Array.from(prod.holdout), Array.from(cand.holdout)),
    };
  }

  let labelled: Evaluation['labelled'] = null;
  const minPerClass = input.minLabelsPerClass ?? 5;
  if (labels) {
    const idx: number[] = [];
    let anomalies = 0;
    for (let i = 0; i < n; i++) {
      if (!Number.isNaN(labels[i])) {
        idx.push(i);
        if (labels[i] === 1) anomalies++;
      }
    }
    if (anomalies >= minPerClass && idx.length - anomalies >= minPerClass) {
      const y = Float64Array.from(idx, (i) => labels[i]);
      const metrics = (s: ModelScores) =>
        labelledMetrics(
          Float64Array.from(idx, (i) => s.holdout[i]),
          y,
          s.threshold,
        );
      labelled = {
        rows: idx.length,
        anomalies,
        candidate: metrics(cand),
        production: prod ? metrics(prod) : null,
      };
    }
  }

  let injected: Evaluation['injected'] = null;
  if (cand.injected && cand.injected.length > 0) {
    const negatives = Array.from({ length: n }, (_, i) => i).filter((i) => !(labels && labels[i] === 1));
    const auc = (s: ModelScores) => {
      if (!s.injected) return null;
      const scores = Float64Array.from([...negatives.map((i) => s.holdout[i]), ...s.injected]);
      const y = Float64Array.from(scores, (_, i) => (i < negatives.length ? 0 : 1));
      return rocAuc(scores, y);
    };
    injected = {
      rows: cand.injected.length,
      candidate: auc(cand) ?? Number.NaN,
      production: prod ? auc(prod) : null,
    };
  }

  const quality: Evaluation['quality'] = labelled
    ? {
        source: 'labels',
        candidate: labelled.candidate.rocAuc,
        production: labelled.production?.rocAuc ?? null,
      }
    : injected
      ? { source: 'injected', candidate: injected.candidate, production: injected.production }
      : { source: 'none', candidate: null, production: null };
  return { holdoutRows: n, anomalyRate, scoreShift, agreement, labelled, injected, quality };
}

/** Precision/recall at `threshold` (score ≥ threshold = anomaly), ROC AUC and AP. NaN where undefined. */
export function labelledMetrics(
  scores: Float64Array,
  labels: Float64Array,
  threshold: number,
): LabelledMetrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i] >= threshold;
    if (labels[i] === 1) {
      if (flagged) tp++;
      else fn++;
    } else if (flagged) fp++;
  }
  return {
    precision: tp + fp > 0 ? tp / (tp + fp) : Number.NaN,
    recall: tp + fn > 0 ? tp / (tp + fn) : Number.NaN,
    rocAuc: rocAuc(scores, labels),
    averagePrecision: averagePrecision(scores, labels),
  };
}

/**
 * Names of the registry metrics {@link evaluationMetrics} writes that other steps read back
 * (the release's expected difference, `#core/release/expected.ts`).
 */
export const EVAL_METRIC = {
  holdoutRows: 'eval.holdoutRows',
  anomalyRate: 'eval.anomalyRate',
  productionAnomalyRate: 'eval.production.anomalyRate',
  scoreKs: 'eval.scoreKs',
  disagreement: 'eval.disagreement',
  rankCorrelation: 'eval.rankCorrelation',
} as const;

/**
 * The evaluation as flat numbers for the candidate's registry `metrics`
 * (a `Record<string, number>`): only finite values are kept.
 */
export function evaluationMetrics(e: Evaluation): Record<string, number> {
  const out: Record<string, number> = {
    [EVAL_METRIC.holdoutRows]: e.holdoutRows,
    [EVAL_METRIC.anomalyRate]: e.anomalyRate.candidate,
    'eval.anomalyRateTarget': e.anomalyRate.target,
  };
  if (e.anomalyRate.production !== null) out[EVAL_METRIC.productionAnomalyRate] = e.anomalyRate.production;
  if (e.scoreShift) {
    out[EVAL_METRIC.scoreKs] = e.scoreShift.ks;
    out['eval.scoreKsPvalue'] = e.scoreShift.pvalue;
  }
  if (e.agreement) {
    out[EVAL_METRIC.disagreement] = e.agreement.disagreement;
    out[EVAL_METRIC.rankCorrelation] = e.agreement.rankCorrelation;
  }
  if (e.labelled) {
    out['eval.labelledRows'] = e.labelled.rows;
    out['eval.precision'] = e.labelled.candidate.precision;
    out['eval.recall'] = e.labelled.candidate.recall;
    out['eval.rocAuc'] = e.labelled.candidate.rocAuc;
    out['eval.averagePrecision'] = e.labelled.candidate.averagePrecision;
  }
  if (e.injected) {
    out['eval.injectedRows'] = e.injected.rows;
    out['eval.injectedRocAuc'] = e.injected.candidate;
    if (e.injected.production !== null) out['eval.production.injectedRocAuc'] = e.injected.production;
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => Number.isFinite(v)));
}
