import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quantileSorted, sortedCopy } from '#core/stats.ts';

const sameBits = (a: Float64Array, b: Float64Array) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    expect(Object.is(a[i], b[i]), `index ${i}: ${a[i]} vs ${b[i]}`).toBe(true);
};

describe('sortedCopy (radix sort for large inputs)', () => {
  it('orders like the built-in sort on large arrays with negatives, ±0, ±Infinity, ties and subnormals', () => {
    const n = 20_000;
    const special = [
      0,
      -0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      5e-324,
      -5e-324,
      Number.MAX_VALUE,
      -1,
      1,
    ];
    const x = Float64Array.from({ length: n }, (_, i) =>
      i % 50 === 0
        ? special[i % special.length]
        : i % 3 === 0
          ? Math.round(Math.sin(i) * 10)
          : Math.sin(i) * 1e6 * Math.cos(i * 7),
    );
    sameBits(sortedCopy(x), x.slice().sort());
  });

  it('matches the built-in sort for random doubles of any length', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true }), { minLength: 4096, maxLength: 6000 }), (arr) => {
        const x = Float64Array.from(arr);
        sameBits(sortedCopy(x), x.slice().sort());
      }),
      { numRuns: 20 },
    );
  });

  it('leaves its input untouched', () => {
    const x = Float64Array.from({ length: 5000 }, (_, i) => 5000 - i);
    const before = x.slice();
    sortedCopy(x);
    sameBits(x, before);
  });
});

describe('quantileSorted', () => {
  it('matches numpy linear quantiles on a small known case', () => {
    // np.quantile([1,2,3,4], [0, .25, .5, .9, 1]) = [1, 1.75, 2.5, 3.7, 4]
    const s = Float64Array.of(1, 2, 3, 4);
    expect([0, 0.25, 0.5, 0.9, 1].map((q) => quantileSorted(s, q))).toEqual([1, 1.75, 2.5, 3.7, 4]);
  });
});
