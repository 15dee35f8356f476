import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UnsupportedModelError, VigilError } from '#core/errors.ts';
import { expectedValue, treeShap, treeShapBatch } from '#core/shap/treeshap.ts';
import { NodeMode, type TreeEnsemble } from '#core/trees.ts';
import {
  bruteForceShap,
  literalTreeShap,
  maxAbsDiff,
  predictRaw,
  type RandomEnsembleOptions,
  randomEnsemble,
  randomRow,
  rng,
} from './helpers.ts';

const sum = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
};

/** Checks TreeSHAP against brute force on `rows` random rows; returns the worst error. */
function worstError(seed: number, o: RandomEnsembleOptions, rows = 3, nanProb = 0.05): number {
  const t = randomEnsemble(seed, o);
  const r = rng(seed ^ 0x5eed);
  let worst = Math.abs(expectedValue(t) - bruteForceShap(t, randomRow(r, o.nFeatures)).expected);
  for (let k = 0; k < rows; k++) {
    const x = randomRow(r, o.nFeatures, nanProb);
    worst = Math.max(worst, maxAbsDiff(treeShap(t, x), bruteForceShap(t, x).phi));
  }
  return worst;
}

/** A one-split tree on feature 0 (x ≤ 0.5 → left) with the given covers and leaf values. */
function stump(
  coverLeft: number,
  coverRight: number,
  left: number,
  right: number,
  nFeatures = 2,
): TreeEnsemble {
  return {
    nFeatures,
    roots: Int32Array.of(0),
    feature: Int32Array.of(0, -1, -1),
    threshold: Float64Array.of(0.5, 0, 0),
    mode: Uint8Array.of(NodeMode.BRANCH_LEQ, NodeMode.LEAF, NodeMode.LEAF),
    trueChild: Int32Array.of(1, -1, -1),
    falseChild: Int32Array.of(2, -1, -1),
    missingTracksTrue: Uint8Array.of(0, 0, 0),
    value: Float64Array.of(0, left, right),
    cover: Float64Array.of(coverLeft + coverRight, coverLeft, coverRight),
    aggregate: 'SUM',
    base: 0,
  };
}

