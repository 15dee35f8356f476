import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareShadow, judge, rateRatioTest, spearman } from '#core/release/judge.ts';
import { parseReleaseSettings } from '#core/release/policy.ts';
import type { ShadowComparison, VersionReadings } from '#core/release/types.ts';

const settings = parseReleaseSettings({});

/** A version's readings over a window: `n` invocations of one row each. */
const readings = (over: Partial<VersionReadings> & { functionVersion: string }): VersionReadings => ({
  modelVersion: over.functionVersion === 'blue' ? 1 : 2,
  invocations: 1000,
  errors: 0,
  serverErrors: 0,
  dependencyErrors: 0,
  p99DurationMs: 40,
  rowsScored: 1000,
  anomalies: 10,
  captureErrors: 0,
  ...over,
});
const blue = (o: Partial<VersionReadings> = {}) =>
  readings({ functionVersion: 'blue', invocations: 9000, rowsScored: 9000, anomalies: 90, ...o });
const green = (o: Partial<VersionReadings> = {}) => readings({ functionVersion: 'green', ...o });
const base = { lastStep: false, pausesSoFar: 0 };

describe('rateRatioTest (log rate ratio, Katz)', () => {
  // Expected values: the closed form z = (ln(p̂g/p̂b) − ln r) / √(1/xg − 1/ng + 1/xb − 1/nb),
  // p = erfc(|z|/√2), evaluated independently with Python's math module (½ added to each count
  // and 1 to each n when a side has no hits). By hand for the first row: ln(0.08/0.05) = 0.470004,
  // variance 1/80 − 1/1000 + 1/50 − 1/1000 = 0.0305, z = 0.470004 / 0.174642 = 2.69123.
  it.each([
    [50, 1000, 80, 1000, 1, 2.69123295227581, 0.007118846659220118],
    [120, 10000, 30, 1000, 1, 4.549342477304236, 5.381379979445504e-6],
    [300, 30000, 3, 300, 1, 0, 1],
    [450, 1000, 45, 1000, 1, -15.369553771665808, 2.619671923508613e-53],
    [400, 9000, 10, 1000, 0.1, 2.546761648313285, 0.010872766851461248],
    [0, 1000, 5, 1000, 1, 1.6241265919096817, 0.10434879370661093],
    [270, 2700, 0, 300, 1, -2.8985351472918857, 0.0037491028549140057],
  ])('blue %i/%i vs green %i/%i, H0 ratio %f: z %f, p %f', (bh, bn, gh, gn, r, z, p) => {
    const t = rateRatioTest(bh, bn, gh, gn, r);
    expect(t.z).toBeCloseTo(z, 9);
    expect(t.pValue).toBeCloseTo(p, 9);
    expect(t.expectedRatio).toBe(r);
    if (bh > 0) expect(t.ratio).toBeCloseTo(gh / gn / (bh / bn), 12);
  });

  it('does not reject when the observed ratio is the expected one (a 10× drop expected and seen)', () => {
    const t = rateRatioTest(450, 1000, 45, 1000, 0.1);
    expect(t.z).toBeCloseTo(0, 9);
    expect(t.pValue).toBeCloseTo(1, 9);
    // The same counts against "no difference" are far beyond any α.
    expect(rateRatioTest(450, 1000, 45, 1000).pValue).toBeLessThan(1e-40);
  });

  // The evaluated ratio's own variance joins the test's under the root (same closed form + v).
  it.each([
    [400, 9000, 10, 1000, 0.1, 0.05, 2.084186038316836, 0.03714324822732118],
    // A canary seen on the twin: blue 2639/4600, green 24/350, evaluated 12 vs 171 of 300 rows
    // (v = 1/12 − 1/300 + 1/171 − 1/300): significant at 0.007 if r were exact, not with v.
    [2639, 4600, 24, 350, 12 / 171, 0, 2.6975907879197423, 0.006984323708946877],
    [
      2639,
      4600,
      24,
      350,
      12 / 171,
      1 / 12 - 1 / 300 + 1 / 171 - 1 / 300,
      1.527863830107207,
      0.12654635023491853,
    ],
  ])('blue %i/%i vs green %i/%i, H0 ratio %f ± variance %f: z %f, p %f', (bh, bn, gh, gn, r, v, z, p) => {
    const t = rateRatioTest(bh, bn, gh, gn, r, v);
    expect(t.z).toBeCloseTo(z, 9);
    expect(t.pValue).toBeCloseTo(p, 9);
    expect(t.expectedLogVariance).toBe(v);
  });

  it('is symmetric: swapping the sides and inverting r negates z and keeps p', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (n1, n2, r1, r2, r) => {
          const h1 = Math.round(n1 * r1);
          const h2 = Math.round(n2 * r2);
          const a = rateRatioTest(h1, n1, h2, n2, r);
          const b = rateRatioTest(h2, n2, h1, n1, 1 / r);
          expect(b.z).toBeCloseTo(-a.z, 9);
          expect(b.pValue).toBeCloseTo(a.pValue, 9);
          expect(a.pValue).toBeGreaterThanOrEqual(0);
          expect(a.pValue).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('has no variance when both sides flag every row, and refuses a non-positive r', () => {
    expect(rateRatioTest(100, 100, 100, 100)).toMatchObject({ z: 0, pValue: 1, ratio: 1 });
    expect(rateRatioTest(0, 100, 0, 100)).toMatchObject({ ratio: 1, z: 0 });
    expect(rateRatioTest(0, 100, 5, 100).ratio).toBe(Number.POSITIVE_INFINITY);
    expect(() => rateRatioTest(1, 100, 1, 100, 0)).toThrow(RangeError);
    expect(() => rateRatioTest(1, 100, 1, 100, 1, -1)).toThrow(RangeError);
    expect(() => rateRatioTest(1, 0, 1, 100)).toThrow(RangeError);
  });
});

describe('spearman', () => {
  it('matches 1 − 6Σd²/(n(n²−1)) without ties', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer(), { minLength: 3, maxLength: 40 }), fc.integer(), (xs, seed) => {
        // A permutation of ranks as the second sample: ranks are then exact integers.
        const ys = xs.map((_, i) => (((i * 7919 + seed) >>> 0) % 1_000_003) + i / 1e6);
        const rank = (v: number[]) => {
          const s = [...v].sort((a, b) => a - b);
          return v.map((x) => s.indexOf(x) + 1);
        };
        const rx = rank(xs);
        const ry = rank(ys);
        const n = xs.length;
        const d2 = rx.reduce((acc, r, i) => acc + (r - (ry[i] as number)) ** 2, 0);
        expect(spearman(xs, ys)).toBeCloseTo(1 - (6 * d2) / (n * (n * n - 1)), 9);
      }),
    );
  });

  it('averages tied ranks as scipy.stats.spearmanr does', () => {
    // scipy.stats.spearmanr([1,2,2,3,5,4,4,7],[2,1,3,3,6,5,4,8]).statistic
    expect(spearman([1, 2, 2, 3, 5, 4, 4, 7], [2, 1, 3, 3, 6, 5, 4, 8])).toBeCloseTo(0.9394111922831736, 12);
  });
});

