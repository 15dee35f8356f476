import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { trainIsolationForest } from '#core/forest/train.ts';
import { createTreeShap, treeShap, treeShapReference, treeShapStats } from '#core/shap/treeshap.ts';
import { NodeMode, type TreeEnsemble } from '#core/trees.ts';
import { bruteForceShap, maxAbsDiff, randomEnsemble, randomRow, rng } from './helpers.ts';

/**
 * `treeShap` reads per-leaf pattern tables (leaf-patterns.ts); these tests hold it
 * against brute-force Shapley enumeration and against the paper's Algorithm 2
 * (`treeShapReference`), and force each of its two leaf paths (tables, direct).
 */

const ALL_DIRECT = { maxTableBits: 0 };

describe('leaf-pattern TreeSHAP against brute force on small random trees (fast-check)', () => {
  it('matches brute force with tables, without tables and under a tight table budget', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom('SUM' as const, 'AVERAGE' as const),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        (seed, nFeatures, nTrees, maxDepth, aggregate, zeroCoverProb) => {
          const t = randomEnsemble(seed, { nFeatures, nTrees, maxDepth, aggregate, zeroCoverProb });
          const direct = createTreeShap(t, ALL_DIRECT);
          const budget = createTreeShap(t, { maxTableEntries: 16 });
          const r = rng(seed ^ 0x1eaf);
          for (let k = 0; k < 2; k++) {
            const x = randomRow(r, nFeatures, 0.1);
            const truth = bruteForceShap(t, x).phi;
            expect(maxAbsDiff(treeShap(t, x), truth)).toBeLessThanOrEqual(1e-9);
            expect(maxAbsDiff(direct.explain(x), truth)).toBeLessThanOrEqual(1e-9);
            expect(maxAbsDiff(budget.explain(x), truth)).toBeLessThanOrEqual(1e-9);
          }
        },
      ),
      { numRuns: 150, seed: 1602 },
    );
  });
});

describe('leaf-pattern TreeSHAP against Algorithm 2 (treeShapReference)', () => {
  it('agrees on random forests of 8–30 features and paths up to 14 deep (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 8, max: 30 }),
        fc.integer({ min: 6, max: 14 }),
        fc.boolean(),
        (seed, nFeatures, maxDepth, repeats) => {
          const t = randomEnsemble(seed, {
            nFeatures,
            nTrees: 3,
            maxDepth,
            leafProb: 0.3,
            // A small pool makes the same feature split again and again along a path.
            featurePool: repeats ? [0, 1, 2, 3] : undefined,
          });
          const r = rng(seed);
          for (let k = 0; k < 3; k++) {
            const x = randomRow(r, nFeatures);
            const ref = treeShapReference(t, x);
            expect(maxAbsDiff(treeShap(t, x), ref)).toBeLessThanOrEqual(1e-9);
            expect(maxAbsDiff(createTreeShap(t, ALL_DIRECT).explain(x), ref)).toBeLessThanOrEqual(1e-9);
          }
        },
      ),
      { numRuns: 40, seed: 16 },
    );
  });

  it('agrees on a trained 10-feature isolation forest (the bench shape), tables for every leaf', () => {
    const r = rng(3);
    const cols = Array.from({ length: 10 }, () => Float64Array.from({ length: 3000 }, () => r()));
    const { ensemble: t } = trainIsolationForest(cols, { nEstimators: 20, maxSamples: 256, seed: 5 });
    const stats = treeShapStats(t);
    expect(stats).not.toBeNull();
    expect(stats?.tableLeaves).toBe(stats?.leaves);
    for (let i = 0; i < 50; i++) {
      const x = Float64Array.from(cols, (c) => c[i]);
      expect(maxAbsDiff(treeShap(t, x), treeShapReference(t, x))).toBeLessThanOrEqual(1e-9);
    }
  });

  it('falls back to Algorithm 2 for paths with more distinct features than a mask holds', () => {
    const t = randomEnsemble(4, { nFeatures: 40, nTrees: 1, maxDepth: 34, shape: 'caterpillar' });
    expect(treeShapStats(t)).toBeNull();
    expect(() => createTreeShap(t, {})).toThrow(/more than 30 distinct features/);
    const x = randomRow(rng(4), 40);
    expect(maxAbsDiff(treeShap(t, x), treeShapReference(t, x))).toBe(0);
  });
});

