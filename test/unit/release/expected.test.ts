import { describe, expect, it } from 'vitest';
import { expectedDifference } from '#core/release/expected.ts';
import { type Evaluation, evaluationMetrics } from '#core/retrain/evaluate.ts';

/** The metrics Evaluate writes for a holdout of `rows` with these rates and KS D. */
const metricsOf = (rows: number, candidate: number, production: number | null, ks?: number) =>
  evaluationMetrics({
    holdoutRows: rows,
    anomalyRate: {
      candidate,
      production,
      target: 0.05,
      band: [0.01, 0.09],
      interval: [candidate, candidate],
      withinBand: true,
    },
    scoreShift: ks === undefined ? null : { ks, pvalue: 1e-9 },
    agreement: production === null ? null : { disagreement: 0.3, rankCorrelation: 0.6 },
    labelled: null,
    injected: null,
    quality: { source: 'none', candidate: null, production: null },
  } satisfies Evaluation);
const version = (metrics: Record<string, number>, parentVersion?: number) => ({
  metrics,
  lineage: parentVersion === undefined ? {} : { parentVersion },
});

describe('expectedDifference', () => {
  it('takes the ratio of the anomaly counts and the KS D from the evaluation against this baseline', () => {
    // 300 holdout rows: the candidate flagged 15 (5 %), production 120 (40 %) → r = 15/120.
    const e = expectedDifference(version(metricsOf(300, 0.05, 0.4, 0.42), 1), 1);
    expect(e).toMatchObject({
      source: 'evaluation',
      scoreKsD: 0.42,
      disagreement: 0.3,
      rankCorrelation: 0.6,
    });
    expect(e.anomalyRateRatio).toBeCloseTo(0.125, 12);
    // √(0.3·0.7/300) and (1 − 0.6²)/√300.
    expect(e.disagreementStdErr).toBeCloseTo(0.026457513110645904, 12);
    expect(e.rankCorrelationStdErr).toBeCloseTo(0.036950417228136044, 12);
    // Var ln r = 1/15 − 1/300 + 1/120 − 1/300.
    expect(e.anomalyRateLogVariance).toBeCloseTo(0.06833333333333334, 12);
    expect(e.detail).toContain('candidate flagged 15, production 120');
  });

  it('adds ½ to both counts when either is zero', () => {
    // Production flagged nothing, the candidate 15 of 300: (15 + ½) / (0 + ½) = 31.
    expect(expectedDifference(version(metricsOf(300, 0.05, 0), 1), 1).anomalyRateRatio).toBeCloseTo(31, 12);
    // The candidate flagged nothing, production 30: ½ / 30½.
    expect(expectedDifference(version(metricsOf(300, 0, 0.1), 1), 1).anomalyRateRatio).toBeCloseTo(
      0.5 / 30.5,
      12,
    );
    // Neither flagged anything: no difference.
    expect(expectedDifference(version(metricsOf(300, 0, 0), 1), 1)).toMatchObject({
      anomalyRateRatio: 1,
      anomalyRateLogVariance: 0,
    });
  });

  it.each<[string, Record<string, number>, number | undefined, number]>([
    ['a version registered by hand (no evaluation)', { auc: 0.9 }, undefined, 1],
    ['a first model (evaluated without production)', metricsOf(300, 0.05, null, undefined), undefined, 1],
    ['an evaluation against another production version', metricsOf(300, 0.05, 0.4, 0.4), 1, 3],
  ])('expects no difference for %s', (_, metrics, parent, baseline) => {
    expect(expectedDifference(version(metrics, parent), baseline)).toMatchObject({
      source: 'none',
      anomalyRateRatio: 1,
      anomalyRateLogVariance: 0,
      scoreKsD: 0,
      disagreement: 0,
      rankCorrelation: 1,
    });
  });
});
