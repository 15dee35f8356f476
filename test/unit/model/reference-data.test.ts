import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TreeScorer } from '#core/forest/fast-path.ts';
import { isolationScore } from '#core/forest/isolation.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { MAX_REFERENCE_ROWS, referenceData, trainingScores } from '#core/model/build.ts';

/** NumPy 'linear' quantile (type 7) on a built-in sort, written out here as the reference. */
function npQuantile(values: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(values).sort();
  const h = (s.length - 1) * q;
  const j = Math.floor(h);
  const g = h - j;
  const a = s[j];
  const b = s[Math.min(j + 1, s.length - 1)];
  return g < 0.5 ? a + (b - a) * g : b - (b - a) * (1 - g);
}

const check = (col: Float64Array) => {
  const ref = referenceData(['x'], [col], 7).features.x;
  const sorted = Float64Array.from(col).sort();
  expect(Object.is(ref.min, sorted[0])).toBe(true);
  expect(Object.is(ref.max, sorted[sorted.length - 1])).toBe(true);
  for (const [i, d] of ref.deciles.entries()) {
    expect(Object.is(d, npQuantile(col, (i + 1) / 10)), `decile ${i + 1}`).toBe(true);
  }
};

describe('referenceData statistics (radix-sorted columns)', () => {
  it('min, max and deciles equal a built-in sort on columns above the radix threshold, with ties, ±0 and ±Infinity', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(0, -0, 1, -1)), {
          minLength: 4096,
          maxLength: 9000,
        }),
        (arr) => check(Float64Array.from(arr)),
      ),
      { numRuns: 25 },
    );
  });

  it('keeps the built-in order when a value is missing (NaN sorts last)', () => {
    const col = Float64Array.from({ length: 5000 }, (_, i) =>
      i % 97 === 0 ? Number.NaN : Math.sin(i) * 100,
    );
    check(col);
  });

  it('draws a row-aligned sample capped at MAX_REFERENCE_ROWS without changing the statistics over all rows', () => {
    const n = MAX_REFERENCE_ROWS + 2345;
    const a = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.37) * 10);
    const b = Float64Array.from(a, (v) => 2 * v + 1);
    const ref = referenceData(['a', 'b'], [a, b], 3);
    expect(ref.rows).toBe(MAX_REFERENCE_ROWS);
    for (const [i, v] of ref.features.a.sample.entries()) expect(ref.features.b.sample[i]).toBe(2 * v + 1);
    expect(ref.features.a.n).toBe(n);
    expect(ref.features.a.deciles[4]).toBe(npQuantile(a, 0.5));
  });
});

describe('trainingScores (the served kernel)', () => {
  it('equals the plain walk bit for bit on every row, including rows with a missing value', () => {
    const n = 3000;
    const columns = [0, 1, 2].map((f) =>
      Float64Array.from({ length: n }, (_, i) => (i % 401 === f ? Number.NaN : Math.sin(i * (f + 1.3)) * 5)),
    );
    const clean = columns.map((c) => c.map((v) => (Number.isNaN(v) ? 0 : v)));
    const forest = trainIsolationForest(clean, { nEstimators: 20, maxSamples: 64, seed: 5 });
    const got = trainingScores(forest, columns);
    const x = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) for (let f = 0; f < 3; f++) x[i * 3 + f] = columns[f][i];
    const raw = new TreeScorer(forest.ensemble).predictRaw(x, n);
    for (let i = 0; i < n; i++) {
      expect(Object.is(got[i], isolationScore(raw[i], forest.psi)), `row ${i}`).toBe(true);
    }
  });
});
