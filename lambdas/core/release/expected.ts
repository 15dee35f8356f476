import type { ModelVersion } from '#core/registry/types.ts';
import { EVAL_METRIC } from '#core/retrain/evaluate.ts';
import type { ExpectedDifference } from './types.ts';

/** No difference expected: the judgement is a plain regression check (ratio 1, D 0). */
const none = (detail: string): ExpectedDifference => ({
  anomalyRateRatio: 1,
  anomalyRateLogVariance: 0,
  scoreKsD: 0,
  disagreement: 0,
  disagreementStdErr: 0,
  rankCorrelation: 1,
  rankCorrelationStdErr: 0,
  source: 'none',
  detail,
});

/**
 * The difference a release of `candidate` against production `baselineVersion` should expect
 * (pure): what the retraining's Evaluate recorded in the candidate's metrics, on recent traffic
 * the candidate did not train on.
 *
 * - ratio r = candidate anomalies / production anomalies on the holdout (same rows, so the
 *   rates' ratio is the counts' ratio). A zero count on either side would make r 0 or ∞, so
 *   then both counts get ½ added (add-half smoothing, the same guard as the judgement's test):
 *   0 vs 30 anomalies gives r = 0.5/30.5, a candidate the canary may still see flag a few rows.
 *   Its uncertainty (the holdout is a few hundred rows) is the variance of ln r the Katz way,
 *   1/k_c − 1/n + 1/k_p − 1/n on the (guarded) counts, which the judgement's test adds to its own.
 * - D = the KS statistic between the two models' holdout scores.
 * - disagreement and rank correlation = the share of holdout rows whose verdicts differ and
 *   Spearman's correlation of the two models' scores (what a shadow phase measures); 0 and 1
 *   when the evaluation did not record them (older evaluations, constant scores). Each carries
 *   its standard error on the holdout (√(d(1−d)/n), and (1 − ρ²)/√n, the large-sample one of a
 *   correlation), so the shadow judgement can allow for the evaluation's own noise.
 *
 * The evaluation only describes *this* baseline when production is still the version it was
 * evaluated against (the candidate's `lineage.parentVersion`); otherwise, and for a version
 * without an evaluation (registered by hand), nothing is expected (`source: 'none'`).
 */
export function expectedDifference(
  candidate: Pick<ModelVersion, 'metrics' | 'lineage'>,
  baselineVersion: number,
): ExpectedDifference {
  // Read defensively: a version record written by hand or by an older release may lack either.
  const m: Readonly<Record<string, number>> = candidate.metrics ?? {};
  const rows = m[EVAL_METRIC.holdoutRows];
  const cand = m[EVAL_METRIC.anomalyRate];
  const prod = m[EVAL_METRIC.productionAnomalyRate];
  if (rows === undefined || cand === undefined || prod === undefined || !(rows > 0)) {
    return none('no evaluation against production recorded on the candidate');
  }
  const parent = candidate.lineage?.parentVersion;
  if (parent !== baselineVersion) {
    return none(
      `evaluated against version ${parent ?? '(none)'}, production is ${baselineVersion}: evaluation not used`,
    );
  }
  const kc = Math.round(cand * rows);
  const kp = Math.round(prod * rows);
  const guard = kc === 0 || kp === 0 ? 0.5 : 0;
  const ratio = (kc + guard) / (kp + guard);
  const [xc, xp, nn] = [kc + guard, kp + guard, rows + 2 * guard];
  const variance = kc === 0 && kp === 0 ? 0 : Math.max(0, 1 / xc - 1 / nn + 1 / xp - 1 / nn);
  const d = m[EVAL_METRIC.scoreKs];
  const scoreKsD = d !== undefined && d >= 0 && d <= 1 ? d : 0;
  const dis = m[EVAL_METRIC.disagreement];
  const rho = m[EVAL_METRIC.rankCorrelation];
  const disagreement = dis !== undefined && dis >= 0 && dis <= 1 ? dis : 0;
  const rankCorrelation = rho !== undefined && rho >= -1 && rho <= 1 ? rho : 1;
  const disagreementStdErr = Math.sqrt((disagreement * (1 - disagreement)) / rows);
  const rankCorrelationStdErr = (1 - rankCorrelation ** 2) / Math.sqrt(rows);
  return {
    anomalyRateRatio: ratio,
    anomalyRateLogVariance: variance,
    scoreKsD,
    disagreement,
    disagreementStdErr,
    rankCorrelation,
    rankCorrelationStdErr,
    source: 'evaluation',
    detail: `evaluation on ${rows} holdout rows: candidate flagged ${kc}, production ${kp}${guard ? ' (½ added to each)' : ''}; score KS D ${scoreKsD.toFixed(4)}${d === undefined ? ' (not recorded)' : ''}; verdicts differ on ${(disagreement * 100).toFixed(1)} %, Spearman ${rankCorrelation.toFixed(3)}`,
  };
}
