import { describe, expect, it } from 'vitest';
import { parseRetrainSettings } from '#core/retrain/config.ts';
import { datasetFromCaptures, datasetFromCsv, datasetToCsv } from '#core/retrain/dataset.ts';

const rows = Array.from({ length: 1000 }, (_, i) => ({
  features: { a: i, b: -i },
  requestId: `r${i}`,
  index: i % 3,
  // Every 10th row kept at rate 1 (an anomaly), the rest at 0.1: thinning keeps ~1 in 10 of the former.
  sampleRate: i % 10 === 0 ? 1 : 0.1,
}));

const seeded = (seed: number) => {
  let s = seed;
  return () => {
    s = (s * 1664525 + 1013904223) % 2 ** 32;
    return s / 2 ** 32;
  };
};

describe('datasetFromCaptures with feedback labels', () => {
  it('puts labels in the label column by request id and row index, NaN where a row has none', () => {
    const labels = new Map([
      ['r1#1', 1],
      ['r2#2', 0],
      ['r4#0', 1], // r4 is row index 1: no match
    ]);
    const { dataset, labelled } = datasetFromCaptures(rows.slice(0, 5), ['a', 'b'], () => 0, labels);
    expect(labelled).toBe(2);
    expect(Array.from(dataset.labels ?? [])).toEqual([Number.NaN, 1, 0, Number.NaN, Number.NaN]);
    // The column survives the CSV the steps pass on.
    expect(Array.from(datasetFromCsv(datasetToCsv(dataset)).labels ?? [])).toEqual([
      Number.NaN,
      1,
      0,
      Number.NaN,
      Number.NaN,
    ]);
  });

  it('never thins out a labelled row, while the unlabelled rate-1 rows are thinned as before', () => {
    const labels = new Map(rows.filter((_, i) => i % 10 === 0).map((r) => [`${r.requestId}#${r.index}`, 1]));
    const withLabels = datasetFromCaptures(rows, ['a'], seeded(3), labels);
    expect(withLabels.labelled).toBe(100);
    const without = datasetFromCaptures(rows, ['a'], seeded(3));
    // Without labels about 90 of the 100 rate-1 rows go; with them none of those.
    expect(without.thinnedOut).toBeGreaterThan(70);
    expect(withLabels.thinnedOut).toBe(0);
    // Rows keep their capture order.
    const a = Array.from(withLabels.dataset.columns[0] ?? []);
    expect(a).toEqual([...a].sort((x, y) => x - y));
  });

  it('has no label column when no label matches', () => {
    const { dataset, labelled } = datasetFromCaptures(
      rows.slice(0, 3),
      ['a'],
      () => 0,
      new Map([['x#0', 1]]),
    );
    expect(labelled).toBe(0);
    expect(dataset.labels).toBeUndefined();
  });
});

describe('gate.minLabelsPerClass', () => {
  it('defaults to 5 and takes a per-environment value', () => {
    expect(parseRetrainSettings({}).gate.minLabelsPerClass).toBe(5);
    const s = parseRetrainSettings({ gate: { minLabelsPerClass: 50 } });
    expect(s.gate).toMatchObject({ minLabelsPerClass: 50, aucTolerance: 0.02, minAuc: 0.7 });
    expect(() => parseRetrainSettings({ gate: { minLabelsPerClass: 0 } })).toThrow(/gate.minLabelsPerClass/);
  });
});
