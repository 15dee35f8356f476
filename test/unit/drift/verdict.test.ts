import { describe, expect, it } from 'vitest';
import { driftConfigForModel, featureConfig, parseDriftConfig } from '#core/drift/config.ts';
import { adjustPValues, buildDriftReport, evaluateDrift } from '#core/drift/report.ts';
import { bimodal, manifestWith, normal, resample, rowsOf } from './helpers.ts';

const config = parseDriftConfig();
const window = { from: '2025-01-01T00:00:00.000Z', to: '2025-01-01T01:00:00.000Z' };

/** One-feature verdict, reference vs current. */
function verdict(ref: ArrayLike<number>, cur: ArrayLike<number>, cfg = config) {
  const r = evaluateDrift({ reference: { x: ref }, current: { x: cur }, features: ['x'], config: cfg });
  return { feature: r.features.x, report: r };
}

// Reference samples are at most 10,000 values (the manifest's cap); current windows go up to 200,000.
const SIZES = [50, 1_000, 10_000, 200_000] as const;
const refFor = (n: number) => normal(Math.min(n, 10_000), 1);
// Detectable effects shrink with n; these are still small in absolute terms at large n.
const SHIFT: Record<number, number> = { 50: 1, 1000: 0.3, 10000: 0.2, 200000: 0.2 };

describe('feature verdict: paired positive / negative cases', () => {
  for (const n of SIZES) {
    it(`flags a shifted mean (n=${n})`, () => {
      const { feature } = verdict(refFor(n), normal(n, 2, SHIFT[n]));
      expect(feature.drifted).toBe(true);
      expect(feature.tests.meanShift).toMatchObject({ drift: true });
    });
    it(`flags a scaled variance with the same mean (n=${n})`, () => {
      const { feature } = verdict(refFor(n), normal(n, 3, 0, n === 50 ? 2.5 : 1.5));
      expect(feature.drifted).toBe(true);
    });
    it(`flags a changed shape with the same mean and variance: bimodal vs normal (n=${n})`, () => {
      const { feature } = verdict(refFor(n), bimodal(n, 4, 0.9, Math.sqrt(1 - 0.81)));
      expect(feature.drifted).toBe(true);
      expect(feature.tests.ks).toMatchObject({ drift: true });
    });
    it(`flags a bimodal split of a unimodal feature (n=${n})`, () => {
      const { feature } = verdict(refFor(n), bimodal(n, 5, 1.5, 0.5));
      expect(feature.drifted).toBe(true);
    });
    it(`does not flag a resample of the reference (n=${n})`, () => {
      const ref = refFor(n);
      const { feature } = verdict(ref, resample(ref, n, 6));
      expect(feature.drifted).toBe(false);
    });
    it(`does not flag a different seed of the same distribution (n=${n})`, () => {
      const { feature } = verdict(refFor(n), normal(n, 8));
      expect(feature.drifted).toBe(false);
    });
  }

  // With fixed distance thresholds (Evidently's W 0.1, JS 0.1) the 3-of-5 vote flagged 8.8 % of
  // same-distribution pairs at n=100; they are now null quantiles at the window's size, and
  // calibration.test.ts checks the rate at n = 50 and 100 over five families.
  for (const [n, maxRate] of [
    [500, 0.1],
    [5000, 0.05],
  ] as const) {
    it(`keeps the false-alarm rate of the vote below ${maxRate * 100} % on same-distribution pairs (n=${n})`, () => {
      let alarms = 0;
      const trials = 100;
      for (let s = 0; s < trials; s++) {
        if (verdict(normal(n, 5000 + 2 * s), normal(n, 5001 + 2 * s)).feature.drifted) alarms++;
      }
      expect(alarms / trials).toBeLessThanOrEqual(maxRate);
    });
  }

  it('does not alarm on 1,000,000 vs 1,000,000 rows shifted by 0.5 % of a std (effect floor)', () => {
    const ref = normal(1_000_000, 11);
    const cur = normal(1_000_000, 12, 0.005);
    const { feature } = verdict(ref, cur);
    // The significance tests do see the shift at this size …
    expect(feature.votes).toBeGreaterThanOrEqual(config.minVotes);
    // … but the effect is far below the floor, so no alarm.
    expect(feature.effect.floorMet).toBe(false);
    expect(feature.drifted).toBe(false);
    // The paired negative: without the floor the same data would alarm.
    const noFloor = parseDriftConfig({ effectFloor: { wassersteinNormalized: 0, ksStatistic: 0 } });
    expect(verdict(ref, cur, noFloor).feature.drifted).toBe(true);
  });
});