describe('compareShadow', () => {
  it('counts disagreements and the anomaly-rate ratio', () => {
    const pairs = [
      { blueScore: 0.1, blueAnomaly: false, greenScore: 0.2, greenAnomaly: false },
      { blueScore: 0.9, blueAnomaly: true, greenScore: 0.8, greenAnomaly: true },
      { blueScore: 0.5, blueAnomaly: false, greenScore: 0.7, greenAnomaly: true },
      { blueScore: 0.3, blueAnomaly: false, greenScore: 0.1, greenAnomaly: false },
    ];
    const c = compareShadow(pairs, 3);
    expect(c).toMatchObject({ rows: 4, disagreement: 0.25, anomalyRateRatio: 2, addedP99Ms: 3 });
    // ranks blue 1,4,3,2 vs green 2,4,3,1: Σd² = 2 → 1 − 12/60
    expect(c.rankCorrelation).toBeCloseTo(0.8, 12);
  });
});

describe('judge', () => {
  it('continues on a clean intermediate step and promotes on the last', () => {
    expect(judge({ ...base, blue: blue(), green: green() }, settings)).toMatchObject({
      decision: 'continue',
      breaches: [],
    });
    expect(judge({ ...base, lastStep: true, blue: blue(), green: green() }, settings).decision).toBe(
      'promote',
    );
  });

  it.each<[string, Partial<VersionReadings>, string]>([
    ['a handler that throws', { errors: 1000 }, 'errors'],
    ['genuine 500s', { serverErrors: 50 }, 'server-errors'],
    ['a slow candidate (absolute)', { p99DurationMs: 2500 }, 'p99'],
    ['a slow candidate (relative to blue)', { p99DurationMs: 200 }, 'p99'],
    ['capture errors', { captureErrors: 40 }, 'capture-errors'],
    ['a candidate that flags nearly everything', { anomalies: 950 }, 'anomaly-rate'],
    ['a candidate that flags nothing', { anomalies: 0, rowsScored: 3000, invocations: 3000 }, 'anomaly-rate'],
  ])('rolls back %s', (_, g, signal) => {
    const v = judge({ ...base, blue: blue(), green: green(g) }, settings);
    expect(v.decision).toBe('rollback');
    expect(v.breaches.map((b) => b.signal)).toContain(signal);
  });

  it('rolls back a candidate that throws on every call even below minInvocations', () => {
    const v = judge(
      { ...base, blue: blue(), green: green({ invocations: 5, errors: 5, rowsScored: 0, anomalies: 0 }) },
      settings,
    );
    expect(v.decision).toBe('rollback');
    expect(v.breaches[0]).toMatchObject({ signal: 'errors', value: 1 });
  });

  it.each<[string, Partial<VersionReadings>]>([
    ['two errors in a thousand (below minCount)', { errors: 2 }],
    ['a p99 slower than blue by less than minDeltaMs', { p99DurationMs: 75 }],
    ['a 30 % higher anomaly rate (within maxRatio)', { anomalies: 13 }],
    ['a large ratio on too few rows', { rowsScored: 50, invocations: 50, anomalies: 3 }],
  ])('does not roll back %s', (_, g) => {
    expect(judge({ ...base, blue: blue(), green: green(g) }, settings).decision).toBe('continue');
  });

  it('needs significance, not only a ratio: 2 vs 1 expected anomalies on 100 rows passes', () => {
    const v = judge(
      { ...base, blue: blue(), green: green({ rowsScored: 100, invocations: 100, anomalies: 2 }) },
      settings,
    );
    expect(v.anomalyRate?.ratio).toBeCloseTo(2, 9);
    expect(v.anomalyRate?.pValue).toBeGreaterThan(0.01);
    expect(v.decision).toBe('continue');
  });

  it('pauses on dependency errors instead of judging, and gives up after maxPauses', () => {
    const outage = {
      blue: blue({ dependencyErrors: 30 }),
      green: green({ dependencyErrors: 4, captureErrors: 400 }),
    };
    expect(judge({ ...base, ...outage }, settings)).toMatchObject({ decision: 'pause', breaches: [] });
    const last = judge({ ...base, ...outage, pausesSoFar: settings.judgement.maxPauses }, settings);
    expect(last.decision).toBe('rollback');
    expect(last.breaches[0]?.signal).toBe('paused-too-long');
  });

  it('rolls back on a shifted score distribution and passes the same distribution', () => {
    const grid = (n: number, shift: number) => Array.from({ length: n }, (_, i) => (i + 0.5) / n + shift);
    const shifted = judge(
      { ...base, blue: blue(), green: green(), scores: { blue: grid(400, 0), green: grid(200, 0.4) } },
      settings,
    );
    expect(shifted.breaches.map((b) => b.signal)).toEqual(['score-ks']);
    expect(shifted.scoreKs?.d).toBeCloseTo(0.4, 2);
    const same = judge(
      { ...base, blue: blue(), green: green(), scores: { blue: grid(400, 0), green: grid(200, 0) } },
      settings,
    );
    expect(same.decision).toBe('continue');
    expect(same.scoreKs?.d).toBeLessThan(0.01);
  });

  it('judges the shadow comparison', () => {
    const ok: ShadowComparison = {
      rows: 500,
      disagreement: 0.01,
      rankCorrelation: 0.97,
      anomalyRateRatio: 1.1,
      addedP99Ms: 4,
    };
    expect(judge({ ...base, shadow: ok }, settings).decision).toBe('continue');
    for (const [bad, signal] of [
      [{ disagreement: 0.3 }, 'shadow-disagreement'],
      [{ rankCorrelation: 0.2 }, 'shadow-rank-correlation'],
      [{ rankCorrelation: Number.NaN }, 'shadow-rank-correlation'],
      [{ anomalyRateRatio: 9 }, 'shadow-anomaly-rate'],
      [{ addedP99Ms: 400 }, 'shadow-latency'],
    ] as const) {
      const v = judge({ ...base, shadow: { ...ok, ...bad } }, settings);
      expect(v.decision, signal).toBe('rollback');
      expect(v.breaches.map((b) => b.signal)).toEqual([signal]);
    }
    expect(judge({ ...base, shadow: { ...ok, rows: 20, disagreement: 0.5 } }, settings).decision).toBe(
      'continue',
    );
  });
});

