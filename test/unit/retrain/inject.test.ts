import { describe, expect, it } from 'vitest';
import { Rng } from '#core/forest/rng.ts';
import { trainIsolationForest } from '#core/forest/train.ts';
import { trainingScores } from '#core/model/build.ts';
import { injectAnomalies, splitHoldout } from '#core/retrain/inject.ts';
import { bruteAuc } from './helpers.ts';

/** n rows of d independent uniform [0, 1) features, column-major. */
const uniform = (n: number, d: number, seed: number): Float64Array[] => {
  const rng = new Rng(seed);
  return Array.from({ length: d }, () => Float64Array.from({ length: n }, () => rng.next()));
};
const rowOf = (cols: ArrayLike<number>[], i: number) => cols.map((c) => c[i]);
const isBaseRow = (base: Float64Array[], row: number[]) =>
  Array.from({ length: base[0].length }, (_, i) => i).some((i) => row.every((v, f) => base[f][i] === v));

describe('injectAnomalies', () => {
  const base = uniform(200, 4, 1);

  it('splits the count evenly over the kinds, earlier kinds taking the remainder', () => {
    const out = injectAnomalies(base, { count: 10, seed: 3 });
    const count = (k: string) => out.kinds.filter((x) => x === k).length;
    expect([count('marginal'), count('correlation'), count('stuck')]).toEqual([4, 3, 3]);
    expect(out.columns.every((c) => c.length === 10)).toBe(true);
  });

  it('is deterministic given the seed, and another seed gives other rows', () => {
    const a = injectAnomalies(base, { count: 30, seed: 5 });
    const b = injectAnomalies(base, { count: 30, seed: 5 });
    const c = injectAnomalies(base, { count: 30, seed: 6 });
    expect(a).toEqual(b);
    expect(a.columns).not.toEqual(c.columns);
  });

  it('moves exactly one feature of a marginal outlier to 4..8 standard deviations from its mean', () => {
    const out = injectAnomalies(base, { count: 40, seed: 7, kinds: ['marginal'] });
    // Mean and std computed here, independently of the injector.
    const stats = base.map((c) => {
      const m = c.reduce((s, v) => s + v, 0) / c.length;
      const sd = Math.sqrt(c.reduce((s, v) => s + (v - m) ** 2, 0) / (c.length - 1));
      return { m, sd };
    });
    for (let r = 0; r < 40; r++) {
      const z = rowOf(out.columns, r).map((v, f) => Math.abs(v - stats[f].m) / stats[f].sd);
      const far = z.filter((x) => x > 2);
      expect(far).toHaveLength(1);
      expect(far[0]).toBeGreaterThanOrEqual(4 - 1e-9);
      expect(far[0]).toBeLessThanOrEqual(8 + 1e-9);
    }
  });

  it('builds broken-correlation rows only from values each column has, but not a row the data has', () => {
    const out = injectAnomalies(base, { count: 30, seed: 8, kinds: ['correlation'] });
    for (let r = 0; r < 30; r++) {
      const row = rowOf(out.columns, r);
      for (const [f, v] of row.entries()) expect(base[f].includes(v)).toBe(true);
      expect(isBaseRow(base, row)).toBe(false);
    }
  });

  it('sets ⌈d/3⌉ features of a stuck row to their column minimum and keeps the others from one base row', () => {
    const out = injectAnomalies(base, { count: 20, seed: 9, kinds: ['stuck'] });
    const mins = base.map((c) => Math.min(...c));
    for (let r = 0; r < 20; r++) {
      const row = rowOf(out.columns, r);
      const stuck = row.map((v, f) => v === mins[f]);
      expect(stuck.filter(Boolean)).toHaveLength(2);
      const rest = Array.from({ length: 200 }, (_, i) => i).some((i) =>
        row.every((v, f) => stuck[f] || base[f][i] === v),
      );
      expect(rest).toBe(true);
    }
  });

  it('makes anomalies an isolation forest separates from held-out normal rows', () => {
    const train = uniform(2000, 4, 11);
    const holdout = uniform(300, 4, 12);
    const forest = trainIsolationForest(train, { seed: 1 });
    const injected = injectAnomalies(holdout, { count: 90, seed: 13, kinds: ['marginal', 'stuck'] });
    const auc = bruteAuc(trainingScores(forest, injected.columns), trainingScores(forest, holdout));
    expect(auc).toBeGreaterThan(0.9);
  });
});

describe('splitHoldout', () => {
  it('splits into disjoint, sorted parts that cover every row, deterministically', () => {
    const a = splitHoldout(101, 0.2, 4);
    expect(a.holdout).toHaveLength(20);
    expect(a.train).toHaveLength(81);
    expect([...a.holdout, ...a.train].sort((x, y) => x - y)).toEqual(
      Array.from({ length: 101 }, (_, i) => i),
    );
    expect(Array.from(a.holdout)).toEqual([...a.holdout].sort((x, y) => x - y));
    expect(splitHoldout(101, 0.2, 4)).toEqual(a);
    expect(splitHoldout(101, 0.2, 5).holdout).not.toEqual(a.holdout);
  });

  it('keeps at least one row on each side', () => {
    expect(splitHoldout(2, 0.01, 1).holdout).toHaveLength(1);
    expect(splitHoldout(2, 0.99, 1).train).toHaveLength(1);
  });
});
