import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { averagePrecision, rocAuc } from '#core/evaluation.ts';

/** AUC by definition: P(score of a positive > score of a negative) + ½ P(tie), over all pairs. */
const bruteAuc = (s: number[], y: number[]): number => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < s.length; i++)
    for (let j = 0; j < s.length; j++)
      if (y[i] === 1 && y[j] === 0) {
        den++;
        num += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
      }
  return num / den;
};

/** AP by definition: mean over positives of the precision at that positive's threshold (ties grouped). */
const bruteAp = (s: number[], y: number[]): number => {
  const pos = s.map((v, i) => [v, y[i]]).filter(([, l]) => l === 1);
  let total = 0;
  for (const [v] of pos) {
    const above = s.map((w, i) => [w, y[i]]).filter(([w]) => w >= v);
    total += above.filter(([, l]) => l === 1).length / above.length;
  }
  return total / pos.length;
};

const labelled = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 1 })), {
    minLength: 2,
    maxLength: 60,
  })
  .filter((a) => a.some(([, y]) => y === 1) && a.some(([, y]) => y === 0));

describe('ranking metrics', () => {
  it('ROC AUC equals the pairwise definition, ties counted half', () => {
    fc.assert(
      fc.property(labelled, (a) => {
        const s = a.map(([v]) => v);
        const y = a.map(([, l]) => l);
        expect(rocAuc(s, y)).toBeCloseTo(bruteAuc(s, y), 12);
      }),
    );
  });

  it('average precision equals the mean precision at each positive', () => {
    fc.assert(
      fc.property(labelled, (a) => {
        const s = a.map(([v]) => v);
        const y = a.map(([, l]) => l);
        expect(averagePrecision(s, y)).toBeCloseTo(bruteAp(s, y), 12);
      }),
    );
  });

  it('known values: perfect ranking 1, reversed 0, scikit-learn docs example', () => {
    expect(rocAuc([1, 2, 3, 4], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([4, 3, 2, 1], [0, 0, 1, 1])).toBe(0);
    // sklearn.metrics.roc_auc_score docs: y=[0,0,1,1], scores=[0.1,0.4,0.35,0.8] → 0.75
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    // sklearn.metrics.average_precision_score docs: same data → 0.8333…
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.8333333333, 9);
  });
});