describe('leaf-pattern TreeSHAP table limits', () => {
  it('gives no leaf a table at maxTableBits 0 and stays within maxTableEntries', () => {
    const t = randomEnsemble(9, { nFeatures: 6, nTrees: 4, maxDepth: 6, zeroCoverProb: 0 });
    expect(createTreeShap(t, ALL_DIRECT).stats.tableLeaves).toBe(0);
    const tight = createTreeShap(t, { maxTableEntries: 40 }).stats;
    expect(tight.tableEntries).toBeLessThanOrEqual(40);
    expect(tight.tableLeaves).toBeGreaterThan(0);
    expect(tight.tableLeaves).toBeLessThan(tight.leaves);
  });

  it('computes leaves under a zero-cover child directly (no table) and still matches brute force', () => {
    // Root on feature 0; its true child has cover 0, so every leaf below it has z = 0 on feature 0.
    const t: TreeEnsemble = {
      nFeatures: 2,
      roots: Int32Array.of(0),
      feature: Int32Array.of(0, 1, -1, -1, -1),
      threshold: Float64Array.of(0.5, 0.5, 0, 0, 0),
      mode: Uint8Array.of(NodeMode.BRANCH_LEQ, NodeMode.BRANCH_LEQ, 0, 0, 0),
      trueChild: Int32Array.of(1, 3, -1, -1, -1),
      falseChild: Int32Array.of(2, 4, -1, -1, -1),
      missingTracksTrue: new Uint8Array(5),
      value: Float64Array.of(0, 0, 1, 4, -2),
      cover: Float64Array.of(5, 0, 5, 0, 0),
      aggregate: 'SUM',
      base: 0,
    };
    const stats = createTreeShap(t, {}).stats;
    expect(stats.tableLeaves).toBe(1);
    for (const x of [
      [0.2, 0.2],
      [0.2, 0.9],
      [0.9, 0.2],
    ]) {
      expect(maxAbsDiff(treeShap(t, x), bruteForceShap(t, x).phi)).toBeLessThanOrEqual(1e-12);
    }
    // By hand: the row lands in the unreached region (leaf value 4). v(∅) = v({0}) = v({1}) = 1
    // (no cover on the way there; ½·4 + ½·(−2) below it), v({0,1}) = 4, so φ = (1.5, 1.5).
    const phi = treeShap(t, [0.2, 0.2]);
    expect(phi[0]).toBeCloseTo(1.5, 12);
    expect(phi[1]).toBeCloseTo(1.5, 12);
  });
});

describe('float64 graphs (doubleInput)', () => {
  // 0.1 − 1e-12 ≤ 0.1 in float64, but rounds up past 0.1 in float32.
  const stump = (doubleInput: boolean): TreeEnsemble => ({
    nFeatures: 1,
    roots: Int32Array.of(0),
    feature: Int32Array.of(0, -1, -1),
    threshold: Float64Array.of(0.1, 0, 0),
    mode: Uint8Array.of(NodeMode.BRANCH_LEQ, 0, 0),
    trueChild: Int32Array.of(1, -1, -1),
    falseChild: Int32Array.of(2, -1, -1),
    missingTracksTrue: new Uint8Array(3),
    value: Float64Array.of(0, 1, 0),
    cover: Float64Array.of(4, 1, 3),
    aggregate: 'SUM',
    base: 0,
    ...(doubleInput ? { doubleInput: true } : {}),
  });
  const x = [0.1 - 1e-12];

  it('compares in float64 when the graph reads doubles (both implementations)', () => {
    const t = stump(true);
    expect(Array.from(treeShap(t, x))).toEqual([0.75]);
    expect(Array.from(treeShapReference(t, x))).toEqual([0.75]);
    expect(Array.from(bruteForceShap(t, x).phi)).toEqual([0.75]);
  });

  it('compares in float32 otherwise, as onnxruntime does', () => {
    const t = stump(false);
    expect(Array.from(treeShap(t, x))).toEqual([-0.25]);
    expect(Array.from(treeShapReference(t, x))).toEqual([-0.25]);
  });
});
