import { describe, expect, it } from 'vitest';
import { decideLabel, type Label, type LabelRecord } from '#core/feedback/labels.ts';
import { qualityReport, type ScoredRow } from '#core/feedback/quality.ts';

const window = { from: new Date('2025-03-01T00:00:00Z'), to: new Date('2025-03-02T00:00:00Z') };
const inside = '2025-03-01T12:00:00.000Z';

const cap = (
  requestId: string,
  score: number,
  anomaly: boolean,
  over: Partial<ScoredRow> = {},
): ScoredRow => ({
  requestId,
  index: 0,
  version: 1,
  at: inside,
  score,
  anomaly,
  ...over,
});
const lab = (requestId: string, label: Label, over: Partial<LabelRecord> = {}): LabelRecord => ({
  ...decideLabel(undefined, {
    model: 'web',
    requestId,
    index: 0,
    label,
    capture: 'captured',
    at: inside,
  }).record,
  ...over,
});

describe('qualityReport', () => {
  it('matches scikit-learn on its documented example: roc_auc_score 0.75, average_precision_score 0.8333…', () => {
    // sklearn docs: y_true = [0, 0, 1, 1], y_scores = [0.1, 0.4, 0.35, 0.8].
    const scores = [0.1, 0.4, 0.35, 0.8];
    const y: Label[] = ['normal', 'normal', 'anomaly', 'anomaly'];
    // Verdicts at a threshold of 0.38: flagged 0.4 (normal) and 0.8 (anomaly) → tp 1, fp 1, fn 1, tn 1.
    const captures = scores.map((s, i) => cap(`r${i}`, s, s >= 0.38));
    const r = qualityReport(
      y.map((l, i) => lab(`r${i}`, l)),
      captures,
      window,
    );
    expect(r).toMatchObject({ labels: 4, captured: 4 });
    const [v] = r.versions;
    expect(v).toMatchObject({
      version: 1,
      labels: 4,
      anomalies: 2,
      captured: 4,
      precision: 0.5,
      recall: 0.5,
    });
    expect(v?.confusion).toEqual({ tp: 1, fp: 1, fn: 1, tn: 1 });
    expect(v?.rocAuc).toBeCloseTo(0.75, 12);
    expect(v?.averagePrecision).toBeCloseTo(0.8333333333333333, 12);
  });

  it('splits by the version that scored each row, newest first, uncaptured labels without a version last', () => {
    const r = qualityReport(
      [
        lab('a', 'anomaly'),
        lab('b', 'normal'),
        lab('c', 'anomaly'),
        lab('d', 'normal', { capture: 'not-captured' }),
        lab('e', 'anomaly', { capture: 'not-captured', version: 2 }),
      ],
      [cap('a', 0.9, true, { version: 2 }), cap('b', 0.3, false, { version: 2 }), cap('c', 0.8, true)],
      window,
    );
    expect(r.versions.map((v) => [v.version, v.labels, v.captured, v.anomalies])).toEqual([
      [2, 3, 2, 2],
      [1, 1, 1, 1],
      [null, 1, 0, 0],
    ]);
    // Version 1 has only an anomaly: no AUC (one class), recall defined, precision defined (flagged).
    const v1 = r.versions[1];
    expect(v1).toMatchObject({ precision: 1, recall: 1, rocAuc: null, averagePrecision: 1 });
    // No captured row: counts only.
    expect(r.versions[2]).toMatchObject({
      precision: null,
      recall: null,
      rocAuc: null,
      averagePrecision: null,
    });
  });

  it('gives null precision when nothing was flagged, and null recall and AP without a labelled anomaly', () => {
    const r = qualityReport(
      [lab('a', 'normal'), lab('b', 'normal')],
      [cap('a', 0.2, false), cap('b', 0.1, false)],
      window,
    );
    expect(r.versions[0]).toMatchObject({
      precision: null,
      recall: null,
      rocAuc: null,
      averagePrecision: null,
    });
  });

  it('counts a label in the window of its prediction: captured outside the window, or labelled outside it uncaptured, it is left out', () => {
    const before = '2025-02-28T23:59:59.999Z';
    const r = qualityReport(
      [
        lab('in', 'anomaly'),
        lab('old-capture', 'anomaly', { predictedAt: before }),
        lab('old-label', 'anomaly', { capture: 'not-captured', labelledAt: before }),
        lab('edge', 'normal'),
      ],
      [
        cap('in', 0.9, true),
        cap('old-capture', 0.9, true, { at: before }),
        cap('edge', 0.1, false, { at: window.to.toISOString() }),
      ],
      window,
    );
    // 'edge' was predicted at `to` (outside [from, to)); its label, given inside, counts uncaptured.
    expect(r).toMatchObject({ labels: 2, captured: 1 });
  });

  it('joins on request id and row index, not on the request alone', () => {
    const r = qualityReport([lab('a', 'anomaly', { index: 1 })], [cap('a', 0.9, true, { index: 0 })], window);
    expect(r).toMatchObject({ labels: 1, captured: 0 });
  });
});
