import { describe, expect, it } from 'vitest';
import { VigilError } from '#core/errors.ts';
import { computeCovers, withCovers } from '#core/shap/covers.ts';
import { expectedValue, treeShap } from '#core/shap/treeshap.ts';
import { goesTrue, type TreeEnsemble } from '#core/trees.ts';
import { bruteForceShap, maxAbsDiff, predictRaw, randomEnsemble, randomRow, rng } from './helpers.ts';

/**
 * Naive cover: for each node, the list of (ancestor, branch) conditions from
 * its root, and a count of the rows that satisfy all of them.
 */
function naiveCovers(t: TreeEnsemble, rows: ArrayLike<number>[]): Float64Array {
  const conditions = new Map<number, Array<[number, boolean]>>();
  const visit = (n: number, path: Array<[number, boolean]>): void => {
    conditions.set(n, path);
    if (t.trueChild[n] < 0) return;
    visit(t.trueChild[n], [...path, [n, true]]);
    visit(t.falseChild[n], [...path, [n, false]]);
  };
  for (const r of t.roots) visit(r, []);
  const out = new Float64Array(t.feature.length);
  for (const [node, path] of conditions) {
    out[node] = rows.filter((x) => path.every(([a, dir]) => goesTrue(t, a, x[t.feature[a]]) === dir)).length;
  }
  return out;
}

const unknownCovers = (t: TreeEnsemble): TreeEnsemble => ({
  ...t,
  cover: new Float64Array(t.cover.length).fill(Number.NaN),
});

const toColumns = (rows: Float64Array[], nf: number): Float64Array[] =>
  Array.from({ length: nf }, (_, f) => Float64Array.from(rows, (x) => x[f]));

describe('computeCovers', () => {
  it('matches a naive per-node count of the rows satisfying every condition on its path', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const t = unknownCovers(randomEnsemble(seed, { nFeatures: 5, nTrees: 4, maxDepth: 6 }));
      const r = rng(seed + 100);
      const rows = Array.from({ length: 150 }, () => randomRow(r, 5, 0.1));
      expect(Array.from(computeCovers(t, rows))).toEqual(Array.from(naiveCovers(t, rows)));
    }
  });

  it('gives the same counts from row-major rows and column-major { columns }', () => {
    const t = randomEnsemble(3, { nFeatures: 4, nTrees: 3, maxDepth: 5 });
    const r = rng(5);
    const rows = Array.from({ length: 80 }, () => randomRow(r, 4, 0.1));
    expect(Array.from(computeCovers(t, { columns: toColumns(rows, 4) }))).toEqual(
      Array.from(computeCovers(t, rows)),
    );
  });

  it('gives each root the sample size and each split the sum of its children', () => {
    const t = randomEnsemble(9, { nFeatures: 3, nTrees: 5, maxDepth: 6 });
    const r = rng(1);
    const c = computeCovers(
      t,
      Array.from({ length: 60 }, () => randomRow(r, 3)),
    );
    for (const root of t.roots) expect(c[root]).toBe(60);
    for (let n = 0; n < c.length; n++) {
      if (t.trueChild[n] >= 0) expect(c[t.trueChild[n]] + c[t.falseChild[n]]).toBe(c[n]);
    }
  });

  it('refuses an empty sample, short rows and unaligned columns', () => {
    const t = randomEnsemble(2, { nFeatures: 3, nTrees: 1, maxDepth: 3 });
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return e instanceof VigilError ? e.code : 'other';
      }
      return undefined;
    };
    expect(code(() => computeCovers(t, []))).toBe('InsufficientData');
    expect(code(() => computeCovers(t, { columns: [[], [], []] }))).toBe('InsufficientData');
    expect(code(() => computeCovers(t, [[1, 2]]))).toBe('InvalidFeature');
    expect(code(() => computeCovers(t, { columns: [[1], [2, 3], [4]] }))).toBe('InvalidFeature');
    expect(code(() => computeCovers(t, { columns: [[1], [2]] }))).toBe('InvalidFeature');
    expect(code(() => computeCovers(t, { columns: [[1], [2], [4]] }))).toBeUndefined();
  });
});

describe('withCovers', () => {
  it('returns a copy with covers and leaves the original ensemble without them', () => {
    const t = unknownCovers(randomEnsemble(4, { nFeatures: 3, nTrees: 2, maxDepth: 4 }));
    const r = rng(2);
    const c = withCovers(
      t,
      Array.from({ length: 30 }, () => randomRow(r, 3)),
    );
    expect(c).not.toBe(t);
    expect(Number.isNaN(t.cover[0])).toBe(true);
    expect(c.cover[t.roots[0]]).toBe(30);
    expect(c.feature).toBe(t.feature);
  });

  it('makes a cover-less model explainable, matching brute force with the counted covers', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const t = unknownCovers(randomEnsemble(seed, { nFeatures: 6, nTrees: 3, maxDepth: 6 }));
      expect(() => treeShap(t, new Float64Array(6))).toThrow(/withCovers/);
      const r = rng(seed);
      const c = withCovers(
        t,
        Array.from({ length: 40 }, () => randomRow(r, 6)),
      );
      for (let k = 0; k < 3; k++) {
        const x = randomRow(r, 6);
        expect(maxAbsDiff(treeShap(c, x), bruteForceShap(c, x).phi)).toBeLessThanOrEqual(1e-9);
      }
    }
  });

  it('keeps local accuracy when the explained row lands where no reference row went (cover 0, no 0/0)', () => {
    const t = unknownCovers(randomEnsemble(12, { nFeatures: 4, nTrees: 6, maxDepth: 7, mixedModes: false }));
    const r = rng(4);
    // Reference rows only in [0, 0.3): most of the upper region stays unreached.
    const ref = Array.from({ length: 25 }, () => Float64Array.from({ length: 4 }, () => r() * 0.3));
    const c = withCovers(t, ref);
    let zeroCoverNodes = 0;
    for (let n = 0; n < c.cover.length; n++) if (c.cover[n] === 0) zeroCoverNodes++;
    expect(zeroCoverNodes).toBeGreaterThan(0);
    for (let k = 0; k < 50; k++) {
      const x = Float64Array.from({ length: 4 }, () => 0.5 + r() * 0.6);
      const phi = treeShap(c, x);
      expect(phi.every(Number.isFinite)).toBe(true);
      const f = predictRaw(c, x);
      const total = phi.reduce((a, b) => a + b, 0) + expectedValue(c);
      expect(Math.abs(total - f)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(f)));
      expect(maxAbsDiff(phi, bruteForceShap(c, x).phi)).toBeLessThanOrEqual(1e-9);
    }
  });
});