describe('judge with an expected difference (a retrained candidate on shifted traffic)', () => {
  // Shifted traffic: the old production model (blue) flags 40 % of it; the retrained candidate was
  // evaluated at 5 % on the same recent traffic, so the expected ratio is 0.125 and its scores
  // differ from production's by KS D 0.35.
  const shiftedBlue = () => blue({ anomalies: 3600 });
  const expected = { anomalyRateRatio: 0.05 / 0.4, scoreKsD: 0.35 };
  const grid = (n: number, shift: number) => Array.from({ length: n }, (_, i) => (i + 0.5) / n + shift);

  it('does not roll back a candidate at its evaluated ratio, which the plain regression check would', () => {
    const g = green({ anomalies: 50 });
    const v = judge({ ...base, blue: shiftedBlue(), green: g, expected }, settings);
    expect(v.decision).toBe('continue');
    expect(v.anomalyRate).toMatchObject({ ratio: 0.125, expectedRatio: 0.125 });
    expect(v.anomalyRate?.z).toBeCloseTo(0, 9);
    const plain = judge({ ...base, blue: shiftedBlue(), green: g }, settings);
    expect(plain.decision).toBe('rollback');
    expect(plain.breaches.map((b) => b.signal)).toEqual(['anomaly-rate']);
  });

  it.each<[string, number, string]>([
    ['within maxRatio of the evaluated ratio (7 % vs 5 %)', 70, 'continue'],
    ['a little under it (4 %)', 40, 'continue'],
    ['flagging nearly everything (95 %)', 950, 'rollback'],
    ['flagging as much as the old model (40 %)', 400, 'rollback'],
    ['flagging a tenth of its evaluated rate (0.5 %)', 5, 'rollback'],
  ])('a candidate %s: %s', (_, anomalies, decision) => {
    const v = judge({ ...base, blue: shiftedBlue(), green: green({ anomalies }), expected }, settings);
    expect(v.decision).toBe(decision);
    if (decision === 'rollback') {
      expect(v.breaches[0]).toMatchObject({ signal: 'anomaly-rate', limit: 1.5 });
      expect(v.breaches[0]?.value).toBeCloseTo(anomalies / 1000 / 0.4 / 0.125, 9);
    }
  });

  it('tolerates the evaluated score shift, and rolls back beyond expected D + maxD', () => {
    const at = { ...base, blue: shiftedBlue(), green: green({ anomalies: 50 }) };
    const within = judge(
      { ...at, expected, scores: { blue: grid(400, 0), green: grid(200, 0.4) } },
      settings,
    );
    expect(within.decision).toBe('continue');
    expect(within.scoreKs).toMatchObject({ expectedD: 0.35, limitD: 0.35 + 0.2 });
    const beyond = judge(
      { ...at, expected, scores: { blue: grid(400, 0), green: grid(200, 0.7) } },
      settings,
    );
    expect(beyond.breaches).toEqual([expect.objectContaining({ signal: 'score-ks', limit: 0.35 + 0.2 })]);
    expect(beyond.breaches[0]?.value).toBeCloseTo(0.7, 2);
  });

  it('rolls back on the shadow anomaly-rate ratio only when the shadow counts make it significant', () => {
    // What a loaded CI twin saw: 273 shadow rows, blue flagged 78, green 6: ratio 0.0769 against an
    // expected 0.1193 (Var ln r 0.09 from the evaluation) is 0.645 of it, below 1/1.5, but with 6
    // anomalies the log ratio's standard error is √(1/78 − 1/273 + 1/6 − 1/273 + 0.09) ≈ 0.51 for a
    // distance of ln 0.645 ≈ −0.44: z ≈ −0.86, p ≈ 0.39 — chance, not a breach.
    const exp = {
      anomalyRateRatio: 0.1193,
      scoreKsD: 0.3,
      anomalyRateLogVariance: 0.09,
      disagreement: 0.25,
      rankCorrelation: 0.9,
    };
    const few: ShadowComparison = {
      rows: 273,
      disagreement: 0.25,
      rankCorrelation: 0.9,
      anomalyRateRatio: 6 / 78,
      blueAnomalies: 78,
      greenAnomalies: 6,
      addedP99Ms: 4,
    };
    const calm = judge({ ...base, shadow: few, expected: exp }, settings);
    expect(calm.breaches).toEqual([]);
    // The same ratio over 100× the rows, r taken as exact, is significant (z ≈ −0.44 / 0.041 ≈ −10.6):
    // a breach.
    const many: ShadowComparison = { ...few, rows: 27_300, blueAnomalies: 7800, greenAnomalies: 600 };
    const tight = { ...exp, anomalyRateLogVariance: 0 };
    const breach = judge({ ...base, shadow: many, expected: tight }, settings);
    expect(breach.breaches.map((b) => b.signal)).toEqual(['shadow-anomaly-rate']);
    expect(breach.breaches[0]?.value).toBeCloseTo(6 / 78 / 0.1193, 6);
  });

  it('judges the shadow comparison relative to the evaluated disagreement, correlation and ratio', () => {
    // Evaluated: verdicts differed on 36 % of the holdout, Spearman 0.6.
    const exp = { ...expected, disagreement: 0.36, rankCorrelation: 0.6 };
    const sh: ShadowComparison = {
      rows: 500,
      disagreement: 0.37,
      rankCorrelation: 0.58,
      anomalyRateRatio: 0.12,
      addedP99Ms: 4,
    };
    expect(judge({ ...base, shadow: sh, expected: exp }, settings).decision).toBe('continue');
    expect(judge({ ...base, shadow: sh }, settings).breaches.map((b) => b.signal)).toEqual([
      'shadow-disagreement',
      'shadow-rank-correlation',
      'shadow-anomaly-rate',
    ]);
    const beyond = judge(
      { ...base, shadow: { ...sh, disagreement: 0.5, rankCorrelation: 0.3 }, expected: exp },
      settings,
    );
    expect(beyond.breaches.map((b) => [b.signal, b.limit])).toEqual([
      ['shadow-disagreement', 0.36 + 0.05],
      ['shadow-rank-correlation', 0.8 - (1 - 0.6)],
    ]);
    // The evaluation's own noise widens both by 3 standard errors: 0.45 and 0.3 pass with them.
    const noisy = { ...exp, disagreementStdErr: 0.03, rankCorrelationStdErr: 0.04 };
    const widened = { ...sh, disagreement: 0.45, rankCorrelation: 0.3 };
    expect(judge({ ...base, shadow: widened, expected: noisy }, settings).decision).toBe('continue');
    expect(
      judge({ ...base, shadow: widened, expected: exp }, settings).breaches.map((b) => b.signal),
    ).toEqual(['shadow-disagreement', 'shadow-rank-correlation']);
    const far = judge({ ...base, shadow: { ...sh, disagreement: 0.55 }, expected: noisy }, settings);
    expect(far.breaches[0]?.signal).toBe('shadow-disagreement');
    expect(far.breaches[0]?.limit).toBeCloseTo(0.36 + 0.05 + 3 * 0.03, 12);
  });

  it('with no expected difference (r = 1, D = 0, …) decides exactly as without one', () => {
    const none = {
      anomalyRateRatio: 1,
      anomalyRateLogVariance: 0,
      scoreKsD: 0,
      disagreement: 0,
      rankCorrelation: 1,
    };
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        fc.record({
          rows: fc.integer({ min: 0, max: 1000 }),
          disagreement: fc.double({ min: 0, max: 1, noNaN: true }),
          rankCorrelation: fc.double({ min: -1, max: 1, noNaN: true }),
          anomalyRateRatio: fc.double({ min: 0, max: 5, noNaN: true }),
          addedP99Ms: fc.double({ min: 0, max: 100, noNaN: true }),
        }),
        (nb, kb, ng, kg, shift, shadow) => {
          const input = {
            ...base,
            blue: blue({ rowsScored: nb, anomalies: Math.min(kb, nb) }),
            green: green({ rowsScored: ng, anomalies: Math.min(kg, ng) }),
            scores: { blue: grid(120, 0), green: grid(80, shift) },
            shadow,
          };
          const a = judge(input, settings);
          const b = judge({ ...input, expected: none }, settings);
          expect(b.decision).toBe(a.decision);
          expect(b.breaches).toEqual(a.breaches);
        },
      ),
      { numRuns: 200 },
    );
  });
});
