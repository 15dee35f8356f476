import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareShadow, judge, spearman, twoProportionTest } from '#core/release/judge.ts';
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

describe('twoProportionTest', () => {
  // Expected values: the pooled z-test's closed form evaluated independently
  // (z = Δp / √(p̄(1−p̄)(1/n₁+1/n₂)), p = erfc(|z|/√2), Python's math module).
  it.each([
    [50, 1000, 80, 1000, 2.721095431170472, 0.006506597483637838],
    [120, 10000, 30, 1000, 4.679595870534199, 2.8744092882981672e-6],
    [300, 30000, 3, 300, 0, 1],
  ])('blue %i/%i vs green %i/%i: z %f, p %f', (bh, bn, gh, gn, z, p) => {
    const r = twoProportionTest(bh, bn, gh, gn);
    expect(r.z).toBeCloseTo(z, 9);
    expect(r.pValue).toBeCloseTo(p, 9);
    expect(r.ratio).toBeCloseTo(gh / gn / (bh / bn), 12);
  });

  it('is symmetric: swapping the sides negates z and keeps p', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n1, n2, r1, r2) => {
          const h1 = Math.round(n1 * r1);
          const h2 = Math.round(n2 * r2);
          const a = twoProportionTest(h1, n1, h2, n2);
          const b = twoProportionTest(h2, n2, h1, n1);
          expect(b.z).toBeCloseTo(-a.z, 9);
          expect(b.pValue).toBeCloseTo(a.pValue, 9);
          expect(a.pValue).toBeGreaterThanOrEqual(0);
          expect(a.pValue).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it('has no variance when both sides flag nothing', () => {
    expect(twoProportionTest(0, 100, 0, 100)).toMatchObject({ z: 0, pValue: 1, ratio: 1 });
    expect(twoProportionTest(0, 100, 5, 100).ratio).toBe(Number.POSITIVE_INFINITY);
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
