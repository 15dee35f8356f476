import { describe, expect, it } from 'vitest';
import { Rng } from '#core/forest/rng.ts';
import { evaluateCandidate, evaluationMetrics, labelledMetrics } from '#core/retrain/evaluate.ts';
import { bruteAuc, bruteKs } from './helpers.ts';

const f64 = (xs: number[]) => Float64Array.from(xs);
const band = { target: 0.25, tolerance: 0.1 };

describe('evaluateCandidate', () => {
  it('measures the anomaly rate at each threshold against the target band', () => {
    const e = evaluateCandidate({
      candidate: { threshold: 0.6, holdout: f64([0.1, 0.2, 0.7, 0.8]) },
      production: { threshold: 0.5, holdout: f64([0.1, 0.55, 0.7, 0.8]) },
      anomalyRate: band,
    });
    // 2 of 4 is 0.5, outside [0.15, 0.35]; but 4 rows cannot tell 0.5 from 0.35: the 99 % Wilson
    // interval of 2/4 is [0.1051, 0.8949] (by hand: center 0.5, half 2.5758·√(1/16 + 6.6349/64)/2.6587).
    expect(e.anomalyRate).toMatchObject({
      candidate: 0.5,
      production: 0.75,
      target: 0.25,
      band: [0.15, 0.35],
      withinBand: true,
    });
    expect(e.anomalyRate.interval[0]).toBeCloseTo(0.10507, 4);
    expect(e.anomalyRate.interval[1]).toBeCloseTo(0.89493, 4);
  });

  it('misses the band only when the holdout says so beyond its sampling error', () => {
    // 2,000 rows at 0.5: interval ≈ 0.5 ± 0.0288, entirely above 0.35 → outside.
    const many = Float64Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? 0.9 : 0.1));
    const out = evaluateCandidate({ candidate: { threshold: 0.5, holdout: many }, anomalyRate: band });
    expect(out.anomalyRate.candidate).toBe(0.5);
    expect(out.anomalyRate.withinBand).toBe(false);
    expect(out.anomalyRate.interval[0]).toBeGreaterThan(0.35);
    // 200 rows at 10 % against the defaults' [0, 5 %] band: 99 % interval ≈ [5.8 %, 16.8 %] → outside;
    // at 7 %: ≈ [3.6 %, 13.2 %] → the holdout cannot rule 5 % out, so within (computed by hand).
    const at = (k: number) =>
      evaluateCandidate({
        candidate: {
          threshold: 0.5,
          holdout: Float64Array.from({ length: 200 }, (_, i) => (i < k ? 0.9 : 0.1)),
        },
        anomalyRate: { target: 0.01, tolerance: 0.04 },
      }).anomalyRate;
    expect(at(20).withinBand).toBe(false);
    expect(at(14).withinBand).toBe(true);
  });

  it('clamps the band at 0 and accepts a rate on its edge', () => {
    const e = evaluateCandidate({
      candidate: { threshold: 0.5, holdout: f64([0.1, 0.2, 0.3, 0.9]) },
      anomalyRate: { target: 0.05, tolerance: 0.2 },
    });
    expect(e.anomalyRate.band).toEqual([0, 0.25]);
    expect(e.anomalyRate.withinBand).toBe(true);
    expect(e.scoreShift).toBeNull();
  });

  it('computes the KS statistic between the two models’ scores as the ECDF definition gives it', () => {
    const rng = new Rng(3);
    const a = Float64Array.from({ length: 60 }, () => rng.next());
    const b = Float64Array.from({ length: 60 }, () => rng.next() ** 2);
    const e = evaluateCandidate({
      candidate: { threshold: 0.5, holdout: b },
      production: { threshold: 0.5, holdout: a },
      anomalyRate: band,
    });
    expect(e.scoreShift?.ks).toBeCloseTo(bruteKs(a, b), 12);
    expect(e.scoreShift?.pvalue).toBeLessThan(0.05);
  });

  it('counts the rows whose verdicts differ and rank-correlates the two models, as a shadow phase would', () => {
    // Candidate cut 0.5, production cut 0.25: verdicts differ on 0.3 and 0.4 (production only).
    // Ranks: production 1,2,3,4,5 vs candidate 1,2,4,3,5 → Spearman 1 − 6·2/(5·24) = 0.9.
    const e = evaluateCandidate({
      candidate: { threshold: 0.5, holdout: f64([0.1, 0.2, 0.45, 0.4, 0.9]) },
      production: { threshold: 0.25, holdout: f64([0.1, 0.2, 0.3, 0.4, 0.9]) },
      anomalyRate: band,
    });
    expect(e.agreement?.disagreement).toBeCloseTo(2 / 5, 12);
    expect(e.agreement?.rankCorrelation).toBeCloseTo(0.9, 12);
    expect(evaluationMetrics(e)).toMatchObject({ 'eval.disagreement': 0.4, 'eval.rankCorrelation': 0.9 });
  });

  it('uses labelled ROC AUC for quality when each class has enough labels', () => {
    const holdout = f64([0.9, 0.8, 0.3, 0.7, 0.2, 0.1, 0.65, 0.4, 0.35, 0.5]);
    const labels = f64([1, 1, 0, 1, 0, 0, 0, Number.NaN, 1, 0]);
    const e = evaluateCandidate({
      candidate: { threshold: 0.6, holdout },
      labels,
      anomalyRate: band,
      minLabelsPerClass: 3,
    });
    // Labelled rows: scores of positives 0.9,0.8,0.7,0.35; negatives 0.3,0.2,0.1,0.65,0.5.
    // At 0.6: TP = 3 (0.9, 0.8, 0.7), FP = 1 (0.65), FN = 1 (0.35).
    expect(e.labelled?.rows).toBe(9);
    expect(e.labelled?.anomalies).toBe(4);
    expect(e.labelled?.candidate.precision).toBe(0.75);
    expect(e.labelled?.candidate.recall).toBe(0.75);
    expect(e.labelled?.candidate.rocAuc).toBeCloseTo(
      bruteAuc([0.9, 0.8, 0.7, 0.35], [0.3, 0.2, 0.1, 0.65, 0.5]),
      12,
    );
    // AP by hand: positives at ranks 1,2,3 (precision 1 each) and 6 (4 of the 6 rows at or above 0.35; 0.4 is unlabelled).
    expect(e.labelled?.candidate.averagePrecision).toBeCloseTo((1 + 1 + 1 + 4 / 6) / 4, 12);
    expect(e.quality.source).toBe('labels');
    expect(e.quality.candidate).toBe(e.labelled?.candidate.rocAuc);
  });

  it('falls back to AUC on injected anomalies when labels are too few, leaving labelled anomalies out of the negatives', () => {
    const holdout = f64([0.3, 0.35, 0.4, 0.9]);
    const labels = f64([0, Number.NaN, Number.NaN, 1]);
    const injected = f64([0.8, 0.38, 0.95]);
    const e = evaluateCandidate({
      candidate: { threshold: 0.6, holdout, injected },
      production: { threshold: 0.6, holdout: f64([0.5, 0.5, 0.5, 0.5]), injected: f64([0.5, 0.6, 0.4]) },
      labels,
      anomalyRate: band,
    });
    expect(e.labelled).toBeNull();
    expect(e.quality.source).toBe('injected');
    expect(e.injected?.candidate).toBeCloseTo(bruteAuc([0.8, 0.38, 0.95], [0.3, 0.35, 0.4]), 12);
    expect(e.injected?.production).toBeCloseTo(bruteAuc([0.5, 0.6, 0.4], [0.5, 0.5, 0.5]), 12);
    expect(e.quality).toEqual({
      source: 'injected',
      candidate: e.injected?.candidate,
      production: e.injected?.production,
    });
  });

  it('has no quality number without labels or injected rows', () => {
    const e = evaluateCandidate({ candidate: { threshold: 0.5, holdout: f64([0.1]) }, anomalyRate: band });
    expect(e.quality).toEqual({ source: 'none', candidate: null, production: null });
  });

  it('refuses holdouts of different lengths', () => {
    expect(() =>
      evaluateCandidate({
        candidate: { threshold: 0.5, holdout: f64([0.1, 0.2]) },
        production: { threshold: 0.5, holdout: f64([0.1]) },
        anomalyRate: band,
      }),
    ).toThrow(/same holdout/);
  });
});

describe('labelledMetrics', () => {
  it('gives NaN precision when nothing is flagged', () => {
    const m = labelledMetrics(f64([0.1, 0.2]), f64([1, 0]), 0.9);
    expect(m.precision).toBeNaN();
    expect(m.recall).toBe(0);
  });
});

describe('evaluationMetrics', () => {
  it('flattens the evaluation to finite numbers only', () => {
    const e = evaluateCandidate({
      candidate: { threshold: 0.5, holdout: f64([0.1, 0.9]), injected: f64([0.95]) },
      anomalyRate: band,
    });
    expect(evaluationMetrics(e)).toEqual({
      'eval.holdoutRows': 2,
      'eval.anomalyRate': 0.5,
      'eval.anomalyRateTarget': 0.25,
      'eval.injectedRows': 1,
      'eval.injectedRocAuc': 1,
    });
  });
});
