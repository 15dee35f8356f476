import { describe, expect, it } from 'vitest';
import type { Evaluation } from '#core/retrain/evaluate.ts';
import { describeGateFailures, gate } from '#core/retrain/gate.ts';

const T = { aucTolerance: 0.02, minAuc: 0.7, requireAnomalyRateInBand: true };
const evaluation = (candidate: number | null, production: number | null, rate = 0.02): Evaluation => ({
  holdoutRows: 100,
  anomalyRate: {
    candidate: rate,
    production: 0.02,
    target: 0.01,
    band: [0, 0.05],
    interval: [rate, rate],
    withinBand: rate <= 0.05,
  },
  scoreShift: null,
  agreement: null,
  labelled: null,
  injected: null,
  quality: { source: 'injected', candidate, production },
});
const features = { candidate: ['cpu', 'mem'], production: ['cpu', 'mem'] };

describe('gate', () => {
  it('passes a candidate within the AUC tolerance of production', () => {
    const v = gate(evaluation(0.905, 0.92), features, T);
    expect(v.passed).toBe(true);
    expect(v.checks.find((c) => c.check === 'quality')).toMatchObject({ required: 0.92 - 0.02 });
  });

  it('fails a candidate worse than production by more than the tolerance, with the numbers', () => {
    const v = gate(evaluation(0.85, 0.92), features, T);
    expect(v.passed).toBe(false);
    expect(describeGateFailures(v)).toEqual([
      'quality (injected ROC AUC): candidate 0.8500 < required 0.9000 (production 0.9200)',
    ]);
  });

  it('judges a first model (no production number) against the minimum AUC', () => {
    expect(gate(evaluation(0.71, null), { ...features, production: null }, T).passed).toBe(true);
    expect(gate(evaluation(0.69, null), { ...features, production: null }, T).passed).toBe(false);
  });

  it('fails without any quality number', () => {
    expect(gate(evaluation(null, 0.9), features, T).passed).toBe(false);
  });

  it('fails a feature schema change', () => {
    const v = gate(evaluation(0.95, 0.9), { candidate: ['cpu', 'disk'], production: ['cpu', 'mem'] }, T);
    expect(v.passed).toBe(false);
    expect(describeGateFailures(v)).toEqual(['schema changed: [cpu, mem] → [cpu, disk]']);
  });

  it('fails an anomaly rate outside the band only when the config asks for it', () => {
    const e = evaluation(0.95, 0.9, 0.08);
    expect(describeGateFailures(gate(e, features, T))).toEqual(['anomaly rate 8.00% outside [0.00%, 5.00%]']);
    expect(gate(e, features, { ...T, requireAnomalyRateInBand: false }).passed).toBe(true);
  });
});
