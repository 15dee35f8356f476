import { describe, expect, it } from 'vitest';
import { Rng } from '#core/forest/rng.ts';
import { type CaptureLike, completeRowIndices, datasetFromCaptures } from '#core/retrain/dataset.ts';
import { fromRows } from './helpers.ts';

describe('datasetFromCaptures', () => {
  it('keeps each row with probability minRate / sampleRate, and marks a missing feature NaN', () => {
    const rows: CaptureLike[] = [
      { features: { a: 1, b: 2 }, sampleRate: 1 },
      { features: { a: 3, b: 4 }, sampleRate: 0.5 },
      { features: { a: 5 }, sampleRate: 0.5 },
      { features: { a: 7, b: 8 } }, // written before the field existed: rate 1
    ];
    const draws = [0.6, 0.9, 0.1, 0.4];
    const { dataset, thinnedOut } = datasetFromCaptures(rows, ['a', 'b'], () => draws.shift() ?? 1);
    // Rate-1 rows are kept when the draw is < 0.5 (0.6: out, 0.4: in); rate-0.5 rows always.
    expect(thinnedOut).toBe(1);
    expect(Array.from(dataset.columns[0])).toEqual([3, 5, 7]);
    expect(Array.from(dataset.columns[1])).toEqual([4, Number.NaN, 8]);
  });

  it('restores the traffic mix: rows kept at rate 1 are thinned to the normal rows’ rate', () => {
    const rng = new Rng(4);
    // 10,000 normal rows captured at 10 %, and 1,000 anomalies always captured.
    const rows = [
      ...Array.from({ length: 10_000 }, () => ({ features: { x: 0 }, sampleRate: 0.1 })),
      ...Array.from({ length: 1_000 }, () => ({ features: { x: 1 }, sampleRate: 1 })),
    ];
    const { dataset } = datasetFromCaptures(rows, ['x'], () => rng.next());
    const anomalies = dataset.columns[0].filter((v) => v === 1).length;
    // Binomial(1000, 0.1): mean 100, sd ≈ 9.5; 5 sd either side.
    expect(anomalies).toBeGreaterThan(100 - 48);
    expect(anomalies).toBeLessThan(100 + 48);
    expect(dataset.rows - anomalies).toBe(10_000);
  });
});

describe('completeRowIndices', () => {
  it('lists the rows without a missing value', () => {
    const ds = fromRows(
      ['a', 'b'],
      [
        [1, 2],
        [Number.NaN, 2],
        [3, Number.NaN],
        [4, 5],
      ],
    );
    expect(Array.from(completeRowIndices(ds))).toEqual([0, 3]);
  });
});