describe('edge cases have defined outcomes', () => {
  it('reports insufficient data and no verdict for an empty window', () => {
    const m = manifestWith({ cpu: normal(500, 1), mem: normal(500, 2) });
    const r = buildDriftReport({ manifest: m, rows: [], window, config });
    expect(r.status).toBe('insufficient_data');
    expect(r.drift).toBeNull();
    expect(r.features.cpu.status).toBe('insufficient_data');
    expect(r.features.cpu.tests.ks).toEqual({ skipped: 'current window is empty' });
  });

  it('gives a verdict once the window reaches minRows', () => {
    const m = manifestWith({ cpu: normal(500, 1) });
    const few = rowsOf({ cpu: normal(29, 3, 5) });
    expect(buildDriftReport({ manifest: m, rows: few, window, config }).drift).toBeNull();
    const enough = rowsOf({ cpu: normal(30, 3, 5) });
    expect(buildDriftReport({ manifest: m, rows: enough, window, config }).drift).toBe(true);
  });

  it('counts NaN, infinite and missing values and excludes them', () => {
    const m = manifestWith({ cpu: normal(500, 1) });
    const rows = rowsOf({ cpu: normal(100, 4) });
    rows[0].cpu = Number.NaN;
    rows[1].cpu = Number.POSITIVE_INFINITY;
    rows.push({} as Record<string, number>);
    const r = buildDriftReport({ manifest: m, rows, window, config });
    expect(r.n).toBe(101);
    expect(r.features.cpu.nonFinite).toBe(3);
    expect(r.features.cpu.n).toBe(98);
    expect(r.drift).toBe(false);
  });

  it('does not flag two equal constants; AD is skipped (undefined for one distinct value)', () => {
    const { feature } = verdict(new Float64Array(100).fill(2.5), new Float64Array(80).fill(2.5));
    expect(feature.drifted).toBe(false);
    expect(feature.tests.anderson).toEqual({ skipped: 'pooled sample has one distinct value' });
  });

  it('flags a constant that moved to another constant', () => {
    const { feature } = verdict(new Float64Array(100).fill(2.5), new Float64Array(80).fill(3.5));
    expect(feature.drifted).toBe(true);
    expect(feature.tests.ks).toMatchObject({ statistic: 1, drift: true });
  });

  it('handles heavy ties (integer-valued features) without error, both ways', () => {
    const pois = (n: number, seed: number, lam: number) =>
      Float64Array.from(normal(n, seed), (z) => Math.max(0, Math.round(lam + Math.sqrt(lam) * z)));
    expect(verdict(pois(2000, 1, 3), pois(2000, 2, 3)).feature.drifted).toBe(false);
    expect(verdict(pois(2000, 1, 3), pois(2000, 2, 5)).feature.drifted).toBe(true);
  });
});

