import { describe, expect, it } from 'vitest';
import { TreeScorer } from '#core/forest/fast-path.ts';
import { averagePathLength, isolationScore } from '#core/forest/isolation.ts';
import { Rng } from '#core/forest/rng.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { exportOnnx } from '#core/onnx/export.ts';
import { NodeMode } from '#core/trees.ts';

const normalColumns = (seed: number, n: number, f: number): Float64Array[] => {
  const rng = new Rng(seed);
  return Array.from({ length: f }, () => Float64Array.from({ length: n }, () => rng.normal()));
};

const toMatrix = (rows: number[][]): Float32Array => Float32Array.from(rows.flat());

describe('averagePathLength c(n)', () => {
  it('matches the closed form of Liu et al. and scikit-learn', () => {
    expect(averagePathLength(0)).toBe(0);
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    // c(256) = 2(ln 255 + γ) − 2·255/256, computed by hand: 10.244770920119917
    expect(averagePathLength(256)).toBeCloseTo(
      2 * (Math.log(255) + 0.5772156649015329) - (2 * 255) / 256,
      14,
    );
    expect(averagePathLength(256)).toBeCloseTo(10.2447709201, 9);
  });

  it('gives the score 0.5 at a path length of c(ψ) and 1 at length 0', () => {
    expect(isolationScore(averagePathLength(256), 256)).toBeCloseTo(0.5, 15);
    expect(isolationScore(0, 256)).toBe(1);
  });
});

describe('trainIsolationForest', () => {
  it('is deterministic: the same data and seed export byte-identical ONNX', () => {
    const cols = normalColumns(1, 500, 3);
    const a = exportOnnx(trainIsolationForest(cols, { seed: 9 }).ensemble);
    const b = exportOnnx(trainIsolationForest(cols, { seed: 9 }).ensemble);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  it('a different seed grows a different forest', () => {
    const cols = normalColumns(1, 500, 3);
    const a = exportOnnx(trainIsolationForest(cols, { seed: 9 }).ensemble);
    const b = exportOnnx(trainIsolationForest(cols, { seed: 10 }).ensemble);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('respects the tree shape: ψ rows per tree, height ⌈log2 ψ⌉, covers add up', () => {
    const { ensemble: t, psi } = trainIsolationForest(normalColumns(2, 1000, 4), {
      nEstimators: 20,
      seed: 1,
    });
    expect(psi).toBe(256);
    expect(t.roots.length).toBe(20);
    const maxDepth = Math.ceil(Math.log2(psi));
    for (const root of t.roots) {
      expect(t.cover[root]).toBe(psi);
      const stack: Array<[number, number]> = [[root, 0]];
      while (stack.length) {
        const [n, d] = stack.pop() as [number, number];
        expect(d).toBeLessThanOrEqual(maxDepth);
        if (t.mode[n] === NodeMode.LEAF) {
          expect(t.value[n]).toBeCloseTo(d + averagePathLength(t.cover[n]), 12);
        } else {
          expect(t.cover[t.trueChild[n]] + t.cover[t.falseChild[n]]).toBe(t.cover[n]);
          expect(t.cover[t.trueChild[n]]).toBeGreaterThan(0);
          expect(t.cover[t.falseChild[n]]).toBeGreaterThan(0);
          stack.push([t.trueChild[n], d + 1], [t.falseChild[n], d + 1]);
        }
      }
    }
  });

  it('uses min(maxSamples, n) rows per tree on small data', () => {
    const { psi, ensemble } = trainIsolationForest(normalColumns(3, 50, 2), { nEstimators: 5 });
    expect(psi).toBe(50);
    expect(ensemble.cover[ensemble.roots[0]]).toBe(50);
  });

  it('scores in (0, 1] and ranks planted outliers above the bulk', () => {
    const cols = normalColumns(4, 2000, 3);
    const { ensemble, psi } = trainIsolationForest(cols, { seed: 3 });
    const scorer = new TreeScorer(ensemble);
    const inliers = toMatrix([
      [0, 0, 0],
      [0.3, -0.2, 0.1],
    ]);
    const outliers = toMatrix([
      [6, 6, 6],
      [-7, 0, 0],
    ]);
    const sIn = Array.from(scorer.predictRaw(inliers, 2), (h) => isolationScore(h, psi));
    const sOut = Array.from(scorer.predictRaw(outliers, 2), (h) => isolationScore(h, psi));
    for (const s of [...sIn, ...sOut]) {
      expect(s).toBeGreaterThan(0);
      expect(s).toBeLessThanOrEqual(1);
    }
    expect(Math.min(...sOut)).toBeGreaterThan(Math.max(...sIn));
    expect(Math.min(...sOut)).toBeGreaterThan(0.55);
    expect(Math.max(...sIn)).toBeLessThan(0.5);
  });

  it('refuses bad training input with a readable error', () => {
    expect(() => trainIsolationForest([])).toThrow(/at least one feature/);
    expect(() => trainIsolationForest([Float64Array.of(1, 2), Float64Array.of(1)])).toThrow(/same length/);
    expect(() => trainIsolationForest([Float64Array.of(1, Number.NaN, 3)])).toThrow(
      /non-finite value at row 1/,
    );
  });

  it('handles constant features by never splitting on them', () => {
    const rng = new Rng(5);
    const cols = [
      Float64Array.from({ length: 300 }, () => 7),
      Float64Array.from({ length: 300 }, () => rng.normal()),
    ];
    const { ensemble } = trainIsolationForest(cols, { nEstimators: 10 });
    expect(Array.from(ensemble.feature).filter((f) => f === 0)).toHaveLength(0);
  });
});
