import { describe, expect, it } from 'vitest';
import { bootstrapCalibrator, effectiveSize, nullQuantile, sizeBucket } from '#core/drift/calibration.ts';
import { parseDriftConfig } from '#core/drift/config.ts';
import { consensusLevel } from '#core/drift/consensus.ts';
import { wasserstein1 } from '#core/drift/distances.ts';
import { ksSize } from '#core/drift/ks.ts';
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
    ['poisson', 50],
    ['poisson', 100],
    ['t3', 50],
    ['t3', 100],
    ['clipped', 50],
  ] as const) {
    it(`${family}, n = ${n}: ≤ ${LIMIT * 100} % over ${PAIRS} pairs`, () => {
      expect(falseAlarms(family, n, PAIRS)).toBeLessThanOrEqual(LIMIT);
    });
  }

  it('the paired negative: a fixed 0.1 Wasserstein threshold votes on most same normal pairs at n = 50, the null quantile on few', () => {
    const rate = (cfg: typeof config) => {
      let v = 0;
      for (let p = 0; p < PAIRS; p++) {
        const reference = { x: FAMILIES.normal(50, 50_000 + 2 * p) };
        const current = { x: FAMILIES.normal(50, 50_001 + 2 * p) };
        const w = evaluateDrift({ reference, current, features: ['x'], config: cfg }).features.x.tests
          .wasserstein;
        if ('drift' in w && w.drift) v++;
      }
      return v / PAIRS;
    };
    expect(rate(fixed)).toBeGreaterThan(0.5);
    // The bootstrap from a 50-value reference runs somewhat above α on its own (9 % here: the
    // reference's own noise is not in the null); the consensus level and KS keep the verdict at α.
    expect(rate(config)).toBeLessThanOrEqual(2 * 0.05);
  });
});

/** Pr(X ≥ k) for X ~ Binomial(n, p), summed directly (independent of the code under test). */
function binomialTail(n: number, p: number, k: number): number {
  let term = (1 - p) ** n; // Pr(X = 0)
  let below = 0;
  for (let j = 0; j < k; j++) {
    below += term;
    term *= ((n - j) / (j + 1)) * (p / (1 - p));
  }
  return 1 - below;
}

/** Enumerates every split of m + n distinct values into samples of m and n: the exact null law of D. */
function bruteKsSize(m: number, n: number, alpha: number): number {
  const N = m + n;
  const ds: number[] = [];
  // Each bit pattern with m ones (the reference's ranks) is one equally likely arrangement.
  for (let mask = 0; mask < 1 << N; mask++) {
    let ones = 0;
    for (let b = 0; b < N; b++) if (mask & (1 << b)) ones++;
    if (ones !== m) continue;
    let i = 0;
    let j = 0;
    let d = 0;
    for (let b = 0; b < N; b++) {
      if (mask & (1 << b)) i++;
      else j++;
      d = Math.max(d, Math.abs(i / m - j / n));
    }
    ds.push(d);
  }
  const total = ds.length;
  const sf = (x: number) => ds.filter((v) => v >= x - 1e-12).length / total;
  // Size of "p < α": the largest Pr(D ≥ d) below α over attained d.
  let size = 0;
  for (const d of new Set(ds)) {
    const p = sf(d);
    if (p < alpha) size = Math.max(size, p);
  }
  return size;
}

describe('KS is never out-voted, and the union keeps its level', () => {
  it('the size of "KS p < α" matches an enumeration of every arrangement (equal and unequal sizes)', () => {
    for (const [m, n, a] of [
      [6, 6, 0.05],
      [8, 8, 0.1],
      [5, 7, 0.05],
      [6, 9, 0.1],
    ] as const) {
      expect(ksSize(m, n, a)).toBeCloseTo(bruteKsSize(m, n, a), 10);
    }
  });

  it('the consensus level spends exactly the spare level KS leaves: none when KS is not conservative', () => {
    // 100 vs 100: D moves in steps of 0.01, so KS at α = 0.05 rejects with probability ≈ 0.036 only.
    const spare = 0.05 - ksSize(100, 100, 0.05);
    expect(spare).toBeGreaterThan(0.01);
    expect(consensusLevel({ m: 100, n: 100, alpha: 0.05, voters: 5, minVotes: 3 })).toBeCloseTo(
      (3 * spare) / 4,
      12,
    );
    // Asymptotic p-values (n > 10,000): no lattice slack is claimed, the verdict is KS alone.
    expect(consensusLevel({ m: 10_000, n: 100_000, alpha: 0.05, voters: 5, minVotes: 3 })).toBe(0);
  });

  // t₃ (heavy tails spoil the mean-shift and Wasserstein votes) and Poisson moved off its lattice
  // (only KS sees the atoms jump): the two cases where a plain 3-of-5 vote at α fell below KS.
  const offLattice = (n: number, seed: number, shift = 0) =>
    Float64Array.from(FAMILIES.poisson(n, seed), (v) => v + shift * Math.sqrt(3));
  for (const [label, gen, n] of [
    ['t3', FAMILIES.t3, 50],
    ['t3', FAMILIES.t3, 100],
    ['poisson off its lattice', offLattice, 100],
  ] as const) {
    it(`${label}, n = ${n}, 200 paired draws of a 0.2-sd shift: drift wherever KS alone detects, and the 3-of-5 count at α alone would miss some`, () => {
      let ks = 0;
      let verdict = 0;
      let missedByPlainVote = 0;
      for (let p = 0; p < 200; p++) {
        const reference = { x: gen(n, 90_000 + 2 * p) };
        const current = { x: gen(n, 90_001 + 2 * p, 0.2) };
        const f = evaluateDrift({ reference, current, features: ['x'], config }).features.x;
        const k = f.tests.ks;
        const ksAlone = 'drift' in k && k.drift && f.effect.floorMet;
        if (ksAlone) ks++;
        if (f.drifted) verdict++;
        expect(f.drifted || !ksAlone).toBe(true);
        if (ksAlone && f.votes < config.minVotes) missedByPlainVote++;
      }
      expect(ks).toBeGreaterThan(10); // the case has power: the comparison is not vacuous
      expect(verdict).toBeGreaterThanOrEqual(ks);
      expect(missedByPlainVote).toBeGreaterThan(0);
    });
  }

  it('false alarms on t₃ at n = 100 over 400 pairs are within the binomial bound of α', () => {
    const pairs = 400;
    const alarms = Math.round(falseAlarms('t3', 100, pairs) * pairs);
    // At a true rate of α = 0.05, Pr(X ≥ alarms) must not be below 1 % (an excess would be that unlikely).
    expect(binomialTail(pairs, 0.05, alarms)).toBeGreaterThan(0.01);
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
