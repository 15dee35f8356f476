import { describe, expect, it } from 'vitest';
import { parseDriftConfig } from '#core/drift/config.ts';
import { reduceDriftSummaries } from '#core/drift/reduce.ts';
import { buildDriftReport } from '#core/drift/report.ts';
import {
  ksErrorBound,
  mergeSummaries,
  SummaryMismatchError,
  summarizeRows,
  type WeightedRow,
  type WindowSummary,
  weightBias,
} from '#core/drift/summary.ts';
import { manifestWith, normal, rng } from './helpers.ts';

const config = parseDriftConfig();
const window = { from: '2025-01-01T00:00:00.000Z', to: '2025-01-01T01:00:00.000Z' };

/** Test-side KS statistic: the largest gap between the two ECDFs, by a naive merge sweep. */
function naiveKs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const x = Array.from(a).sort((p, q) => p - q);
  const y = Array.from(b).sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i], y[j]);
    while (i < x.length && x[i] === v) i++;
    while (j < y.length && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** Splits a column into `parts` partitions of rows and summarizes each with its own seed. */
function partitionSummaries(cols: Record<string, Float64Array>, parts: number, capacity: number, seed = 1) {
  const names = Object.keys(cols);
  const n = cols[names[0]].length;
  const out: WindowSummary[] = [];
  for (let p = 0; p < parts; p++) {
    const rows: WeightedRow[] = [];
    for (let i = p; i < n; i += parts) {
      const r: Record<string, number> = {};
      for (const f of names) r[f] = cols[f][i];
      rows.push({ features: r });
    }
    out.push(summarizeRows(names, rows, { seed: seed * 1000 + p, capacity }));
  }
  return out;
}

describe('window summaries', () => {
  it('hold every row and the exact moments while the window fits the reservoir', () => {
    const rows: WeightedRow[] = [
      { features: { x: 1, y: 10 } },
      { features: { x: 2, y: Number.NaN } },
      { features: { x: 4 }, sampleRate: 0.5 },
    ];
    const a = summarizeRows(['x', 'y'], rows.slice(0, 2), { seed: 1, capacity: 10 });
    const b = summarizeRows(['x', 'y'], rows.slice(2), { seed: 2, capacity: 10 });
    const m = mergeSummaries([a, b]);
    expect(m.rows).toBe(3);
    expect(m.weight).toBe(4);
    expect(m.threshold).toBeNull();
    expect(m.sample.keys).toHaveLength(3);
    // Weighted by 1/sampleRate: x = (1 + 2 + 2·4) / 4.
    expect(m.moments.x).toMatchObject({ n: 3, nonFinite: 0, weight: 4, sum: 11, min: 1, max: 4 });
    expect(m.moments.y).toMatchObject({ n: 1, nonFinite: 2, sum: 10 });
    expect([...m.sample.values].map((v) => v[0]).sort()).toEqual([1, 2, 4]);
  });

  it('merge is order-independent and associative', () => {
    const cols = { x: normal(3000, 11) };
    const [a, b, c] = partitionSummaries(cols, 3, 200);
    const left = mergeSummaries([mergeSummaries([a, b]), c]);
    const right = mergeSummaries([c, mergeSummaries([b, a])]);
    expect(right.sample.keys).toEqual(left.sample.keys);
    expect(right.sample.values).toEqual(left.sample.values);
    expect(right.threshold).toBe(left.threshold);
    expect(right.partitions).toBe(3);
    expect(left.sample.keys).toHaveLength(200);
  });

  it('keeps the threshold below every kept key and above none', () => {
    const [a, b] = partitionSummaries({ x: normal(2000, 12) }, 2, 100);
    const m = mergeSummaries([a, b]);
    const t = m.threshold as number;
    expect(Math.max(...m.sample.keys)).toBeLessThan(t);
    // The threshold is a key some partition saw and the merge dropped: not in the reservoir.
    expect(m.sample.keys).not.toContain(t);
  });

  it('samples scored rows uniformly: a row captured at rate 0.1 counts ten times', () => {
    // 2,000 rows of value 0 captured at rate 0.1 (20,000 scored) and 2,000 of value 1 at rate 1.
    const rows: WeightedRow[] = [];
    for (let i = 0; i < 2000; i++) rows.push({ features: { x: 0 }, sampleRate: 0.1 });
    for (let i = 0; i < 2000; i++) rows.push({ features: { x: 1 }, sampleRate: 1 });
    const u = rng(5);
    rows.sort(() => u() - 0.5);
    const s = summarizeRows(['x'], rows, { seed: 3, capacity: 400 });
    const zeros = s.sample.values.filter((v) => v[0] === 0).length / 400;
    // Uniform over scored rows: 20,000 / 22,000 = 0.909; unweighted it would be 0.5.
    expect(Math.abs(zeros - 20 / 22)).toBeLessThan(0.05);
    expect(weightBias(s)).toBeLessThan(0.05);
  });

  it('reports a large bias when the reservoir holds every row at mixed rates', () => {
    const rows: WeightedRow[] = [
      ...Array.from({ length: 50 }, () => ({ features: { x: 0 }, sampleRate: 0.01 })),
      ...Array.from({ length: 50 }, () => ({ features: { x: 1 }, sampleRate: 1 })),
    ];
    const s = summarizeRows(['x'], rows, { seed: 1, capacity: 1000 });
    // Equal weights on 100 rows vs weights 100:1 → TV = 0.5 − 50/(50·101) ≈ 0.495.
    expect(weightBias(s)).toBeCloseTo(0.5 - 1 / 101, 6);
  });

  it('rejects rates outside (0, 1] and summaries that do not match', () => {
    expect(() => summarizeRows(['x'], [{ features: { x: 1 }, sampleRate: 0 }], { seed: 1 })).toThrow(
      /sampleRate/,
    );
    const a = summarizeRows(['x'], [{ features: { x: 1 } }], { seed: 1, capacity: 5 });
    const b = summarizeRows(['y'], [{ features: { y: 1 } }], { seed: 1, capacity: 5 });
    const c = summarizeRows(['x'], [{ features: { x: 1 } }], { seed: 1, capacity: 6 });
    expect(() => mergeSummaries([a, b])).toThrow(SummaryMismatchError);
    expect(() => mergeSummaries([a, c])).toThrow(/capacities/);
    expect(() => mergeSummaries([])).toThrow(SummaryMismatchError);
  });

  it('states the DKW bound: sqrt(ln(2/δ) / 2k)', () => {
    expect(ksErrorBound(20_000, 0.001)).toBeCloseTo(Math.sqrt(Math.log(2000) / 40_000), 12);
    expect(ksErrorBound(20_000, 0.001)).toBeLessThan(0.014);
  });
});

describe('reduced report vs the exact in-memory report (100,000 rows, 8 partitions, k = 5,000)', () => {
  const N = 100_000;
  const K = 5_000;
  const manifest = manifestWith({ x: normal(5_000, 21), y: normal(5_000, 22, 10, 2) });
  const cases = [
    { name: 'unshifted', shift: 0, drift: false },
    { name: 'shifted by 0.2 sd', shift: 0.2, drift: true },
  ];
  for (const c of cases) {
    for (const seed of [1, 2]) {
      it(`${c.name} (seed ${seed}): KS within the stated bound, same verdict`, () => {
        const cols = { x: normal(N, 100 + seed, c.shift), y: normal(N, 200 + seed, 10 + 2 * c.shift, 2) };
        const summaries = partitionSummaries(cols, 8, K, seed);
        const approx = reduceDriftSummaries({ manifest, summaries, window, config });
        const rows = Array.from({ length: N }, (_, i) => ({ x: cols.x[i], y: cols.y[i] }));
        const exact = buildDriftReport({ manifest, rows, window, config });
        const bound = approx.approximation.ksErrorBound;
        expect(bound).toBeCloseTo(ksErrorBound(K, 0.001), 2);
        for (const f of ['x', 'y'] as const) {
          const exactD = naiveKs(manifest.reference.features[f].sample, cols[f]);
          const ks = approx.features[f].tests.ks as unknown as { statistic: number };
          expect(Math.abs(ks.statistic - exactD)).toBeLessThanOrEqual(bound);
          const wExact = (exact.features[f].tests.wasserstein as unknown as { normalized: number })
            .normalized;
          const wApprox = (approx.features[f].tests.wasserstein as unknown as { normalized: number })
            .normalized;
          expect(Math.abs(wApprox - wExact)).toBeLessThanOrEqual(
            approx.approximation.features[f].wassersteinErrorBound,
          );
          const mean = cols[f].reduce((a, b) => a + b, 0) / N;
          expect(approx.approximation.features[f].mean).toBeCloseTo(mean, 9);
          expect(approx.features[f].drifted).toBe(c.drift);
          expect(exact.features[f].drifted).toBe(c.drift);
        }
        expect(approx.n).toBe(N);
        expect(approx.approximation).toMatchObject({ rows: N, partitions: 8, sampleSize: K });
        expect(approx.approximation.weightBias).toBeLessThan(1e-9);
        expect(approx.drift).toBe(exact.drift);
        expect(approx.drift).toBe(c.drift);
      });
    }
  }
});