describe('dataset verdict and report shape', () => {
  const ref = { cpu: normal(2000, 1), mem: normal(2000, 2, 50, 10), net: normal(2000, 3, 500, 100) };
  const manifest = manifestWith(ref);

  it('is drifted when the drifted share reaches driftShare (2 of 3 ≥ 0.5)', () => {
    const rows = rowsOf({
      cpu: normal(1000, 4, 1),
      mem: normal(1000, 5, 50, 20),
      net: normal(1000, 6, 500, 100),
    });
    const r = buildDriftReport({ manifest, rows, window, config });
    expect(r).toMatchObject({ model: 'cpu-model', version: 3, window, n: 1000, status: 'ok', drift: true });
    expect(r.driftedShare).toBeCloseTo(2 / 3, 12);
    expect(r.features.cpu.drifted).toBe(true);
    expect(r.features.mem.drifted).toBe(true);
    expect(r.features.net.drifted).toBe(false);
    expect(r.confidence).toBeGreaterThan(0.5);
    expect(r.confidence).toBeLessThanOrEqual(1);
  });

  it('is not drifted when one of three features drifts (1/3 < 0.5)', () => {
    const rows = rowsOf({
      cpu: normal(1000, 4, 1),
      mem: normal(1000, 5, 50, 10),
      net: normal(1000, 6, 500, 100),
    });
    const r = buildDriftReport({ manifest, rows, window, config });
    expect(r.drift).toBe(false);
    expect(r.driftedShare).toBeCloseTo(1 / 3, 12);
  });

  it('honours per-feature overrides (a feature whose voters, without KS, must all agree)', () => {
    const rows = rowsOf({
      cpu: normal(1000, 4, 0, 1.5),
      mem: normal(1000, 5, 50, 10),
      net: normal(1000, 6, 500, 100),
    });
    // A scaled variance: the mean-shift test cannot see it, so 4 of 4 never agree.
    const strict = parseDriftConfig({
      features: { cpu: { voters: ['wasserstein', 'anderson', 'jensenShannon', 'meanShift'], minVotes: 4 } },
    });
    expect(buildDriftReport({ manifest, rows, window, config }).features.cpu.drifted).toBe(true);
    expect(buildDriftReport({ manifest, rows, window, config: strict }).features.cpu.drifted).toBe(false);
  });

  it('lets CvM and PSI vote when configured', () => {
    const cfg = parseDriftConfig({ voters: ['cvm', 'psi'], minVotes: 2 });
    const rows = rowsOf({
      cpu: normal(1000, 4, 1),
      mem: normal(1000, 5, 50, 10),
      net: normal(1000, 6, 500, 100),
    });
    const r = buildDriftReport({ manifest, rows, window, config: cfg });
    expect(r.features.cpu.tests.cvm).toMatchObject({ voting: true, drift: true });
    expect(r.features.cpu.tests.ks).toMatchObject({ voting: false });
    expect(r.features.cpu.drifted).toBe(true);
  });
});

describe('configuration', () => {
  it('fills the documented defaults', () => {
    expect(config).toMatchObject({
      alpha: 0.05,
      // No fixed distance thresholds: every distance votes on its null quantile at the window's size.
      thresholds: {},
      voters: ['ks', 'wasserstein', 'anderson', 'jensenShannon', 'meanShift'],
      minVotes: 3,
      driftShare: 0.5,
      correction: 'none',
      bins: 10,
    });
  });
  it('rejects minVotes above the number of voters and unknown keys', () => {
    expect(() => parseDriftConfig({ voters: ['ks'], minVotes: 2 })).toThrow(/minVotes/);
    expect(() => parseDriftConfig({ alhpa: 0.1 })).toThrow();
  });
  it('merges per-model settings over the default and per-feature overrides over the model', () => {
    const c = driftConfigForModel({ default: { alpha: 0.01 }, models: { m1: { driftShare: 0.3 } } }, 'm1');
    expect(c.alpha).toBe(0.01);
    expect(c.driftShare).toBe(0.3);
    const f = featureConfig(parseDriftConfig({ features: { cpu: { thresholds: { psi: 0.5 } } } }), 'cpu');
    expect(f.thresholds).toEqual({ psi: 0.5 });
    const both = parseDriftConfig({
      thresholds: { wasserstein: 0.1 },
      features: { cpu: { thresholds: { psi: 0.5 } } },
    });
    expect(featureConfig(both, 'cpu').thresholds).toEqual({ wasserstein: 0.1, psi: 0.5 });
    expect(() => parseDriftConfig({ thresholds: { wasserstien: 0.1 } })).toThrow();
  });
});

