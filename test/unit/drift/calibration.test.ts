import { describe, expect, it } from 'vitest';
import { bootstrapCalibrator, effectiveSize, nullQuantile, sizeBucket } from '#core/drift/calibration.ts';
import { parseDriftConfig } from '#core/drift/config.ts';
import { wasserstein1 } from '#core/drift/distances.ts';
import { evaluateDrift } from '#core/drift/report.ts';
import { prepareSample } from '#core/drift/sample.ts';
import { FAMILIES, type Family, normal } from './helpers.ts';

const config = parseDriftConfig();
/** The pre-calibration defaults (Evidently's fixed distance thresholds), for the paired negative. */
const fixed = parseDriftConfig({ thresholds: { wasserstein: 0.1, jensenShannon: 0.1, psi: 0.2 } });

/** Share of same-distribution pairs (fresh reference each) whose one-feature dataset verdict is drift. */
function falseAlarms(family: Family, n: number, pairs: number, cfg = config): number {
  let alarms = 0;
  for (let p = 0; p < pairs; p++) {
    const reference = { x: FAMILIES[family](n, 50_000 + 2 * p) };
    const current = { x: FAMILIES[family](n, 50_001 + 2 * p) };
    if (evaluateDrift({ reference, current, features: ['x'], config: cfg }).drift) alarms++;
  }
  return alarms / pairs;
}

// χ²₉ 0.95 quantile (tables: 16.919): decile bins have 9 degrees of freedom.
const CHI2_9_95 = 16.919;

describe('the dataset verdict keeps its false-alarm rate at α on same-distribution data', () => {
  // 300 pairs: at a true 5 % the measured rate exceeds 7.5 % with probability ≈ 2 %; the old vote's
  // 9.5 % would stay at or below 7.5 % with probability ≈ 12 %. Seeded, so the outcome is fixed.
  const PAIRS = 300;
  const LIMIT = 0.075;
  for (const [family, n] of [
    ['normal', 50],
    ['normal', 100],
    ['lognormal', 100],
    ['poisson', 100],
    ['t3', 50],
    ['clipped', 50],
  ] as const) {
    it(`${family}, n = ${n}: ≤ ${LIMIT * 100} % over ${PAIRS} pairs`, () => {
      expect(falseAlarms(family, n, PAIRS)).toBeLessThanOrEqual(LIMIT);
    });
  }

  it('the paired negative: the fixed 0.1 distance thresholds alarm on more than 7.5 % of the same normal pairs (n = 50)', () => {
    expect(falseAlarms('normal', 50, PAIRS, fixed)).toBeGreaterThan(LIMIT);
  });
});

describe('detection of a 0.2-sd mean shift is not below KS alone', () => {
  // n = 500: KS detects about 3 in 4, so neither side is saturated and the paired comparison can fail.
  it('n = 500 vs 500, 100 paired draws: the vote detects at least as often as KS (same floor)', () => {
    let vote = 0;
    let ks = 0;
    for (let p = 0; p < 100; p++) {
      const reference = { x: normal(500, 60_000 + 2 * p) };
      const current = { x: normal(500, 60_001 + 2 * p, 0.2) };
      const r = evaluateDrift({ reference, current, features: ['x'], config });
      if (r.drift) vote++;
      const k = r.features.x.tests.ks;
      if ('drift' in k && k.drift && r.features.x.effect.floorMet) ks++;
    }
    expect(ks).toBeGreaterThan(50); // the case has power …
    expect(ks).toBeLessThan(95); // … and is not saturated: not a vacuous comparison
    expect(vote).toBeGreaterThanOrEqual(ks);
  });
});

