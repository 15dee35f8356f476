import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { datasetFromCsv, datasetToCsv } from '#core/retrain/dataset.ts';
import { countDuplicateRows, describeFailure, validateDataset } from '#core/retrain/validate.ts';
import { fromRows } from './helpers.ts';

const T = { minRows: 4, maxMissingShare: 0.2, maxDuplicateShare: 0.25, labelShare: { min: 0.1, max: 0.5 } };
const clean = fromRows(
  ['cpu', 'mem'],
  [
    [1, 10],
    [2, 20],
    [3, 30],
    [4, 40],
    [5, 50],
  ],
);

describe('validateDataset', () => {
  it('passes clean data with the production schema', () => {
    const r = validateDataset(clean, ['cpu', 'mem'], T);
    expect(r.failures).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.stats.missingShare).toEqual({ cpu: 0, mem: 0 });
  });

  it('fails a renamed feature, naming what is missing and what is new', () => {
    const r = validateDataset(clean, ['cpu', 'memory'], T);
    expect(r.ok).toBe(false);
    expect(r.failures).toEqual([
      {
        check: 'schema',
        expected: ['cpu', 'memory'],
        actual: ['cpu', 'mem'],
        missing: ['memory'],
        unexpected: ['mem'],
      },
    ]);
  });

  it('fails reordered features (the graph reads columns by position)', () => {
    const r = validateDataset(clean, ['mem', 'cpu'], T);
    expect(r.failures.map((f) => f.check)).toEqual(['schema']);
  });

  it('fails too few rows with both numbers', () => {
    const r = validateDataset(clean, ['cpu', 'mem'], { ...T, minRows: 6 });
    expect(r.failures).toEqual([{ check: 'minRows', rows: 5, minRows: 6 }]);
  });

  it('fails a feature with too many missing values: 2 of 5 = 40% > 20%', () => {
    const ds = fromRows(
      ['cpu', 'mem'],
      [
        [1, 10],
        [Number.NaN, 20],
        [3, 30],
        [Number.NaN, 40],
        [5, 50],
      ],
    );
    const r = validateDataset(ds, ['cpu', 'mem'], T);
    expect(r.failures).toEqual([{ check: 'missingShare', feature: 'cpu', missing: 2, share: 0.4, max: 0.2 }]);
    expect(describeFailure(r.failures[0])).toBe('missingShare: cpu 40.00% missing (2 rows) > 20.00%');
  });

  it('accepts exactly the tolerated missing share: 1 of 5 = 20%', () => {
    const ds = fromRows(
      ['cpu', 'mem'],
      [
        [1, 10],
        [Number.NaN, 20],
        [3, 30],
        [4, 40],
        [5, 50],
      ],
    );
    expect(validateDataset(ds, ['cpu', 'mem'], T).ok).toBe(true);
  });

  it('fails a constant column and an all-missing one', () => {
    const ds = fromRows(
      ['cpu', 'mem', 'disk'],
      [
        [7, 10, Number.NaN],
        [7, 20, Number.NaN],
        [7, 30, Number.NaN],
        [7, 40, Number.NaN],
        [7, 50, Number.NaN],
      ],
    );
    const r = validateDataset(ds, ['cpu', 'mem', 'disk'], T);
    expect(r.failures).toContainEqual({ check: 'constantColumn', feature: 'cpu', value: 7 });
    expect(r.failures).toContainEqual({ check: 'constantColumn', feature: 'disk', value: null });
  });

  it('fails a label share outside the band: 3 anomalies of 4 labelled = 75% > 50%', () => {
    const ds = { ...clean, labels: Float64Array.from([1, 1, Number.NaN, 1, 0]) };
    const r = validateDataset(ds, ['cpu', 'mem'], T);
    expect(r.failures).toEqual([
      { check: 'labelShare', labelled: 4, anomalies: 3, share: 0.75, min: 0.1, max: 0.5 },
    ]);
    expect(r.stats.labels).toEqual({ labelled: 4, anomalies: 3 });
  });

  it('does not check label share when no row is labelled', () => {
    const ds = { ...clean, labels: new Float64Array(5).fill(Number.NaN) };
    expect(validateDataset(ds, ['cpu', 'mem'], T).ok).toBe(true);
  });

  it('fails duplicate rows: 2 repeats of 5 rows = 40% > 25%', () => {
    const ds = fromRows(
      ['cpu', 'mem'],
      [
        [1, 10],
        [1, 10],
        [3, Number.NaN],
        [3, Number.NaN],
        [5, 50],
      ],
    );
    const r = validateDataset(ds, ['cpu', 'mem'], { ...T, maxMissingShare: 1 });
    expect(r.failures).toEqual([{ check: 'duplicateRows', duplicates: 2, share: 0.4, max: 0.25 }]);
  });

  it('reports every failure at once', () => {
    const ds = fromRows(
      ['cpu', 'mem'],
      [
        [1, 1],
        [1, 1],
      ],
    );
    const checks = validateDataset(ds, ['cpu', 'mem'], T).failures.map((f) => f.check);
    expect(checks).toEqual(['minRows', 'constantColumn', 'constantColumn', 'duplicateRows']);
  });
});

describe('countDuplicateRows', () => {
  it('agrees with a pairwise count on random small-integer data', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom(0, 1, Number.NaN)), {
          maxLength: 30,
        }),
        (rows) => {
          const ds = fromRows(['a', 'b'], rows);
          const same = (x: number, y: number) => x === y || (Number.isNaN(x) && Number.isNaN(y));
          let expected = 0;
          rows.forEach((r, i) => {
            if (rows.slice(0, i).some((q) => same(q[0], r[0]) && same(q[1], r[1]))) expected++;
          });
          expect(countDuplicateRows(ds)).toBe(expected);
        },
      ),
    );
  });
});

describe('dataset CSV', () => {
  it('round-trips features, missing values and labels', () => {
    const ds = {
      ...fromRows(
        ['cpu', 'mem'],
        [
          [1.5, Number.NaN],
          [2, 3],
        ],
      ),
      labels: Float64Array.from([1, Number.NaN]),
    };
    const back = datasetFromCsv(datasetToCsv(ds));
    expect(back.features).toEqual(['cpu', 'mem']);
    expect(Array.from(back.columns[0])).toEqual([1.5, 2]);
    expect(Array.from(back.columns[1])).toEqual([Number.NaN, 3]);
    expect(Array.from(back.labels ?? [])).toEqual([1, Number.NaN]);
  });

  it('refuses a label that is not 0, 1 or empty, naming the line', () => {
    expect(() => datasetFromCsv('cpu,__label\n1,0\n2,2\n')).toThrow(/line 3, column '__label'/);
  });
});