describe('multiple-testing correction', () => {
  // Values checked by hand against R's p.adjust(p, "BH") / "bonferroni".
  const p = [0.01, 0.04, 0.03, 0.005];
  it('Benjamini-Hochberg', () => {
    const a = adjustPValues(p, 'bh');
    [0.02, 0.04, 0.04, 0.02].forEach((v, i) => {
      expect(a[i]).toBeCloseTo(v, 15);
    });
  });
  it('Bonferroni (capped at 1), NaN kept out of m', () => {
    const a = adjustPValues([...p, Number.NaN, 0.5], 'bonferroni');
    expect(a.slice(0, 4)).toEqual([0.05, 0.2, 0.15, 0.025]);
    expect(a[4]).toBeNaN();
    expect(a[5]).toBe(1);
  });
  it('a borderline feature that drifts uncorrected does not drift under Bonferroni across many features', () => {
    const features = Array.from({ length: 20 }, (_, i) => `f${i}`);
    const reference: Record<string, Float64Array> = {};
    const current: Record<string, Float64Array> = {};
    for (const [i, f] of features.entries()) {
      reference[f] = normal(400, 1000 + i);
      current[f] = normal(400, 2000 + i, f === 'f0' ? 0.2 : 0);
    }
    const cfg = (c: 'none' | 'bonferroni') =>
      parseDriftConfig({ correction: c, voters: ['meanShift'], minVotes: 1 });
    const none = evaluateDrift({ reference, current, features, config: cfg('none') });
    const bonf = evaluateDrift({ reference, current, features, config: cfg('bonferroni') });
    expect(none.features.f0.tests.meanShift).toMatchObject({ drift: true });
    expect(bonf.features.f0.tests.meanShift).toMatchObject({ drift: false });
    expect(bonf.features.f0.tests.meanShift).toHaveProperty('pvalueAdjusted');
  });

  it("Anderson-Darling still votes under correction across 50 features when its p is below SciPy's floor", () => {
    const features = Array.from({ length: 50 }, (_, i) => `f${i}`);
    const reference: Record<string, Float64Array> = {};
    const current: Record<string, Float64Array> = {};
    for (const [i, f] of features.entries()) {
      reference[f] = normal(2000, 3000 + i);
      current[f] = normal(2000, 4000 + i, f === 'f0' ? 3 : 0);
    }
    for (const correction of ['bonferroni', 'bh'] as const) {
      const config = parseDriftConfig({ correction, voters: ['anderson'], minVotes: 1 });
      const r = evaluateDrift({ reference, current, features, config });
      // SciPy reports the floored 0.001; ×50 would be 0.05, which is not < α.
      expect(r.features.f0.tests.anderson).toMatchObject({ pvalue: 0.001, floored: true, drift: true });
      // A feature drawn from the same distribution still does not vote.
      expect(r.features.f1.tests.anderson).toMatchObject({ drift: false });
    }
  });
});

describe('the current window’s distribution in a report', () => {
  // Reference 0, 2, …, 200 (101 values) and current 1, 2, …, 101: NumPy's linear quantile of an
  // evenly spaced sample is its linear interpolation, so q(p) = 200p and 1 + 100p exactly.
  const ref = Array.from({ length: 101 }, (_, i) => 2 * i);
  const cur = Array.from({ length: 101 }, (_, i) => i + 1);

  it('keeps both samples’ quantiles at 0, 0.05, …, 1', () => {
    const d = verdict(ref, cur).feature.distribution;
    expect(d?.probabilities).toHaveLength(21);
    d?.probabilities.forEach((p, i) => {
      expect(p).toBeCloseTo(i / 20, 15);
      expect(d.reference[i]).toBeCloseTo(200 * p, 9);
      expect(d.current[i]).toBeCloseTo(1 + 100 * p, 9);
    });
  });

  it('counts both samples in the reference-decile bins the JS and PSI tests use', () => {
    const d = verdict(ref, cur).feature.distribution;
    expect(d?.edges).toEqual([20, 40, 60, 80, 100, 120, 140, 160, 180]);
    // Bins (−∞,20), [20,40), …: the current 1…101 fills the lower half only.
    expect(d?.countsCurrent).toEqual([19, 20, 20, 20, 20, 2, 0, 0, 0, 0]);
    expect(d?.countsReference).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 11]);
  });

  it('stays the same size whatever the window’s size', () => {
    const big = verdict(refFor(10_000), normal(200_000, 9)).feature.distribution;
    expect(big?.current).toHaveLength(21);
    expect(big?.countsCurrent.reduce((a, b) => a + b, 0)).toBe(200_000);
    expect(JSON.stringify(big).length).toBeLessThan(2_500);
  });

  it('has none when the window is empty', () => {
    expect(verdict(ref, []).feature.distribution).toBeUndefined();
  });
});