describe('null thresholds against independent references', () => {
  it('JS and PSI on reference deciles match the χ²₉ asymptotics for continuous data (large n)', () => {
    // Two-sample homogeneity over 10 bins: JS divergence ≈ X²/(8·n_eff) nats and PSI ≈ X²/n_eff, X² ~ χ²₉.
    const ref = prepareSample(normal(10_000, 1));
    const n = 100_000;
    const t = bootstrapCalibrator().thresholds(ref, { nCurrent: n, alpha: 0.05, bins: 10 });
    const ne = effectiveSize(10_000, n);
    expect(t.jensenShannon / Math.sqrt(CHI2_9_95 / (8 * ne * Math.LN2))).toBeCloseTo(1, 1);
    expect(t.psi / (CHI2_9_95 / ne)).toBeCloseTo(1, 1);
  });

  it('Wasserstein matches the 95 % quantile of brute-force independent normal pairs (n = 500)', () => {
    // Brute force: 600 pairs of fresh N(0,1) samples, the statistic as the report computes it.
    const w: number[] = [];
    for (let p = 0; p < 600; p++) {
      const a = prepareSample(normal(500, 70_000 + 2 * p));
      const b = prepareSample(normal(500, 70_001 + 2 * p));
      w.push(wasserstein1(a.sorted, b.sorted) / Math.sqrt(a.var0));
    }
    w.sort((x, y) => x - y);
    const brute = w[Math.floor(0.95 * w.length)];
    // The calibrator sees one reference sample, not the true distribution: average a few.
    let sum = 0;
    for (let r = 0; r < 5; r++) {
      const ref = prepareSample(normal(500, 80_000 + r));
      sum += bootstrapCalibrator().thresholds(ref, { nCurrent: 500, alpha: 0.05, bins: 10 }).wasserstein;
    }
    expect(sum / 5 / brute).toBeGreaterThan(0.9);
    expect(sum / 5 / brute).toBeLessThan(1.1);
  });
});

describe('calibrator mechanics', () => {
  it('thresholds shrink as 1/√n_eff within and across size buckets', () => {
    const ref = prepareSample(normal(10_000, 3));
    const cal = bootstrapCalibrator();
    const at = (n: number) => cal.thresholds(ref, { nCurrent: n, alpha: 0.05, bins: 10 }).wasserstein;
    expect(sizeBucket(900)).toBe(sizeBucket(1000));
    // One bucket shares its draws: the scaled thresholds agree exactly.
    expect(at(900) * Math.sqrt(effectiveSize(10_000, 900))).toBeCloseTo(
      at(1000) * Math.sqrt(effectiveSize(10_000, 1000)),
      12,
    );
    expect(at(100)).toBeGreaterThan(at(10_000));
    expect(at(100) / at(1_000_000)).toBeGreaterThan(5);
  });

  it('the Monte Carlo critical value is the ⌈(1−α)(B+1)⌉-th draw, with a gamma tail for tiny α', () => {
    const draws = Float64Array.from({ length: 299 }, (_, i) => i + 1);
    expect(nullQuantile(draws, 0.05)).toBe(285);
    expect(nullQuantile(draws, 0.01)).toBe(297);
    expect(nullQuantile(draws, 1 / 300)).toBe(299);
    // α/50: beyond the draws, never below the largest one.
    expect(nullQuantile(draws, 0.001)).toBeGreaterThanOrEqual(299);
  });

  it('reports each distance threshold and its source; a configured one is used as is', () => {
    const reference = { x: normal(400, 5) };
    const current = { x: normal(400, 6) };
    const r = evaluateDrift({ reference, current, features: ['x'], config });
    expect(r.features.x.tests.wasserstein).toMatchObject({ thresholdSource: 'null' });
    const t = (r.features.x.tests.wasserstein as unknown as { threshold: number }).threshold;
    expect(t).toBeGreaterThan(0);
    expect(t).toBeLessThan(0.5);
    const cfg = parseDriftConfig({ thresholds: { wasserstein: 0.3 } });
    const f = evaluateDrift({ reference, current, features: ['x'], config: cfg }).features.x;
    expect(f.tests.wasserstein).toMatchObject({ threshold: 0.3, thresholdSource: 'fixed' });
    expect(f.tests.jensenShannon).toMatchObject({ thresholdSource: 'null' });
  });

  it('under a correction across features the distances use α / features (higher thresholds)', () => {
    const features = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    const reference = Object.fromEntries(features.map((f, i) => [f, normal(500, 100 + i)]));
    const current = Object.fromEntries(features.map((f, i) => [f, normal(500, 200 + i)]));
    const th = (c: 'none' | 'bonferroni') =>
      (
        evaluateDrift({ reference, current, features, config: parseDriftConfig({ correction: c }) }).features
          .a.tests.jensenShannon as unknown as { threshold: number }
      ).threshold;
    expect(th('bonferroni')).toBeGreaterThan(th('none'));
  });
});