describe('treeShap against brute-force Shapley enumeration (max abs error ≤ 1e-9)', () => {
  it('matches on random forests with M ≤ 10 features, mixed split modes and SUM/AVERAGE', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom('SUM' as const, 'AVERAGE' as const),
        fc.double({ min: -5, max: 5, noNaN: true }),
        (seed, nFeatures, nTrees, maxDepth, aggregate, base) => {
          expect(worstError(seed, { nFeatures, nTrees, maxDepth, aggregate, base })).toBeLessThanOrEqual(
            1e-9,
          );
        },
      ),
      { numRuns: 120, seed: 20240611 },
    );
  });

  it('matches when the same feature is split on repeatedly along a path (pool of 2 features, depth 8)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const o = { nFeatures: 3, nTrees: 2, maxDepth: 8, leafProb: 0.1, featurePool: [0, 2] };
      expect(worstError(seed, o, 4)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('matches on maximally unbalanced (caterpillar) trees of depth 10', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const o = { nFeatures: 10, nTrees: 3, maxDepth: 10, shape: 'caterpillar' as const };
      expect(worstError(seed, o, 4)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('matches on rows with many missing values, which follow missingTracksTrue', () => {
    for (let seed = 1; seed <= 20; seed++) {
      expect(worstError(seed, { nFeatures: 6, nTrees: 3, maxDepth: 6 }, 4, 0.5)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('matches when many leaves have zero cover (imported model, sparse reference sample)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const o = { nFeatures: 5, nTrees: 3, maxDepth: 6, zeroCoverProb: 0.6 };
      expect(worstError(seed, o, 4)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('matches on a 10-feature forest of 8-deep trees (the isolation-forest shape)', () => {
    for (let seed = 1; seed <= 3; seed++) {
      const o = { nFeatures: 10, nTrees: 4, maxDepth: 8, leafProb: 0.15, mixedModes: false };
      expect(worstError(seed, o, 2)).toBeLessThanOrEqual(1e-9);
    }
  });
});

describe('treeShap closed forms and edge cases', () => {
  it('gives a stump the hand-computed values: E = cover-weighted mean, φ0 = f(x) − E', () => {
    const t = stump(3, 1, 1, 0);
    expect(expectedValue(t)).toBeCloseTo(0.75, 15);
    expect(Array.from(treeShap(t, [0.2, 9]))).toEqual([0.25, 0]);
    expect(Array.from(treeShap(t, [0.9, 9]))).toEqual([-0.75, 0]);
  });

  it('gives a single-leaf tree all-zero φ and its leaf value as expected value', () => {
    const t: TreeEnsemble = {
      ...stump(1, 1, 0, 0, 3),
      roots: Int32Array.of(0),
      feature: Int32Array.of(-1),
      threshold: Float64Array.of(0),
      mode: Uint8Array.of(NodeMode.LEAF),
      trueChild: Int32Array.of(-1),
      falseChild: Int32Array.of(-1),
      missingTracksTrue: Uint8Array.of(0),
      value: Float64Array.of(4.5),
      cover: Float64Array.of(7),
      base: 0.5,
    };
    expect(Array.from(treeShap(t, [1, 2, 3]))).toEqual([0, 0, 0]);
    expect(expectedValue(t)).toBe(5);
  });

  it('gives exactly 0 to a feature no split uses, and non-zero to one on the path that matters', () => {
    const t = randomEnsemble(7, {
      nFeatures: 6,
      nTrees: 5,
      maxDepth: 6,
      featurePool: [0, 1, 3, 4],
      zeroCoverProb: 0,
    });
    const r = rng(99);
    let sawNonZero = false;
    for (let k = 0; k < 200; k++) {
      const phi = treeShap(t, randomRow(r, 6));
      expect(phi[2]).toBe(0);
      expect(phi[5]).toBe(0);
      if (phi[0] !== 0) sawNonZero = true;
    }
    expect(sawNonZero).toBe(true);
  });

  it('divides by the tree count for AVERAGE (φ_avg = φ_sum / T)', () => {
    const tSum = randomEnsemble(11, { nFeatures: 5, nTrees: 6, maxDepth: 5, base: 1 });
    const tAvg: TreeEnsemble = { ...tSum, aggregate: 'AVERAGE' };
    const x = randomRow(rng(3), 5, 0);
    const a = treeShap(tSum, x);
    const b = treeShap(tAvg, x);
    for (let i = 0; i < 5; i++) expect(b[i]).toBeCloseTo(a[i] / 6, 12);
    expect(expectedValue(tAvg) - 1).toBeCloseTo((expectedValue(tSum) - 1) / 6, 12);
  });

  it('reuses the out buffer and treeShapBatch agrees with row-by-row calls', () => {
    const t = randomEnsemble(5, { nFeatures: 4, nTrees: 3, maxDepth: 5 });
    const r = rng(8);
    const rows = Array.from({ length: 5 }, () => randomRow(r, 4));
    const out = new Float64Array(4).fill(123);
    const batch = treeShapBatch(t, rows);
    rows.forEach((x, i) => {
      expect(treeShap(t, x, out)).toBe(out);
      expect(Array.from(out)).toEqual(Array.from(batch[i]));
    });
  });

  it('accepts plain number arrays as rows', () => {
    const t = randomEnsemble(6, { nFeatures: 3, nTrees: 2, maxDepth: 4 });
    const x = randomRow(rng(1), 3, 0);
    expect(Array.from(treeShap(t, Array.from(x)))).toEqual(Array.from(treeShap(t, x)));
  });
});

describe('treeShap local accuracy (Σφ + E[f] = f(x))', () => {
  it('holds within 1e-9 relative on 1,000 random rows of a 10-feature, 30-tree forest', () => {
    const t = randomEnsemble(2024, { nFeatures: 10, nTrees: 30, maxDepth: 8, leafProb: 0.1, base: 3 });
    const t2: TreeEnsemble = { ...t, aggregate: 'AVERAGE' };
    const r = rng(77);
    for (let k = 0; k < 1000; k++) {
      const x = randomRow(r, 10, 0.05);
      for (const m of [t, t2]) {
        const f = predictRaw(m, x);
        const err = Math.abs(sum(treeShap(m, x)) + expectedValue(m) - f);
        expect(err).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(f)));
      }
    }
  });

  it('holds for arbitrary generated rows and forests (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.array(fc.oneof(fc.double({ min: -1, max: 2, noNaN: true }), fc.constant(Number.NaN)), {
          minLength: 8,
          maxLength: 8,
        }),
        (seed, row) => {
          const t = randomEnsemble(seed, { nFeatures: 8, nTrees: 5, maxDepth: 7, aggregate: 'AVERAGE' });
          const f = predictRaw(t, row);
          expect(Math.abs(sum(treeShap(t, row)) + expectedValue(t) - f)).toBeLessThanOrEqual(
            1e-9 * Math.max(1, Math.abs(f)),
          );
        },
      ),
      { numRuns: 200, seed: 42 },
    );
  });
});

describe('treeShap refuses what it cannot explain', () => {
  it('throws UnsupportedModelError for MIN and MAX aggregation', () => {
    for (const aggregate of ['MIN', 'MAX'] as const) {
      const t: TreeEnsemble = { ...stump(1, 1, 0, 1), aggregate };
      expect(() => treeShap(t, [0, 0])).toThrow(UnsupportedModelError);
      expect(() => expectedValue(t)).toThrow(/aggregate SUM or AVERAGE/);
    }
  });

  it('does not throw for SUM aggregation of the same trees', () => {
    expect(() => treeShap(stump(1, 1, 0, 1), [0, 0])).not.toThrow();
  });

  it('throws UnsupportedModelError naming withCovers when covers are unknown (NaN)', () => {
    const t: TreeEnsemble = {
      ...stump(1, 1, 0, 1),
      cover: Float64Array.of(Number.NaN, Number.NaN, Number.NaN),
    };
    expect(() => treeShap(t, [0, 0])).toThrow(UnsupportedModelError);
    expect(() => treeShap(t, [0, 0])).toThrow(/withCovers/);
  });

  it('throws an InvalidFeature error for a row shorter than nFeatures', () => {
    const t = stump(1, 1, 0, 1, 3);
    let err: unknown;
    try {
      treeShap(t, [0.1, 0.2]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VigilError);
    expect((err as VigilError).code).toBe('InvalidFeature');
  });
});

describe('treeShap on models too wide for brute force', () => {
  it('matches a literal transcription of Algorithm 2 on 40-feature forests with 16-deep paths', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const t = randomEnsemble(seed, { nFeatures: 40, nTrees: 4, maxDepth: 16, leafProb: 0.25 });
      const r = rng(seed);
      for (let k = 0; k < 5; k++) {
        const x = randomRow(r, 40);
        const phi = treeShap(t, x);
        expect(maxAbsDiff(phi, literalTreeShap(t, x))).toBeLessThanOrEqual(1e-9);
        const f = predictRaw(t, x);
        expect(Math.abs(sum(phi) + expectedValue(t) - f)).toBeLessThanOrEqual(
          1e-9 * Math.max(1, Math.abs(f)),
        );
      }
    }
  });
});
