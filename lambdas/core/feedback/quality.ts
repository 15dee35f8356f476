import { averagePrecision, rocAuc } from '#core/evaluation.ts';
import { type LabelRecord, labelValue, predictionKey } from './labels.ts';

/** What the quality report needs of a capture (see `CapturedRow` in core/ports.ts). */
export interface ScoredRow {
  readonly requestId: string;
  readonly index: number;
  readonly version: number;
  readonly at: string;
  readonly score: number;
  /** The verdict the caller got (score ≥ the version's threshold). */
  readonly anomaly: boolean;
}

/** Labelled quality of one model version. */
export interface VersionQuality {
  /** Null for labels of uncaptured predictions whose caller named no version. */
  readonly version: number | null;
  /** Labels of this version's predictions in the window, and how many of them say anomaly. */
  readonly labels: number;
  readonly anomalies: number;
  /** Of `labels`, those joined with a capture (score and verdict known): the metrics' rows. */
  readonly captured: number;
  /** Verdicts against labels over the captured ones (anomaly = positive). */
  readonly confusion: { readonly tp: number; readonly fp: number; readonly fn: number; readonly tn: number };
  /** tp / (tp + fp) at the served verdict; null when nothing was flagged. */
  readonly precision: number | null;
  /** tp / (tp + fn); null without a labelled anomaly. */
  readonly recall: number | null;
  /** ROC AUC of the scores (ties count half); null unless both classes are labelled. */
  readonly rocAuc: number | null;
  /** Average precision (scikit-learn's, no interpolation); null without a labelled anomaly. */
  readonly averagePrecision: number | null;
}

/** The quality report of a model over a window. */
export interface QualityReport {
  readonly from: string;
  readonly to: string;
  /** All labels counted (captured or not), and how many joined with a capture. */
  readonly labels: number;
  readonly captured: number;
  /** Newest version first; labels without a known version last. */
  readonly versions: readonly VersionQuality[];
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/**
 * Labelled quality per version (README "Feedback labels"): labels are joined with captures on
 * request id + row index. A label counts in the window when its prediction was captured in
 * [from, to), or, not captured, when it was given in [from, to). Precision and recall are of the
 * verdict the caller got; ROC AUC and average precision rank the captured scores. Rows are not
 * reweighted by capture rate: people choose what they label, so labelled rows are no uniform
 * sample of the traffic anyway, and the report says what the labelled rows say.
 */
export function qualityReport(
  labels: readonly LabelRecord[],
  captures: readonly ScoredRow[],
  window: { readonly from: Date; readonly to: Date },
): QualityReport {
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  const byKey = new Map<string, ScoredRow>();
  for (const c of captures) {
    const at = new Date(c.at).toISOString();
    if (at >= from && at < to) byKey.set(predictionKey(c.requestId, c.index), c);
  }
  type Acc = { labels: number; anomalies: number; scores: number[]; y: number[]; flagged: boolean[] };
  const acc = new Map<number | null, Acc>();
  const bucket = (v: number | null): Acc => {
    let a = acc.get(v);
    if (!a) {
      a = { labels: 0, anomalies: 0, scores: [], y: [], flagged: [] };
      acc.set(v, a);
    }
    return a;
  };
  let counted = 0;
  let captured = 0;
  for (const l of labels) {
    const c = byKey.get(predictionKey(l.requestId, l.index));
    const y = labelValue(l.label);
    if (c) {
      const a = bucket(c.version);
      a.labels++;
      a.anomalies += y;
      a.scores.push(c.score);
      a.y.push(y);
      a.flagged.push(c.anomaly);
      counted++;
      captured++;
      continue;
    }
    const at = new Date(l.labelledAt).toISOString();
    if (at < from || at >= to) continue;
    // The capture may have been read in another window (or expired): a captured label whose
    // prediction time falls outside this window belongs to that window, not this one.
    if (l.predictedAt !== undefined) {
      const p = new Date(l.predictedAt).toISOString();
      if (p < from || p >= to) continue;
    }
    const a = bucket(l.version ?? null);
    a.labels++;
    a.anomalies += y;
    counted++;
  }
  const versions: VersionQuality[] = [...acc.entries()]
    .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : b - a))
    .map(([version, a]) => {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      let tn = 0;
      a.y.forEach((y, i) => {
        if (a.flagged[i]) y === 1 ? tp++ : fp++;
        else y === 1 ? fn++ : tn++;
      });
      return {
        version,
        labels: a.labels,
        anomalies: a.anomalies,
        captured: a.y.length,
        confusion: { tp, fp, fn, tn },
        precision: tp + fp > 0 ? tp / (tp + fp) : null,
        recall: tp + fn > 0 ? tp / (tp + fn) : null,
        rocAuc: a.y.length > 0 ? finite(rocAuc(a.scores, a.y)) : null,
        averagePrecision: a.y.length > 0 ? finite(averagePrecision(a.scores, a.y)) : null,
      };
    });
  return { from, to, labels: counted, captured, versions };
}
